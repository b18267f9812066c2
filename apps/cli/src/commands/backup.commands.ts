import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import type { CliCommand } from '../cli-command.interface.js';
import { quotedInput } from '@nest-kms/kms';
import { CliError, EXIT, usageError } from '../cli-errors.js';
import { flag, JSON_OPTION, stringOption } from '../cli-options.js';

const backupExport: CliCommand = {
  path: ['backup', 'export'],
  summary: 'write an encrypted backup of every secret and the data keys (file mode 0600)',
  details: [
    'No value is decrypted to make it; it opens only where this master key is KMS_MASTER_KEY',
    '(or KMS_MASTER_KEY_PREVIOUS). Refuses to replace an existing file unless --force.',
  ],
  options: {
    out: { type: 'string', value: 'FILE', description: 'where to write it (required)' },
    force: { type: 'boolean', description: 'replace FILE if it exists' },
    ...JSON_OPTION,
  },
  store: true,
  async run(context) {
    const file = stringOption(context, 'out');
    if (file === undefined || file === '') throw usageError('backup export needs --out FILE');
    const { out } = context;
    const store = await context.store();
    const backup = await store.secrets.backupSecrets({ actor: store.actor });
    await writeOwnerOnly(file, `${JSON.stringify(backup, null, 2)}\n`, flag(context, 'force'));
    const fingerprint = backup.artifact.masterKeyFingerprint;
    const summary = { file, secrets: backup.secrets.length, masterKeyFingerprint: fingerprint };
    if (flag(context, 'json')) return out.json(summary);
    out.line(
      `exported ${summary.secrets} secrets to ${file} (mode 0600), sealed under master key ${fingerprint}`,
    );
  },
};

const backupImport: CliCommand = {
  path: ['backup', 'import'],
  operands: ['FILE'],
  summary: 'restore a backup made by "backup export" (into an empty database or this one)',
  details: [
    'All or nothing: a secret held here with other content refuses the whole restore (exit 4).',
    'Restoring the same backup twice changes nothing.',
  ],
  options: JSON_OPTION,
  store: true,
  createsKeyring: true,
  async run(context) {
    const { out } = context;
    const file = context.operands[0];
    let document: unknown;
    try {
      document = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      throw new CliError('INVALID_BACKUP_FILE', `${quotedInput(file)} is not a backup (not JSON)`);
    }
    // The file holds backupSecrets()'s whole result; a bare artifact is accepted too.
    const artifact = (document as { artifact?: unknown } | null)?.artifact ?? document;
    const store = await context.store();
    const result = await store.secrets.restoreSecrets(artifact, { actor: store.actor });
    if (flag(context, 'json')) return out.json({ file, ...result });
    out.fields([
      ['restored', result.restored.join(', ') || '-'],
      ['unchanged', result.unchanged.join(', ') || '-'],
      ['data keys added', String(result.dataKeysAdded)],
      [
        'not restored',
        result.notRestored.map(({ name, reason }) => `${name} (${reason})`).join(', ') || '-',
      ],
    ]);
    if (result.dataKeysAdded > 0) {
      out.line(
        'the restored envelopes are under retired keys; move them with: nest-kms keys rewrap',
      );
    }
  },
};

/**
 * Writes `text` to a file only its owner can read, created with mode 0600 (never a moment
 * readable by others). Without `replace` an existing file is refused; with it the new file
 * takes the old one's place in one rename.
 */
async function writeOwnerOnly(file: string, text: string, replace: boolean): Promise<void> {
  const target = replace ? `${file}.${randomBytes(6).toString('hex')}.tmp` : file;
  let handle;
  try {
    handle = await open(target, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new CliError(
      'FILE_EXISTS',
      `${quotedInput(file)} exists; choose another file or pass --force to replace it`,
      EXIT.conflict,
    );
  }
  try {
    await handle.chmod(0o600); // the umask may only have narrowed it, but be exact
    await handle.writeFile(text);
    await handle.sync();
    await handle.close();
    if (replace) await rename(target, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(target, { force: true });
    throw error;
  }
}

export const backupCommands: readonly CliCommand[] = [backupExport, backupImport];
