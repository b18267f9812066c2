/** Start-up refused: HTTP_ADAPTER names no platform the demo runs on. */
export class UnknownHttpAdapterError extends Error {
  readonly code = 'DEMO_UNKNOWN_HTTP_ADAPTER';

  constructor(name: string, known: readonly string[]) {
    super(`HTTP_ADAPTER must be ${known.join(' or ')} (got ${JSON.stringify(name.slice(0, 32))})`);
    this.name = UnknownHttpAdapterError.name;
  }
}
