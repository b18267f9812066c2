import type { ThreatRuleId } from '../rules/threat-finding.interface.js';
import type { SeededRandom } from './seeded-random.js';
import type { TraceCatalogue, TraceService } from './trace-catalogue.js';
import { MINUTE, SECOND, traceEvent } from './trace-events.js';
import type { AttackTrace, TraceEvent } from './trace.interface.js';

/** An attack's own events, starting at `start`, and what should catch it. */
export interface Attack {
  readonly name: string;
  readonly rule: ThreatRuleId;
  readonly attacker: AttackTrace['attacker'];
  readonly events: TraceEvent[];
}

/** What an attack may know of the benign trail before it (to pick names an actor never read). */
export interface AttackContext {
  readonly catalogue: TraceCatalogue;
  readonly random: SeededRandom;
  readonly start: number;
  /** Names each actor named in the benign trail before the attack. */
  readonly named: (actor: string) => ReadonlySet<string>;
}

const ATTACK = { attack: true } as const;

function service(context: AttackContext, actor: string): TraceService {
  return context.catalogue.services.find((candidate) => candidate.actor === actor)!;
}

/** Evenly spaced events with a little jitter: `count` of them, `spacing` ms apart on average. */
function spaced(context: AttackContext, count: number, spacing: number, jitter: number): number[] {
  return Array.from(
    { length: count },
    (_, i) => context.start + i * spacing + context.random.int(jitter),
  );
}

function novelNames(context: AttackContext, actor: string): string[] {
  const named = context.named(actor);
  return context.random.sample(
    context.catalogue.secrets.filter((name) => !named.has(name)),
    context.catalogue.secrets.length,
  );
}

/** Every attack trace the rules are measured on, in a fixed order. */
export const ATTACKS: readonly ((context: AttackContext) => Attack)[] = [
  (context) => {
    const key = context.catalogue.activeKeyId;
    return {
      name: 'tamper burst (altered envelopes)',
      rule: 'decryption-failures',
      attacker: { actor: 'orders-api', subject: `key:${key}` },
      events: spaced(context, 120, 250, 200).map((time, i) =>
        traceEvent(time, context.random.int(3), 'decrypt', 'orders-api', null, {
          errorCode: i % 3 === 0 ? 'KMS_AAD_MISMATCH' : 'KMS_DECRYPTION_FAILED',
          keyId: key,
          ...ATTACK,
        }),
      ),
    };
  },
  (context) => {
    const names = novelNames(context, 'reports-worker');
    return {
      name: 'enumeration (every name never touched)',
      rule: 'secret-enumeration',
      attacker: { actor: 'reports-worker', subject: null },
      events: spaced(context, names.length, 1_500, 1_000).map((time, i) =>
        traceEvent(time, context.random.int(3), 'read', 'reports-worker', names[i], ATTACK),
      ),
    };
  },
  (context) => {
    const catalog = service(context, 'catalog-api');
    // 20x the service's usual rate at that hour (its mean rate times the time of day, ~0.75x).
    const perMinute = 20 * catalog.readsPerMinute * 0.75;
    return {
      name: 'mass read (20x own rate)',
      rule: 'read-volume',
      attacker: { actor: 'catalog-api', subject: null },
      events: spaced(context, 10 * perMinute, MINUTE / perMinute, 200).map((time, i) =>
        traceEvent(
          time,
          i % 3,
          'read',
          'catalog-api',
          catalog.secrets[i % catalog.secrets.length],
          ATTACK,
        ),
      ),
    };
  },
  (context) => {
    const names = novelNames(context, 'inventory-api');
    return {
      name: 'slow and low (1 novel name / 2-3 min, 3 replicas)',
      rule: 'secret-enumeration',
      attacker: { actor: 'inventory-api', subject: null },
      events: Array.from({ length: 28 }, (_, i) =>
        traceEvent(
          context.start + i * 150 * SECOND + context.random.between(-30, 30) * SECOND,
          i % 3,
          'read',
          'inventory-api',
          names[i],
          ATTACK,
        ),
      ),
    };
  },
  (context) => {
    const guesses = [
      'admin',
      'root',
      'prod/db-password',
      'aws/secret-access-key',
      'vault-token',
      'master-key',
      'backup/password',
      'ci/deploy-key',
      'jenkins/token',
      'github/token',
      'ssh/id_rsa',
      'prod/env',
      'config/secrets',
      'private-key',
      'password',
    ];
    return {
      name: 'not-found probing (guessed names)',
      rule: 'not-found-probing',
      attacker: { actor: 'web-frontend', subject: null },
      events: spaced(context, guesses.length, 10 * SECOND, 5 * SECOND).map((time, i) =>
        traceEvent(time, context.random.int(3), 'read', 'web-frontend', guesses[i], {
          errorCode: 'SECRET_NOT_FOUND',
          ...ATTACK,
        }),
      ),
    };
  },
  (context) => {
    const gone: [string, string][] = [
      ['billing-api/old-stripe-key', 'SECRET_DELETED'],
      ['billing-api/db-password', 'SECRET_VERSION_NOT_FOUND'],
      ['shared/legacy-vpn-password', 'SECRET_EXPIRED'],
      ['billing-api/partner-api-key-2024', 'SECRET_DELETED'],
    ];
    return {
      name: 'deleted-secret reads',
      rule: 'deleted-secret-read',
      attacker: { actor: 'billing-api', subject: null },
      events: spaced(context, gone.length, 2 * MINUTE, 30 * SECOND).map((time, i) =>
        traceEvent(time, context.random.int(3), 'read', 'billing-api', gone[i][0], {
          errorCode: gone[i][1],
          ...ATTACK,
        }),
      ),
    };
  },
  (context) => {
    const key = context.catalogue.activeKeyId;
    return {
      name: 'key destruction attempt (key in use)',
      rule: 'key-destruction-refused',
      attacker: { actor: 'carol@ops', subject: `key:${key}` },
      events: [
        traceEvent(context.start, 0, 'destroy-key', 'carol@ops', null, {
          errorCode: 'KMS_DATA_KEY_IN_USE',
          keyId: key,
          ...ATTACK,
        }),
      ],
    };
  },
  (context) => ({
    name: 'master-key mismatch (start with a wrong key)',
    rule: 'master-key-mismatch',
    attacker: { actor: null, subject: 'master-key:mk-e0d4ff01' },
    events: [
      traceEvent(context.start, 1, 'open-keyring', null, null, {
        errorCode: 'KMS_MASTER_KEY_MISMATCH',
        keyId: 'mk-e0d4ff01',
        ...ATTACK,
      }),
    ],
  }),
  (context) => ({
    name: 'new actor reads a sensitive secret',
    rule: 'sensitive-read-by-new-actor',
    attacker: { actor: 'debug-shell-7f', subject: null },
    events: ['shared/payments-signing-key', 'checkout-api/jwt-signing-key'].map((name, i) =>
      traceEvent(context.start + i * 20 * SECOND, 2, 'read', 'debug-shell-7f', name, ATTACK),
    ),
  }),
  (context) => {
    const names = novelNames(context, 'bob@ops').slice(0, 12);
    return {
      name: 'list then bulk read',
      rule: 'list-then-bulk-read',
      attacker: { actor: 'bob@ops', subject: null },
      events: [
        traceEvent(context.start, 0, 'list', 'bob@ops', null, ATTACK),
        ...spaced(context, names.length, 15 * SECOND, 5 * SECOND).map((time, i) =>
          traceEvent(time + 20 * SECOND, 0, 'read', 'bob@ops', names[i], ATTACK),
        ),
      ],
    };
  },
  (context) => {
    const changed = 'orders-api/feature-flags';
    const others = context.random.sample(
      context.catalogue.secrets.filter((name) => name !== changed),
      6,
    );
    return {
      name: 'change then read',
      rule: 'change-then-read',
      attacker: { actor: 'alice@ops', subject: null },
      events: [
        traceEvent(context.start, 1, 'write', 'alice@ops', changed, ATTACK),
        traceEvent(context.start + 20 * SECOND, 1, 'read', 'alice@ops', changed, ATTACK),
        ...spaced(context, others.length, 80 * SECOND, 20 * SECOND).map((time, i) =>
          traceEvent(time + MINUTE, 1, 'read', 'alice@ops', others[i], ATTACK),
        ),
      ],
    };
  },
];

/** The time of an attack's last event. */
export function attackEventsEnd(attack: Attack): number {
  return Math.max(...attack.events.map((event) => event.time));
}
