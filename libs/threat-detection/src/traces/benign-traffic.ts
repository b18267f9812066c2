import type { WriteOutage } from './replica-delivery.js';
import type { SeededRandom } from './seeded-random.js';
import {
  AUTO_ROTATION_ACTOR,
  BACKUP_ACTOR,
  pickSecret,
  type TraceCatalogue,
  type TraceService,
} from './trace-catalogue.js';
import { DAY, HOUR, MINUTE, SECOND, traceEvent } from './trace-events.js';
import type { TraceEvent } from './trace.interface.js';

export interface BenignTraffic {
  readonly events: TraceEvent[];
  readonly outages: readonly WriteOutage[];
}

/** Busier by day than by night: 0.5x at 02:00 UTC, 1.5x at 14:00. */
const diurnal = (time: number): number =>
  1 + 0.5 * Math.sin((2 * Math.PI * ((time % DAY) - 8 * HOUR)) / DAY);

/**
 * Normal service traffic over `days` from `start`: every service boots and reads all its
 * secrets, then reads steadily (cached reads audited), restarts in rolling deployments, and
 * reads back what operators and the nightly automatic rotation change; operators write, rotate,
 * list and look up a few secrets by day; a nightly backup and a nightly export job; a component that does not say who it
 * is; a rare decryption failure, mistyped or deleted name; one replica's three-minute outage.
 */
export function benignTraffic(
  catalogue: TraceCatalogue,
  random: SeededRandom,
  start: number,
  days: number,
): BenignTraffic {
  const end = start + days * DAY;
  const events: TraceEvent[] = [];
  const owners = new Map<string, TraceService[]>();
  for (const service of catalogue.services) {
    for (const name of service.secrets) owners.set(name, [...(owners.get(name) ?? []), service]);
  }
  const readAll = (service: TraceService, time: number, replica: number): void => {
    for (const name of service.secrets) {
      events.push(traceEvent(time + random.int(2 * SECOND), replica, 'read', service.actor, name));
    }
  };
  const readBack = (name: string, time: number): void => {
    for (const service of owners.get(name) ?? []) {
      events.push(
        traceEvent(
          time + random.between(2, 60) * SECOND,
          random.int(3),
          'read',
          service.actor,
          name,
        ),
      );
    }
  };

  for (const service of catalogue.services) {
    for (let replica = 0; replica < 3; replica++)
      readAll(service, start + replica * 5 * SECOND, replica);
    // Steady reads: a Poisson process thinned by the time of day.
    const meanWait = MINUTE / (service.readsPerMinute * 1.5);
    for (
      let time = start + random.exponential(meanWait);
      time < end;
      time += random.exponential(meanWait)
    ) {
      if (random.next() * 1.5 < diurnal(time)) {
        events.push(
          traceEvent(time, random.int(3), 'read', service.actor, pickSecret(service, random)),
        );
      }
    }
  }

  for (let day = 0; day < days; day++) {
    const midnight = start + day * DAY;
    for (const service of catalogue.services) {
      for (let deploy = random.between(1, 2); deploy > 0; deploy--) {
        const at = midnight + 9 * HOUR + random.int(9 * HOUR);
        for (let replica = 0; replica < 3; replica++)
          readAll(service, at + replica * 40 * SECOND, replica);
      }
    }
    const rotation = midnight + 2 * HOUR + random.int(10 * MINUTE);
    catalogue.rotated.forEach((name, i) => {
      events.push(traceEvent(rotation + i * 300, 0, 'rotate', AUTO_ROTATION_ACTOR, name));
      readBack(name, rotation + i * 300);
    });
    events.push(traceEvent(midnight + HOUR + random.int(HOUR), 0, 'backup', BACKUP_ACTOR, null));
    const exportAt = midnight + 3 * HOUR + random.int(30 * MINUTE);
    catalogue.nightlyJob.secrets.forEach((name, i) => {
      events.push(
        traceEvent(exportAt + i * 4 * SECOND, 1, 'read', catalogue.nightlyJob.actor, name),
      );
    });
    for (const operator of catalogue.operators) {
      for (let action = random.between(3, 6); action > 0; action--) {
        operatorAction(operator, midnight + 8 * HOUR + random.int(11 * HOUR));
      }
    }
    isolatedFailures(midnight);
  }
  for (let time = start; time < end; time += 10 * MINUTE) {
    for (const name of catalogue.anonymousSecrets)
      events.push(traceEvent(time, 1, 'read', null, name));
  }
  events.push(
    traceEvent(start + DAY + 11 * HOUR, 0, 'destroy-key', 'carol@ops', null, {
      keyId: catalogue.retiredKeyId,
    }),
    traceEvent(start + 2 * DAY + 10 * HOUR, 0, 'rotate-master', 'alice@ops', null, {
      keyId: catalogue.masterKeyFingerprint,
    }),
  );
  const outages = [
    { replica: 2, from: start + DAY + 14 * HOUR, to: start + DAY + 14 * HOUR + 3 * MINUTE },
  ];
  // Sorted by time, so each attack trace's copy sorts fast.
  const inTrail = events.filter((event) => event.time < end).sort((a, b) => a.time - b.time);
  return { events: inTrail, outages };

  function operatorAction(operator: string, time: number): void {
    const service = random.pick(catalogue.services);
    const name = random.pick(service.secrets);
    const replica = random.int(3);
    const kind = random.next();
    if (kind < 0.35) {
      events.push(traceEvent(time, replica, 'write', operator, name));
      readBack(name, time);
      if (random.chance(0.5))
        events.push(traceEvent(time + 30 * SECOND, replica, 'read', operator, name));
    } else if (kind < 0.5) {
      events.push(traceEvent(time, replica, 'rotate', operator, name));
      readBack(name, time);
    } else if (kind < 0.6) {
      const created = `${service.actor}/config-new-${Math.round(time / MINUTE)}`;
      events.push(traceEvent(time, replica, 'write', operator, created));
      events.push(
        traceEvent(
          time + random.between(1, 5) * MINUTE,
          random.int(3),
          'read',
          service.actor,
          created,
        ),
      );
    } else if (kind < 0.8) {
      events.push(traceEvent(time, replica, 'list', operator, null));
      for (let read = random.int(4); read > 0; read--) {
        events.push(
          traceEvent(
            time + random.between(20, 180) * SECOND,
            replica,
            'read',
            operator,
            random.pick(catalogue.secrets),
          ),
        );
      }
    } else {
      events.push(traceEvent(time, replica, 'read', operator, name));
    }
  }

  function isolatedFailures(midnight: number): void {
    for (let failure = 0; failure < 3; failure++) {
      const service = random.pick(catalogue.services);
      const time = midnight + random.int(DAY);
      events.push(
        traceEvent(time, random.int(3), 'decrypt', service.actor, null, {
          errorCode: random.chance(0.5) ? 'KMS_DECRYPTION_FAILED' : 'KMS_AAD_MISMATCH',
          keyId: catalogue.activeKeyId,
        }),
      );
    }
    const failedRead = (suffix: string, errorCode: string): void => {
      const actor = random.pick(catalogue.services).actor;
      const time = midnight + random.int(DAY);
      events.push(
        traceEvent(time, random.int(3), 'read', actor, `${actor}/${suffix}`, { errorCode }),
      );
    };
    for (let typo = 0; typo < 3; typo++) failedRead('db-pasword', 'SECRET_NOT_FOUND');
    failedRead('legacy-token', 'SECRET_DELETED');
  }
}
