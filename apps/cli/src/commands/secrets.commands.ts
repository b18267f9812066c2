import { SECRETS_LIST_MAX_LIMIT, type SecretMetadata } from '@nest-kms/secrets';
import type { CliCommand, CommandContext } from '../cli-command.interface.js';
import { usageError } from '../cli-errors.js';
import { readSecretValue } from '../cli-input.js';
import {
  flag,
  integerOption,
  JSON_OPTION,
  stringOption,
  stringsOption,
  VALUE_OPTIONS,
} from '../cli-options.js';

const VALUE_HINT =
  'values are never read from the command line (they would show in ps and shell history): pipe the value on stdin or use --from-env VAR';

const secretsList: CliCommand = {
  path: ['secrets', 'list'],
  summary: 'secrets and their metadata (never values), in name order',
  details: [
    'With --limit, one page: the next one starts at --after NAME (the note on stderr names it;',
    'with --json the output is { secrets, nextCursor }, nextCursor null on the last page).',
  ],
  options: {
    ...JSON_OPTION,
    tag: { type: 'string', value: 'KEY[=VALUE]', description: 'only secrets with this tag' },
    prefix: {
      type: 'string',
      value: 'TEXT',
      description: 'only names starting with TEXT (e.g. payments/)',
    },
    limit: {
      type: 'string',
      value: 'N',
      description: `at most N secrets, 1 to ${SECRETS_LIST_MAX_LIMIT} (default: all)`,
    },
    after: { type: 'string', value: 'NAME', description: 'only names after NAME' },
  },
  store: true,
  async run(context) {
    const { out } = context;
    const limit = integerOption(context, 'limit', 1);
    const filter = {
      tag: stringOption(context, 'tag'),
      prefix: stringOption(context, 'prefix'),
      after: stringOption(context, 'after'),
    };
    const store = await context.store();
    const actor = store.actor;
    const page =
      limit === undefined
        ? { secrets: await store.secrets.listSecrets({ ...filter, actor }), nextCursor: null }
        : await store.secrets.listSecrets({ ...filter, limit, actor });
    if (flag(context, 'json')) return out.json(limit === undefined ? page.secrets : page);
    printSecrets(context, page.secrets);
    if (page.nextCursor !== null) out.note(`more after this page: --after ${page.nextCursor}`);
  },
};

function printSecrets(context: CommandContext, secrets: readonly SecretMetadata[]): void {
  const { out } = context;
  if (secrets.length === 0) return out.note('no secrets');
  out.table(
    ['NAME', 'VERSION', 'UPDATED', 'EXPIRES', 'TAGS'],
    secrets.map((secret) => [
      secret.name,
      String(secret.currentVersion),
      secret.updatedAt.toISOString(),
      secret.expiresAt?.toISOString() ?? 'never',
      Object.entries(secret.tags)
        .map(([key, value]) => `${key}=${value}`)
        .join(','),
    ]),
  );
}

const secretsGet: CliCommand = {
  path: ['secrets', 'get'],
  operands: ['NAME'],
  summary: 'print the value of a secret on stdout (nothing else)',
  details: ['A newline is added only when stdout is a terminal: $(...) and pipes get the value.'],
  options: { version: { type: 'string', value: 'N', description: 'an older version' } },
  store: true,
  async run(context) {
    const { out } = context;
    const version = integerOption(context, 'version', 1);
    const store = await context.store();
    const value = await store.secrets.getSecret(context.operands[0], {
      version,
      actor: store.actor,
    });
    out.raw(out.stdout.isTTY ? `${value}\n` : value);
  },
};

const secretsSet: CliCommand = {
  path: ['secrets', 'set'],
  operands: ['NAME'],
  extraOperandHint: VALUE_HINT,
  summary: 'store a new version of a secret (creating it), the value from stdin or --from-env',
  options: {
    ...VALUE_OPTIONS,
    tag: {
      type: 'string',
      multiple: true,
      value: 'KEY=VALUE',
      description: 'a tag (repeatable); replaces the current tags',
    },
    'ttl-days': {
      type: 'string',
      value: 'N',
      description: 'each new version expires after N days',
    },
    description: { type: 'string', value: 'TEXT', description: 'what the secret is for' },
    ...JSON_OPTION,
  },
  store: true,
  createsKeyring: true,
  async run(context) {
    const tags = parseTags(stringsOption(context, 'tag'));
    const ttlDays = integerOption(context, 'ttl-days', 1);
    const value = await readSecretValue(context);
    const store = await context.store();
    const secret = await store.secrets.setSecret(context.operands[0], value, {
      tags,
      ttlDays,
      description: stringOption(context, 'description'),
      actor: store.actor,
    });
    report(context, secret, `stored ${secret.name} version ${secret.currentVersion}`);
  },
};

const secretsRotate: CliCommand = {
  path: ['secrets', 'rotate'],
  operands: ['NAME'],
  extraOperandHint: VALUE_HINT,
  summary: 'a new current value for an existing secret; the old one becomes previous',
  options: { ...VALUE_OPTIONS, ...JSON_OPTION },
  store: true,
  async run(context) {
    const value = await readSecretValue(context);
    const store = await context.store();
    const secret = await store.secrets.rotateSecret(context.operands[0], value, {
      actor: store.actor,
    });
    const version = secret.currentVersion;
    report(context, secret, `rotated ${secret.name}: version ${version} is current`);
  },
};

const secretsDelete: CliCommand = {
  path: ['secrets', 'delete'],
  operands: ['NAME'],
  summary: 'soft-delete a secret: reads fail, "secrets recover" undoes it for 30 days',
  options: JSON_OPTION,
  store: true,
  async run(context) {
    const store = await context.store();
    const secret = await store.secrets.deleteSecret(context.operands[0], { actor: store.actor });
    report(
      context,
      secret,
      `deleted ${secret.name}; recover it within 30 days with: nest-kms secrets recover ${secret.name}`,
    );
  },
};

const secretsRecover: CliCommand = {
  path: ['secrets', 'recover'],
  operands: ['NAME'],
  summary: 'undo "secrets delete" within the recovery window',
  options: JSON_OPTION,
  store: true,
  async run(context) {
    const store = await context.store();
    const secret = await store.secrets.recoverSecret(context.operands[0], { actor: store.actor });
    report(context, secret, `recovered ${secret.name} (version ${secret.currentVersion})`);
  },
};

function report(context: CommandContext, secret: SecretMetadata, line: string): void {
  if (flag(context, 'json')) context.out.json(secret);
  else context.out.line(line);
}

function parseTags(specs: readonly string[]): Record<string, string> | undefined {
  if (specs.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const spec of specs) {
    const equals = spec.indexOf('=');
    if (equals <= 0) throw usageError('--tag takes KEY=VALUE');
    tags[spec.slice(0, equals)] = spec.slice(equals + 1);
  }
  return tags;
}

export const secretsCommands: readonly CliCommand[] = [
  secretsList,
  secretsGet,
  secretsSet,
  secretsRotate,
  secretsDelete,
  secretsRecover,
];
