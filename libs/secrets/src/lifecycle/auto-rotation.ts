import { Logger } from '@nestjs/common';
import type { KmsService } from '@nest-kms/kms';
import type { SecretsAudit } from '../audit/secrets-audit.js';
import { SecretRotationUnscheduledError } from '../errors/secret-rotation-unscheduled.error.js';
import { SecretStateError } from '../errors/secret-state.error.js';
import type { SecretWriter } from '../secret-writer.js';
import type { SecretsMetrics } from '../secrets-metrics.js';
import { openSecretValue } from '../secret-values.js';
import { nameInScope, type SecretScope } from '../secret-scope.js';
import { SECRETS_EVENTS } from '../secrets.messages.js';
import type { ResolvedSecretsOptions } from '../secrets.options.js';
import type { SecretsStore } from '../secrets.store.js';
import { checkValue } from '../secrets.validation.js';
import type { LifecycleStore, RotationCandidate } from './lifecycle.store.js';
import { rotationDueAt } from './rotation-schedule.js';
import type { SecretRotationContext, SecretsLifecycleReport } from './secret-rotator.interface.js';
import type { RegisteredRotator, SecretRotators } from './secret-rotators.js';

/** The actor of automatic rotations in the audit trail and in secret_rotated. */
export const AUTO_ROTATION_ACTOR = 'nest-kms:auto-rotation';

type RotationStep = 'schedule' | 'context' | 'create' | 'test' | 'activate' | 'finish';

/** What an error may say in a log line: codes and class names, never free text (a value may be in it). */
const LABEL = /^[A-Za-z0-9_.:$-]{1,64}$/;
const label = (value: unknown): string | null =>
  typeof value === 'string' && LABEL.test(value)
    ? value
    : typeof value === 'number' && Number.isFinite(value)
      ? String(value)
      : null;

/**
 * Rotates due 'auto' secrets that have a rotator on this instance. A secret is rotated by the
 * replica whose lease claim on it won (the claim also requires the version it saw), and the new
 * value is written only if the secret is still at that version.
 */
export class AutoRotation {
  private readonly logger = new Logger('SecretsLifecycle');
  private stopped = false;
  /** Rotations this instance made since it started. */
  rotations = 0;
  /** Rotations that failed (or could not be scheduled) here since it started. */
  failures = 0;

  constructor(
    private readonly kms: KmsService,
    private readonly secrets: SecretsStore,
    private readonly store: LifecycleStore,
    private readonly writer: SecretWriter,
    private readonly audit: SecretsAudit,
    private readonly rotators: SecretRotators,
    private readonly options: ResolvedSecretsOptions,
    private readonly metrics: SecretsMetrics,
  ) {}

  async run(report: SecretsLifecycleReport): Promise<void> {
    if (this.rotators.size === 0) return;
    for (const candidate of await this.store.rotationCandidates()) {
      if (this.stopped) return;
      const registered = this.rotators.get(candidate.name);
      if (registered === undefined) continue;
      const now = this.options.clock();
      const dueAt = rotationDueAt(candidate.updatedAt, candidate.ttlDays, registered.everyDays);
      if (dueAt === null) {
        this.unscheduled(candidate, registered, report);
        continue;
      }
      registered.unscheduledReported = false;
      if (now < dueAt || (candidate.claimedUntil !== null && candidate.claimedUntil > now))
        continue;
      const until = now + this.options.rotationLeaseMs;
      if (!(await this.store.claimRotation(candidate.name, candidate.version, now, until)))
        continue;
      await this.rotate(candidate.name, candidate.version, registered, report);
    }
  }

  /** A run under way finishes the secret it is rotating and starts no other. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Rotates the secret stored as `name` (a tenant's `~<tenant>/<name>`: its value opened and the
   * new one sealed under the tenant's keys); the rotator is told the name as its scope names it.
   * Logs and reports name the stored name, as every log line of a tenant's secret does.
   */
  private async rotate(
    name: string,
    version: number,
    { rotator, scope }: RegisteredRotator,
    report: SecretsLifecycleReport,
  ): Promise<void> {
    let step: RotationStep = 'context';
    try {
      const context = await this.context(name, version, scope);
      const actor = AUTO_ROTATION_ACTOR;
      const newValue = await this.audit.guard(
        { action: 'rotate', secretName: name, version, actor },
        async () => {
          step = 'create';
          const value = await rotator.create(context);
          checkValue(value);
          step = 'test';
          await rotator.test?.(value, context);
          return value;
        },
      );
      step = 'activate';
      const rotated = await this.writer.rotateSecret(
        context.name,
        newValue,
        { actor, expectedVersion: version, reason: 'auto' },
        scope,
      );
      this.rotations++;
      this.metrics.autoRotations.inc({ outcome: 'succeeded' });
      report.rotated.push(name);
      step = 'finish';
      await rotator.finish?.({ ...context, newVersion: rotated.currentVersion });
    } catch (error) {
      this.failed(name, version, step, error, report);
    }
  }

  /**
   * The current value, read past the cache and expiry checks: an expired secret still rotates.
   * A destroyed tenant's value no longer opens (DataKeyNotFoundError): the rotator is not run.
   */
  private async context(
    name: string,
    version: number,
    scope: SecretScope,
  ): Promise<SecretRotationContext> {
    const row = await this.secrets.readCurrent(name);
    if (row === undefined || row.deletedAt !== null || row.currentVersion !== version) {
      throw new SecretStateError(name, 'changed while its automatic rotation started');
    }
    const currentValue = await openSecretValue(this.kms, name, version, row.currentEnvelope);
    await this.audit.record({
      action: 'read',
      secretName: name,
      version,
      actor: AUTO_ROTATION_ACTOR,
      outcome: 'success',
    });
    const given = nameInScope(scope, name);
    return Object.freeze(
      scope.tenant === undefined
        ? { name: given, version, currentValue }
        : { name: given, tenant: scope.tenant, version, currentValue },
    );
  }

  private unscheduled(
    candidate: RotationCandidate,
    registered: RegisteredRotator,
    report: SecretsLifecycleReport,
  ): void {
    if (registered.unscheduledReported) return;
    registered.unscheduledReported = true;
    const error = new SecretRotationUnscheduledError(candidate.name);
    this.failed(candidate.name, candidate.version, 'schedule', error, report);
  }

  private failed(
    name: string,
    version: number,
    step: RotationStep,
    error: unknown,
    report: SecretsLifecycleReport,
  ): void {
    this.failures++;
    this.metrics.autoRotations.inc({ outcome: 'failed' });
    report.failed.push(name);
    const thrown = error as { code?: unknown; name?: unknown } | null | undefined;
    // Never the message: a rotator's error may quote the value it made or the one it replaced.
    this.logger.error({
      event: SECRETS_EVENTS.rotationFailed,
      name,
      version,
      step,
      code: label(thrown?.code),
      error: label(thrown?.name) ?? typeof error,
    });
  }
}
