import { attackEventsEnd, ATTACKS, type AttackContext } from './attack-traffic.js';
import { benignTraffic, type BenignTraffic } from './benign-traffic.js';
import { deliver } from './replica-delivery.js';
import { SeededRandom } from './seeded-random.js';
import { traceCatalogue } from './trace-catalogue.js';
import { DAY, HOUR, MINUTE, TRACE_START } from './trace-events.js';
import type { AttackTrace, Trace } from './trace.interface.js';

/** The fixed seed: the same records on every run. */
export const TRACE_SEED = 20_260_105;
/** Days of benign trail. */
export const BENIGN_DAYS = 3;
/** Attacks start this long into the trail: past the default learning period (24 h) and 6 h more. */
export const ATTACK_OFFSET_MS = DAY + 6 * HOUR;
/** Benign traffic kept after an attack's last event. */
const ATTACK_TAIL_MS = 30 * MINUTE;

let benign: BenignTraffic | undefined;
function benignEvents(): BenignTraffic {
  benign ??= benignTraffic(
    traceCatalogue(),
    new SeededRandom(TRACE_SEED),
    TRACE_START,
    BENIGN_DAYS,
  );
  return benign;
}

/** Several days of normal traffic (≥ 100,000 records), 3 replicas, in seq order. */
export function benignTrace(): Trace {
  const { events, outages } = benignEvents();
  const { records } = deliver(events, new SeededRandom(TRACE_SEED + 1), outages);
  return { name: 'benign', records, sensitive: traceCatalogue().sensitive };
}

/**
 * Each attack inside a copy of the benign traffic: the benign trail from its start (so the rules
 * learn) to 30 minutes after the attack's last event, the attack's events mixed in.
 */
export function attackTraces(): AttackTrace[] {
  const catalogue = traceCatalogue();
  const { events, outages } = benignEvents();
  const start = TRACE_START + ATTACK_OFFSET_MS;
  const names = new Map<string, Set<string>>();
  for (const event of events) {
    if (event.time >= start || event.actor === null || event.secretName === null) continue;
    let named = names.get(event.actor);
    if (named === undefined) names.set(event.actor, (named = new Set()));
    named.add(event.secretName);
  }
  const named = (actor: string): ReadonlySet<string> => names.get(actor) ?? new Set();
  return ATTACKS.map((build, index) => {
    const context: AttackContext = {
      catalogue,
      random: new SeededRandom(TRACE_SEED + 100 + index),
      start,
      named,
    };
    const attack = build(context);
    const end = attackEventsEnd(attack) + ATTACK_TAIL_MS;
    const delivery = deliver(
      [...events.filter((event) => event.time < end), ...attack.events],
      new SeededRandom(TRACE_SEED + 1),
      outages,
    );
    return {
      name: attack.name,
      records: delivery.records,
      sensitive: catalogue.sensitive,
      rule: attack.rule,
      attacker: attack.attacker,
      attackFirstAt: delivery.attackFirstAt,
      attackRecords: delivery.attackRecords,
    };
  });
}

// What the bench (bench/threat-rules.bench.ts) needs of the traces, in one import.
export { detectAttack, runTrace } from './trace-run.js';
export type { AttackTrace, Trace } from './trace.interface.js';
