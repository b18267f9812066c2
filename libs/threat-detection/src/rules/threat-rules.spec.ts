import { feed, HOUR, MINUTE, record, rulesWith, series, T0 } from './fixtures/trail-records.js';

const failedDecrypt = (actor: string | null, keyId = 'dk-1') =>
  ({
    action: 'decrypt',
    outcome: 'failure',
    errorCode: 'KMS_DECRYPTION_FAILED',
    actor,
    keyId,
  }) as const;

describe('ThreatRules: bursts of failures', () => {
  it('reports 10 failed decryptions within a minute, by actor and by key, on the 10th', () => {
    const rules = rulesWith();
    const burst = series(10, T0, 5_000, () => failedDecrypt('client'));
    const findings = feed(rules, burst);
    expect(findings).toEqual([
      {
        rule: 'decryption-failures',
        severity: 'high',
        actor: 'client',
        subject: null,
        firstAt: T0,
        detectedAt: T0 + 45_000,
        seq: burst[9].seq,
        counts: { failures: 10 },
      },
      expect.objectContaining({ actor: null, subject: 'key:dk-1', seq: burst[9].seq }),
    ]);
  });

  it('does not count a key a replica region has not received yet: lag is not tampering', () => {
    const lagged = series(20, T0, 1_000, () => ({
      ...failedDecrypt('reader'),
      errorCode: 'KMS_DATA_KEY_NOT_REPLICATED',
    }));
    expect(feed(rulesWith(), lagged)).toEqual([]);
  });

  it('does not report 10 failures spread over two minutes, nor 9 within one', () => {
    expect(
      feed(
        rulesWith(),
        series(10, T0, 13_000, () => failedDecrypt('client')),
      ),
    ).toEqual([]);
    expect(
      feed(
        rulesWith(),
        series(9, T0, 1_000, () => failedDecrypt('client')),
      ),
    ).toEqual([]);
  });

  it('counts records that arrive out of order by their `at`', () => {
    const burst = series(10, T0, 5_000, () => failedDecrypt('client'));
    const shuffled = [
      burst[9],
      burst[3],
      burst[0],
      burst[7],
      burst[1],
      burst[8],
      burst[2],
      burst[6],
      burst[4],
      burst[5],
    ];
    const findings = feed(rulesWith(), shuffled);
    expect(findings.map((finding) => [finding.subject, finding.firstAt, finding.counts])).toEqual([
      [null, T0, { failures: 10 }],
      ['key:dk-1', T0, { failures: 10 }],
    ]);
  });

  it('counts failed reads with a decryption code by actor, and never attributes a null actor', () => {
    const reads = series(10, T0, 1_000, () => ({
      outcome: 'failure',
      errorCode: 'KMS_AAD_MISMATCH',
      secretName: 'db',
    }));
    expect(feed(rulesWith(), reads).map((finding) => finding.actor)).toEqual(['svc']);
    const anonymous = series(10, T0, 1_000, () => failedDecrypt(null));
    expect(feed(rulesWith(), anonymous).map((finding) => [finding.actor, finding.subject])).toEqual(
      [[null, 'key:dk-1']],
    );
  });

  it('holds a rule back for the same actor and subject during the cooldown, then fires again', () => {
    const rules = rulesWith({ cooldownMs: HOUR });
    const first = feed(
      rules,
      series(30, T0, 1_000, () => failedDecrypt('client')),
    );
    expect(first).toHaveLength(2);
    expect(
      feed(
        rules,
        series(10, T0 + 30 * MINUTE, 1_000, () => failedDecrypt('client')),
      ),
    ).toEqual([]);
    expect(
      feed(
        rules,
        series(10, T0 + 2 * HOUR, 1_000, () => failedDecrypt('client')),
      ),
    ).toHaveLength(2);
  });

  it('reports 10 not-found names in 5 minutes (medium) and 3 reads of gone secrets in 10', () => {
    const notFound = series(10, T0, 20_000, (i) => ({
      secretName: `guess-${i}`,
      outcome: 'failure',
      errorCode: 'SECRET_NOT_FOUND',
    }));
    expect(feed(rulesWith(), notFound)).toEqual([
      expect.objectContaining({
        rule: 'not-found-probing',
        severity: 'medium',
        counts: { notFound: 10 },
      }),
    ]);
    const codes = ['SECRET_DELETED', 'SECRET_EXPIRED', 'SECRET_VERSION_NOT_FOUND'];
    const gone = series(3, T0, 4 * MINUTE, (i) => ({
      secretName: `old-${i}`,
      outcome: 'failure',
      errorCode: codes[i],
    }));
    expect(feed(rulesWith(), gone)).toEqual([
      expect.objectContaining({
        rule: 'deleted-secret-read',
        actor: 'svc',
        counts: { goneReads: 3 },
      }),
    ]);
  });

  it('reports a refused key destruction and a wrong master key on the first record', () => {
    const findings = feed(rulesWith(), [
      record(T0, {
        action: 'destroy-key',
        outcome: 'failure',
        errorCode: 'KMS_DATA_KEY_IN_USE',
        keyId: 'dk-9',
        actor: 'op',
      }),
      record(T0, { action: 'destroy-key', outcome: 'success', keyId: 'dk-8', actor: 'op' }),
      record(T0, {
        action: 'open-keyring',
        outcome: 'failure',
        errorCode: 'KMS_MASTER_KEY_MISMATCH',
        keyId: 'mk-1',
        actor: null,
      }),
    ]);
    expect(
      findings.map((finding) => [finding.rule, finding.severity, finding.actor, finding.subject]),
    ).toEqual([
      ['key-destruction-refused', 'high', 'op', 'key:dk-9'],
      ['master-key-mismatch', 'critical', null, 'master-key:mk-1'],
    ]);
  });

  it('takes severity, thresholds and switches from the options', () => {
    const rules = rulesWith({
      decryptionFailures: { threshold: 3, windowMs: 10_000, severity: 'critical' },
      masterKeyMismatch: { enabled: false },
    });
    const findings = feed(rules, [
      ...series(3, T0, 1_000, () => failedDecrypt('client', 'dk-2')),
      record(T0, {
        action: 'open-keyring',
        outcome: 'failure',
        errorCode: 'KMS_MASTER_KEY_MISMATCH',
        keyId: 'mk-1',
      }),
    ]);
    expect(findings.map((finding) => [finding.rule, finding.severity, finding.counts])).toEqual([
      ['decryption-failures', 'critical', { failures: 3 }],
      ['decryption-failures', 'critical', { failures: 3 }],
    ]);
    expect(rules.snapshot().rules).not.toHaveProperty('master-key-mismatch');
  });

  it('attributes nothing to ignored actors but still counts their failures against a key', () => {
    const rules = rulesWith({ ignoreActors: ['trusted-job'] });
    const findings = feed(
      rules,
      series(10, T0, 1_000, () => failedDecrypt('trusted-job')),
    );
    expect(findings.map((finding) => [finding.actor, finding.subject])).toEqual([
      [null, 'key:dk-1'],
    ]);
    expect(rules.size.actors).toBe(0);
  });
});

describe('ThreatRules: sequences', () => {
  const read = (actor: string, secretName: string) => ({ actor, secretName });

  it('reports a change followed by reads of 5 other secrets within 10 minutes', () => {
    const rules = rulesWith();
    const findings = feed(rules, [
      record(T0, { action: 'write', actor: 'op', secretName: 'changed' }),
      record(T0 + 10_000, read('op', 'changed')),
      ...series(4, T0 + MINUTE, MINUTE, (i) => read('op', `other-${i}`)),
      record(T0 + 5 * MINUTE, read('op', 'other-0')),
    ]);
    expect(findings).toEqual([]);
    expect(feed(rules, [record(T0 + 9 * MINUTE, read('op', 'other-4'))])).toEqual([
      expect.objectContaining({
        rule: 'change-then-read',
        severity: 'medium',
        actor: 'op',
        firstAt: T0,
        counts: { changes: 1, otherSecretsRead: 5 },
      }),
    ]);
  });

  it('does not count reads after the window, nor changes by automatic rotation', () => {
    const late = [
      record(T0, { action: 'rotate', actor: 'op', secretName: 'changed' }),
      ...series(5, T0 + 11 * MINUTE, 1_000, (i) => read('op', `other-${i}`)),
    ];
    expect(feed(rulesWith(), late)).toEqual([]);
    const rotation = [
      record(T0, { action: 'rotate', actor: 'nest-kms:auto-rotation', secretName: 'changed' }),
      ...series(5, T0 + MINUTE, 1_000, (i) => read('nest-kms:auto-rotation', `other-${i}`)),
    ];
    expect(feed(rulesWith(), rotation)).toEqual([]);
  });

  it('reports a listing followed by 10 reads of names new to the actor within 5 minutes', () => {
    const rules = rulesWith();
    feed(rules, [record(T0, read('op', 'known'))]);
    const findings = feed(rules, [
      record(T0 + HOUR, { action: 'list', actor: 'op' }),
      record(T0 + HOUR + 1_000, read('op', 'known')),
      ...series(10, T0 + HOUR + 2_000, 20_000, (i) => read('op', `new-${i}`)),
    ]);
    expect(findings).toEqual([
      expect.objectContaining({
        rule: 'list-then-bulk-read',
        actor: 'op',
        firstAt: T0 + HOUR,
        counts: { novelReads: 10 },
      }),
    ]);
    // The same reads without a listing before them: below the enumeration threshold, nothing.
    expect(
      feed(
        rulesWith(),
        series(10, T0, 20_000, (i) => read('op', `new-${i}`)),
      ),
    ).toEqual([]);
  });
});
