import { KmsError } from './kms.error.js';

/**
 * The caller (its `actor`) is refused for a while: threat detection flagged it, or an operator
 * blocked it. The block expires at `until`, or an operator lifts it earlier.
 */
export class ActorBlockedError extends KmsError {
  readonly code = 'KMS_ACTOR_BLOCKED';
  constructor(
    readonly actor: string,
    /** When the block ends (epoch ms). */
    readonly until: number,
  ) {
    super(
      `Access refused: this actor is blocked until ${new Date(until).toISOString()} (threat detection); an operator can lift it earlier`,
    );
  }
}
