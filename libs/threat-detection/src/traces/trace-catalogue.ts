import { SeededRandom } from './seeded-random.js';

/** A service (one actor) and the secrets it reads, most read first. */
export interface TraceService {
  readonly actor: string;
  /** Mean audited reads per minute at the daily average (cached reads audited too). */
  readonly readsPerMinute: number;
  readonly secrets: readonly string[];
  /** Cumulative pick weights over `secrets` (Zipf-like: a few secrets take most reads). */
  readonly cumulative: readonly number[];
}

/** The names, services and operators of the synthetic deployment. */
export interface TraceCatalogue {
  readonly services: readonly TraceService[];
  readonly operators: readonly string[];
  /** Every secret that exists. */
  readonly secrets: readonly string[];
  readonly sensitive: ReadonlySet<string>;
  /** Secrets rotated by the daily automatic rotation. */
  readonly rotated: readonly string[];
  /** A nightly export job: reads these once a night, and nothing by day. */
  readonly nightlyJob: { readonly actor: string; readonly secrets: readonly string[] };
  /** Read by a component that does not say who it is (actor null). */
  readonly anonymousSecrets: readonly string[];
  readonly activeKeyId: string;
  readonly retiredKeyId: string;
  readonly masterKeyFingerprint: string;
}

export const AUTO_ROTATION_ACTOR = 'nest-kms:auto-rotation';
export const BACKUP_ACTOR = 'backup-cron';

const SERVICES: readonly [actor: string, readsPerMinute: number, ownSecrets: number][] = [
  ['checkout-api', 12, 30],
  ['catalog-api', 8, 25],
  ['orders-api', 6, 28],
  ['billing-api', 5, 32],
  ['search-api', 4, 18],
  ['notifications-worker', 3, 20],
  ['reports-worker', 2.5, 22],
  ['auth-service', 2, 26],
  ['inventory-api', 1.5, 24],
  ['web-frontend', 1, 15],
];

const THINGS = [
  'db-password',
  'db-url',
  'redis-url',
  'jwt-signing-key',
  'api-token',
  'webhook-secret',
  'smtp-password',
  's3-access-key',
  's3-secret-key',
  'field-encryption-key',
  'oauth-client-secret',
  'feature-flags',
  'sentry-token',
  'partner-api-key',
  'cache-password',
  'queue-password',
];

const SHARED = [
  'shared/stripe-api-key',
  'shared/payments-signing-key',
  'shared/kafka-password',
  'shared/sentry-dsn',
  'shared/datadog-api-key',
  'shared/mail-relay-password',
  'shared/geoip-license',
  'shared/tls-client-key',
  'shared/internal-ca-bundle',
  'shared/service-mesh-token',
  'shared/analytics-write-key',
  'shared/search-cluster-password',
  'shared/redis-master-password',
  'shared/root-db-password',
  'shared/support-desk-token',
  'shared/cdn-signing-key',
];

/** A name the rules are told is sensitive (the detector reads tags from the store). */
const isSensitive = (name: string): boolean =>
  /signing-key|encryption-key|stripe|root-|tls-client-key/.test(name);

/** The same catalogue for every seed of the traffic: names never depend on the run. */
export function traceCatalogue(): TraceCatalogue {
  const random = new SeededRandom(0x5eed_ca7a);
  const services = SERVICES.map(([actor, readsPerMinute, own]): TraceService => {
    const secrets = Array.from({ length: own }, (_, i) =>
      i < THINGS.length ? `${actor}/${THINGS[i]}` : `${actor}/config-${i - THINGS.length + 1}`,
    );
    secrets.push(...random.sample(SHARED, random.between(3, 6)));
    const ordered = random.sample(secrets, secrets.length);
    let total = 0;
    const cumulative = ordered.map((_, rank) => (total += 1 / (rank + 1)));
    return {
      actor,
      readsPerMinute,
      secrets: ordered,
      cumulative: cumulative.map((weight) => weight / total),
    };
  });
  const anonymousSecrets = ['legacy-cron/db-password', 'legacy-cron/ftp-password'];
  const secrets = [
    ...new Set([...services.flatMap((service) => service.secrets), ...SHARED, ...anonymousSecrets]),
  ].sort();
  return {
    services,
    operators: ['alice@ops', 'bob@ops', 'carol@ops'],
    secrets,
    sensitive: new Set(secrets.filter(isSensitive)),
    rotated: secrets.filter((_, i) => i % 9 === 0),
    nightlyJob: {
      actor: 'nightly-export',
      secrets: random.sample(
        secrets.filter((name) => !anonymousSecrets.includes(name)),
        24,
      ),
    },
    anonymousSecrets,
    activeKeyId: 'dk-7c1e0a',
    retiredKeyId: 'dk-41b9f2',
    masterKeyFingerprint: 'mk-3f9a1c52',
  };
}

/** One of the service's secrets, by its weights. */
export function pickSecret(service: TraceService, random: SeededRandom): string {
  const target = random.next();
  let low = 0;
  let high = service.cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (service.cumulative[middle] < target) low = middle + 1;
    else high = middle;
  }
  return service.secrets[low];
}
