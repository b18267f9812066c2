import { DAY_MS } from '../secrets.constants.js';
import { rotationDueAt } from './rotation-schedule.js';

const T0 = Date.UTC(2026, 0, 1);

describe('rotationDueAt', () => {
  it('counts everyDays from the last change', () => {
    expect(rotationDueAt(T0, null, 30)).toBe(T0 + 30 * DAY_MS);
    expect(rotationDueAt(T0, 90, 0.5)).toBe(T0 + DAY_MS / 2);
  });

  it('defaults to 90% of the TTL', () => {
    expect(rotationDueAt(T0, 10, undefined)).toBe(T0 + 9 * DAY_MS);
    expect(rotationDueAt(T0, 365, undefined)).toBe(T0 + Math.round(328.5 * DAY_MS));
  });

  it('has no due time without everyDays or a TTL', () => {
    expect(rotationDueAt(T0, null, undefined)).toBeNull();
  });
});
