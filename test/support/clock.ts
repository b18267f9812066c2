/** One day in milliseconds: how far a test moves an injected clock for day-based rules. */
export const DAY_MS = 86_400_000;

/** Where the secrets suites' injected clocks start: a fixed instant, so expected dates are exact. */
export const START = Date.UTC(2026, 1, 2, 12);
