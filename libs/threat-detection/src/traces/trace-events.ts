import type { TrailAction } from '../trail-record.js';
import type { TraceEvent } from './trace.interface.js';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Monday 2026-01-05 00:00 UTC: the synthetic trail's first day. */
export const TRACE_START = Date.UTC(2026, 0, 5);

/** An event with the fields a trail record has; failures name their code. */
export function traceEvent(
  time: number,
  replica: number,
  action: TrailAction,
  actor: string | null,
  secretName: string | null,
  more: Partial<Pick<TraceEvent, 'outcome' | 'errorCode' | 'keyId' | 'version' | 'attack'>> = {},
): TraceEvent {
  return {
    time,
    replica,
    action,
    actor,
    secretName,
    version: more.version ?? null,
    outcome: more.outcome ?? (more.errorCode === undefined ? 'success' : 'failure'),
    errorCode: more.errorCode ?? null,
    keyId: more.keyId ?? null,
    ...(more.attack ? { attack: true as const } : {}),
  };
}
