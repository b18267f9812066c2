import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { ApiError } from './api-error.js';
import { jsonDataFields, type JsonDataField } from './json-data.js';
import { quotedInput } from '@nest-kms/kms';
import { fieldName } from './field-name.js';
import { ValidationFailedError, type FieldProblem } from './validation-failed.error.js';

/** Keys that name a prototype rather than data: never accepted at the top of a body or query. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Validates every DTO: a body must be a JSON object, unknown properties are refused rather than
 * silently dropped, and a bad request answers 400 VALIDATION_FAILED naming the fields and rules
 * (never the values sent). Fields marked @JsonData bypass class-transformer and reach the
 * handler exactly as parsed.
 */
export class RequestValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors: ValidationError[]) =>
        new ValidationFailedError(problemsOf(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && !isPlainObject(value)) {
      throw new ApiError(
        400,
        'INVALID_BODY',
        'The request body must be a JSON object sent as Content-Type: application/json',
      );
    }
    if (!isPlainObject(value) || metadata.type === 'custom') {
      return super.transform(value, metadata);
    }
    const reserved = PROTOTYPE_KEYS.filter((key) => Object.hasOwn(value, key));
    if (reserved.length > 0) {
      throw new ValidationFailedError(
        reserved.map((key) => ({ field: key, rules: [`${key} is not an accepted key`] })),
      );
    }
    const fields = jsonDataFields(metadata.metatype);
    if (fields.length === 0) return super.transform(value, metadata);
    const rest = { ...value };
    for (const { key } of fields) delete rest[key];
    const problems = jsonDataProblems(value, fields);
    let dto: Record<string, unknown>;
    try {
      dto = (await super.transform(rest, metadata)) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof ValidationFailedError && problems.length > 0) {
        throw new ValidationFailedError([...error.problems, ...problems]);
      }
      throw error;
    }
    if (problems.length > 0) throw new ValidationFailedError(problems);
    for (const { key } of fields) {
      if (Object.hasOwn(value, key)) dto[key] = value[key];
      else delete dto[key];
    }
    return dto;
  }
}

function jsonDataProblems(
  value: Record<string, unknown>,
  fields: readonly JsonDataField[],
): FieldProblem[] {
  return fields
    .filter(({ key, optional, accepts }) =>
      Object.hasOwn(value, key) ? !accepts(value[key]) : !optional,
    )
    .map(({ key, rule }) => ({ field: key, rules: [`${key} ${rule}`] }));
}

function problemsOf(errors: readonly ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const name = fieldName(error.property);
    const field = parent ? `${parent}.${name}` : name;
    const own = error.constraints ? [{ field, rules: rulesOf(error) }] : [];
    return [...own, ...problemsOf(error.children ?? [], field)];
  });
}

/** class-validator's messages, except the one that quotes a client's key in full. */
function rulesOf(error: ValidationError): string[] {
  return Object.entries(error.constraints ?? {}).map(([constraint, message]) =>
    constraint === 'whitelistValidation'
      ? `property ${quotedInput(error.property)} should not exist`
      : message,
  );
}
