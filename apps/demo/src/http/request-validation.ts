import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { ValidateBy, buildMessage } from 'class-validator';
import { ApiError } from './api-error.js';

export interface FieldProblem {
  field: string;
  rules: string[];
}

/**
 * Validates every DTO: a body must be a JSON object, unknown properties are refused rather than
 * silently dropped, and a bad request answers 400 VALIDATION_FAILED naming the fields and rules
 * (never the values sent).
 */
export class RequestValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors: ValidationError[]) => {
        const problems = problemsOf(errors);
        const rules = problems.flatMap((problem) => problem.rules);
        return new ApiError(400, 'VALIDATION_FAILED', `Invalid request: ${rules.join('; ')}`, {
          problems,
        });
      },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
    if (metadata.type === 'body' && !isObject) {
      throw new ApiError(
        400,
        'INVALID_BODY',
        'The request body must be a JSON object sent as Content-Type: application/json',
      );
    }
    return super.transform(value, metadata);
  }
}

function problemsOf(errors: readonly ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, rules: Object.values(error.constraints) }] : [];
    return [...own, ...problemsOf(error.children ?? [], field)];
  });
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A KMS AAD: a string or a flat object of strings (the KMS checks sizes). */
export const IsAad = (): PropertyDecorator =>
  ValidateBy({
    name: 'isAad',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' ||
        (isPlainObject(value) && Object.values(value).every((item) => typeof item === 'string')),
      defaultMessage: buildMessage(
        (each) => `${each}$property must be a string or a flat object of strings`,
      ),
    },
  });

/** An envelope object or its compact string; the KMS validates it field by field. */
export const IsEnvelopeInput = (): PropertyDecorator =>
  ValidateBy({
    name: 'isEnvelopeInput',
    validator: {
      validate: (value: unknown) => typeof value === 'string' || isPlainObject(value),
      defaultMessage: buildMessage(
        (each) => `${each}$property must be an envelope object or its compact string (kms1.…)`,
      ),
    },
  });

/** A flat object of strings (secret tags; the secrets library checks their rules). */
export const IsStringRecord = (): PropertyDecorator =>
  ValidateBy({
    name: 'isStringRecord',
    validator: {
      validate: (value: unknown) =>
        isPlainObject(value) && Object.values(value).every((item) => typeof item === 'string'),
      defaultMessage: buildMessage((each) => `${each}$property must be a flat object of strings`),
    },
  });
