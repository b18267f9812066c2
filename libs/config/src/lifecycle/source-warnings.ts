import type { LoggerService } from '@nestjs/common';
import type { FieldState } from '../config-state.js';
import { CONFIG_EVENTS } from '../config.messages.js';
import type { FieldPlan } from '../schema/config-plan.js';

/**
 * The migration aid's warnings (design document, steps 4-7), naming the field and never the
 * value: a secret served from plain environment or from its class default, and a secret served
 * from the store whose old environment variable is still set.
 */
export function warnAboutSource(
  logger: LoggerService,
  plan: FieldPlan,
  state: FieldState,
  env: (name: string) => unknown,
): void {
  if (plan.secret === null) return;
  if (state.source === 'env') {
    logger.warn({
      event: CONFIG_EVENTS.secretFromEnv,
      field: plan.field,
      secret: plan.secret,
      env: state.key,
      hint: 'store it in the secrets store: KmsConfigService.importFromEnv() or SecretsService.setSecret()',
    });
  } else if (state.source === 'default') {
    logger.warn({
      event: CONFIG_EVENTS.secretFromDefault,
      field: plan.field,
      secret: plan.secret,
      hint: 'the class default is in the source code; store the secret',
    });
  } else if (state.source === 'secret' && plan.importEnv !== null && isSet(env(plan.importEnv))) {
    logger.warn({
      event: CONFIG_EVENTS.envStillSet,
      field: plan.field,
      secret: plan.secret,
      env: plan.importEnv,
      hint: 'the store serves this secret: remove the variable from the environment and .env files',
    });
  }
}

const isSet = (value: unknown): boolean => value !== undefined && value !== null && value !== '';
