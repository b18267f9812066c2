/**
 * Start-up refused in a replica region: a secret the demo's first start makes (a generated key,
 * the admin token) has not arrived by replication, and a replica writes nothing.
 */
export class ReplicaNotSeededError extends Error {
  readonly code = 'DEMO_REPLICA_NOT_SEEDED';

  constructor(secretName: string, primary: string | undefined) {
    super(
      `The secret ${secretName} has not reached this replica region: start the demo in the primary region${primary ? ` (${primary})` : ''} first, which stores it, and start this one once replication has copied it`,
    );
    this.name = ReplicaNotSeededError.name;
  }
}
