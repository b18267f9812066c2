import { Injectable } from '@nestjs/common';
import { ActorBlockedError } from '../errors/actor-blocked.error.js';

/**
 * Actors refused for a while, checked by decryptData (when the caller names its actor) and by
 * the secrets store's reads. Empty unless threat detection (or an operator through it) fills
 * it; a check is one Map lookup while anything is blocked, and none while nothing is.
 */
@Injectable()
export class ActorBlocklist {
  private blocked = new Map<string, number>();

  /** Replaces the whole list (actor → until, epoch ms): what the shared table says now. */
  replace(blocks: ReadonlyMap<string, number>): void {
    this.blocked = new Map(blocks);
  }

  /** Blocks `actor` until `until` (epoch ms) on this replica at once. */
  block(actor: string, until: number): void {
    const next = new Map(this.blocked);
    next.set(actor, Math.max(until, this.blocked.get(actor) ?? 0));
    this.blocked = next;
  }

  /** ActorBlockedError while `actor` is blocked; nothing for an unnamed caller. */
  assertAllowed(actor: string | null | undefined, now?: number): void {
    const refusal = this.refusal(actor, now);
    if (refusal !== undefined) throw refusal;
  }

  /** The error refusing `actor` while it is blocked, for a caller that records it first. */
  refusal(actor: string | null | undefined, now?: number): ActorBlockedError | undefined {
    if (this.blocked.size === 0 || actor === undefined || actor === null) return undefined;
    const until = this.blocked.get(actor);
    // The clock is read only for a blocked actor: every decrypt and secret read passes here.
    return until !== undefined && until > (now ?? Date.now())
      ? new ActorBlockedError(actor, until)
      : undefined;
  }
}
