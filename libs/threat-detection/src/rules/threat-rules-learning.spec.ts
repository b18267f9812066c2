import { NestKmsError } from '@nest-kms/kms';
import { ThreatRules } from './threat-rules.js';
import { resolveThreatRules } from './threat-rules.options.js';
import { feed, HOUR, MINUTE, record, rulesWith, series, T0 } from './fixtures/trail-records.js';

const read = (actor: string, secretName: string) => ({ actor, secretName });

describe('ThreatRules: novelty and baselines', () => {
  it('learns silently for the learning period, then counts 20 names an actor never read in an hour', () => {
    const rules = rulesWith({ learningPeriodMs: HOUR });
    // During learning: 30 names, every one new, and nothing is reported.
    expect(
      feed(
        rules,
        series(30, T0, MINUTE, (i) => read('svc', `own-${i}`)),
      ),
    ).toEqual([]);
    // After it: the names already read are not new; 19 new ones are not enough.
    const after = T0 + 2 * HOUR;
    expect(
      feed(
        rules,
        series(30, after, 10_000, (i) => read('svc', `own-${i}`)),
      ),
    ).toEqual([]);
    expect(
      feed(
        rules,
        series(19, after, 2 * MINUTE, (i) => read('svc', `other-${i}`)),
      ),
    ).toEqual([]);
    expect(feed(rules, [record(after + 50 * MINUTE, read('svc', 'other-19'))])).toEqual([
      expect.objectContaining({
        rule: 'secret-enumeration',
        actor: 'svc',
        firstAt: after,
        counts: { novelNames: 20 },
      }),
    ]);
  });

  it('reports an actor first seen after learning reading each sensitive secret once', () => {
    const rules = rulesWith({ learningPeriodMs: HOUR });
    const sensitive = new Set(['signing-key', 'root-password']);
    feed(rules, [record(T0, read('old-svc', 'db'))], sensitive);
    const later = T0 + 2 * HOUR;
    const findings = feed(
      rules,
      [
        record(later, read('old-svc', 'signing-key')),
        record(later, read('new-job', 'plain')),
        record(later + 1, read('new-job', 'signing-key')),
        record(later + 2, read('new-job', 'signing-key')),
        record(later + 3, read('new-job', 'root-password')),
      ],
      sensitive,
    );
    expect(findings.map((finding) => [finding.rule, finding.actor, finding.subject])).toEqual([
      ['sensitive-read-by-new-actor', 'new-job', 'secret:signing-key'],
      ['sensitive-read-by-new-actor', 'new-job', 'secret:root-password'],
    ]);
  });

  it('reports reads far above an actor’s own baseline only once it has 12 windows of it', () => {
    const rules = rulesWith();
    const steady = series(24, T0, 5 * MINUTE, () => read('svc', 'db')).flatMap((first) =>
      series(20, first.at, 10_000, () => read('svc', 'db')),
    );
    expect(feed(rules, steady)).toEqual([]);
    const burst = series(600, T0 + 2 * HOUR, 200, () => read('svc', 'db'));
    const findings = feed(rules, burst);
    expect(findings).toEqual([
      expect.objectContaining({
        rule: 'read-volume',
        severity: 'high',
        actor: 'svc',
        // The sliding window (five 1-minute slots) still holds the last steady reads.
        firstAt: T0 + 2 * HOUR - 3 * MINUTE,
        counts: { reads: 501, baseline: 20 },
      }),
    ]);
    // The same burst from an actor seen for only 11 windows is not judged.
    const young = rulesWith();
    feed(
      young,
      series(11 * 20, T0, 15_000, () => read('young', 'db')),
    );
    expect(
      feed(
        young,
        series(600, T0 + 55 * MINUTE, 200, () => read('young', 'db')),
      ),
    ).toEqual([]);
  });

  it('needs 10x the baseline above the 500-read floor', () => {
    const rules = rulesWith();
    // 100 reads per 5 minutes for two hours: the limit is then 1,000 reads in a window.
    feed(
      rules,
      series(24 * 100, T0, 3_000, () => read('busy', 'db')),
    );
    expect(
      feed(
        rules,
        series(900, T0 + 2 * HOUR, 300, () => read('busy', 'db')),
      ),
    ).toEqual([]);
    expect(
      feed(
        rules,
        series(1_200, T0 + 3 * HOUR, 200, () => read('busy', 'db')),
      ),
    ).toEqual([expect.objectContaining({ rule: 'read-volume', actor: 'busy' })]);
  });
});

describe('ThreatRules: bounded state and hand-over', () => {
  it('forgets the least recently read names past maxNamesPerActor, and old actors past maxKnownActors', () => {
    const rules = rulesWith({ maxNamesPerActor: 3, maxKnownActors: 2 });
    feed(
      rules,
      series(5, T0, 1_000, (i) => read('a', `name-${i}`)),
    );
    expect(rules.size).toEqual({ actors: 1, knownPairs: 3 });
    expect(rules.snapshot().actors[0][2]).toEqual(['name-2', 'name-3', 'name-4']);
    feed(rules, [record(T0 + 10_000, read('b', 'x')), record(T0 + 11_000, read('c', 'x'))]);
    expect(rules.snapshot().actors.map(([actor]) => actor)).toEqual(['b', 'c']);
    expect(rules.size).toEqual({ actors: 2, knownPairs: 2 });
  });

  it('drops windows and cooldowns once trail time has moved past them', () => {
    const rules = rulesWith();
    feed(
      rules,
      series(12, T0, 1_000, () => ({
        action: 'decrypt',
        outcome: 'failure',
        errorCode: 'KMS_DECRYPTION_FAILED',
        keyId: 'dk-1',
      })),
    );
    expect(rules.snapshot().rules['decryption-failures']).not.toEqual({ actors: [], subjects: [] });
    feed(
      rules,
      series(10, T0 + 2 * HOUR, MINUTE, () => read('other', 'db')),
    );
    const state = rules.snapshot();
    expect(state.rules['decryption-failures']).toEqual({ actors: [], subjects: [] });
    expect(state.cooldowns).toEqual([]);
  });

  it('ignores block and unblock records (they name the blocked actor, not who acted)', () => {
    const rules = rulesWith();
    expect(feed(rules, [record(T0, { action: 'block', actor: 'x' })])).toEqual([]);
    expect(rules.size.actors).toBe(0);
  });

  it('restores from its JSON snapshot and refuses a snapshot of another version', () => {
    const settings = resolveThreatRules({ learningPeriodMs: 0 });
    const rules = new ThreatRules(settings);
    feed(
      rules,
      series(9, T0, 1_000, () => ({
        action: 'decrypt',
        outcome: 'failure',
        errorCode: 'KMS_DECRYPTION_FAILED',
        keyId: 'dk-1',
      })),
    );
    const restored = new ThreatRules(settings, JSON.parse(JSON.stringify(rules.snapshot())));
    const tenth = record(T0 + 9_000, {
      action: 'decrypt',
      outcome: 'failure',
      errorCode: 'KMS_DECRYPTION_FAILED',
      keyId: 'dk-1',
    });
    expect(restored.observe(tenth, { sensitive: false })).toEqual(
      rules.observe(tenth, { sensitive: false }),
    );
    expect(restored.snapshot()).toEqual(rules.snapshot());
    const foreign = { ...rules.snapshot(), version: 2 } as never;
    expect(() => new ThreatRules(settings, foreign)).toThrow(NestKmsError);
    expect(() => new ThreatRules(settings, foreign)).toThrow(
      /snapshot is not one this version wrote/,
    );
  });
});
