import { importSecretsFromEnv, type SecretsImportReport } from '@nest-kms/config';
import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import type { CliCommand, CommandContext } from '../cli-command.interface.js';
import { CliError, EXIT } from '../cli-errors.js';
import { flag, JSON_OPTION, stringOption } from '../cli-options.js';

/** The KMS's own keys: storing them under themselves would lock them in with what they open. */
const MASTER_KEY_VARIABLE = /^KMS_(NEW_)?MASTER_KEY(_PREVIOUS)?$/;

/**
 * Step 5 of the migration guide from a `.env` file, through @nest-kms/config's importer: a
 * secret the store lacks is created, one that holds the same value is left alone (so a second
 * run writes nothing), one that holds another value is a conflict and is not written.
 */
export const secretsImportCommand: CliCommand = {
  path: ['secrets', 'import'],
  moreOperands: 'NAME',
  summary: 'import the variables of a .env file as secrets (idempotent; names only in output)',
  details: [
    'Every variable of the file, or only the NAMEs given. KMS_MASTER_KEY and its kin are skipped.',
    'A secret stored with another value is reported as a conflict (exit 4) and left as it is.',
  ],
  options: {
    from: { type: 'string', value: 'FILE', description: 'the .env file (default: .env)' },
    overwrite: {
      type: 'boolean',
      description: "store the file's value as a new version where the store differs",
    },
    ...JSON_OPTION,
  },
  store: true,
  createsKeyring: true,
  async run(context) {
    const file = stringOption(context, 'from') ?? '.env';
    const variables = parseEnv(await readFile(file, 'utf8'));
    const store = await context.store();
    const wanted = context.operands.length > 0 ? [...context.operands] : Object.keys(variables);
    const skipped = wanted.filter((name) => MASTER_KEY_VARIABLE.test(name));
    const report = await importSecretsFromEnv(
      store.secrets,
      wanted.filter((name) => !MASTER_KEY_VARIABLE.test(name)),
      { env: (name) => variables[name], overwrite: flag(context, 'overwrite'), actor: store.actor },
    );
    printReport(context, file, report, skipped);
    if (report.failed.length > 0) {
      throw new CliError(
        'IMPORT_FAILED',
        `${report.failed.length} variable(s) were not imported: ${report.failed.map((entry) => `${entry.name} (${entry.code})`).join(', ')}`,
        EXIT.failure,
      );
    }
    if (report.conflicts.length > 0) {
      throw new CliError(
        'IMPORT_CONFLICT',
        `${report.conflicts.length} secret(s) hold another value in the store than in ${file} and were left as they are: ${report.conflicts.join(', ')}; --overwrite stores the file's values as new versions`,
        EXIT.conflict,
      );
    }
  },
};

function printReport(
  context: CommandContext,
  file: string,
  report: SecretsImportReport,
  skipped: readonly string[],
): void {
  const { out } = context;
  if (flag(context, 'json')) return out.json({ file, ...report, skipped });
  const lines: [string, readonly string[]][] = [
    ['created', report.created],
    ['updated', report.updated],
    ['unchanged', report.unchanged],
    ['conflict', report.conflicts],
    ['missing', report.missing],
    ['failed', report.failed.map((entry) => `${entry.name} (${entry.code})`)],
    ['skipped', skipped.map((name) => `${name} (a master key is never stored as a secret)`)],
  ];
  const shown = lines.filter(([, names]) => names.length > 0);
  if (shown.length > 0) out.fields(shown.map(([label, names]) => [label, names.join(', ')]));
  const written = report.created.length + report.updated.length;
  out.line(`imported ${written} secret(s) from ${file}`);
}
