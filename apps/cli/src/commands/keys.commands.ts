import { LocalMasterKeyProvider, type ReencryptionResult } from '@nest-kms/kms';
import type { CliCommand, CommandContext } from '../cli-command.interface.js';
import { CliError, EXIT, usageError } from '../cli-errors.js';
import { readStdin } from '../cli-input.js';
import { flag, integerOption, JSON_OPTION } from '../cli-options.js';
import { ProgressBar } from '../output/progress-bar.js';
import { dataKeyUsage, underRetiredKeys } from './status.command.js';

const keysRotate: CliCommand = {
  path: ['keys', 'rotate'],
  summary: 'make a new active data key; the old one is retired and keeps decrypting',
  details: [
    'Existing envelopes stay under the retired key until "nest-kms keys rewrap" moves them.',
    'Running replicas (Postgres) adopt the new key at once.',
  ],
  options: JSON_OPTION,
  store: true,
  async run(context) {
    const { out } = context;
    const store = await context.store();
    const { keyId, previousKeyId } = await store.kms.rotateDataKey();
    const waiting = underRetiredKeys(await dataKeyUsage(store));
    if (flag(context, 'json')) {
      return out.json({ keyId, previousKeyId, envelopesUnderRetiredKeys: waiting });
    }
    out.line(
      `rotated: active data key ${keyId} (retired ${previousKeyId}, which keeps decrypting)`,
    );
    out.line(`${waiting} envelopes are under retired keys; move them with: nest-kms keys rewrap`);
  },
};

const NEW_KEY_HINT =
  'the new master key is never read from the command line (it would show in ps and shell history): set KMS_NEW_MASTER_KEY or pipe it on stdin';

const NEXT_STEPS = [
  'Keep the new key in your secret store now: it is the only key that opens this keyring.',
  'Restart every replica with KMS_MASTER_KEY=<new key> and KMS_MASTER_KEY_PREVIOUS=<old key>; replicas still on the old key keep decrypting but cannot rotate data keys.',
  'Take a new backup: nest-kms backup export --out FILE. Older backups open only while the old key is KMS_MASTER_KEY_PREVIOUS.',
  'Once every replica runs the new key, remove KMS_MASTER_KEY_PREVIOUS; keep the old key for as long as you keep backups made before this rotation.',
];

const keysRotateMaster: CliCommand = {
  path: ['keys', 'rotate-master'],
  summary: 're-wrap every data key under a new master key (envelopes are untouched)',
  details: [
    'The new key comes from KMS_NEW_MASTER_KEY, else stdin; KMS_MASTER_KEY is the current one.',
    'One transaction: a failure leaves the keyring under the current key. Prints the next steps.',
  ],
  extraOperandHint: NEW_KEY_HINT,
  options: JSON_OPTION,
  store: true,
  async run(context) {
    const { out } = context;
    const newKey = await readNewMasterKey(context);
    const candidate = LocalMasterKeyProvider.fromBase64(newKey, 'the new master key');
    const fingerprint = await candidate.fingerprint();
    candidate.destroy();
    const store = await context.store();
    if (fingerprint === store.kms.getStatus().masterKeyFingerprint) {
      throw usageError(
        'the new master key is the one in use; generate another with nest-kms keygen',
      );
    }
    const rotation = await store.kms.rotateMasterKey(newKey);
    if (flag(context, 'json')) return out.json({ ...rotation, nextSteps: NEXT_STEPS });
    out.line(
      `rotated: master key ${rotation.from} -> ${rotation.to} (${rotation.rewrapped ?? 0} data keys re-wrapped; envelopes unchanged)`,
    );
    out.line('next steps:');
    NEXT_STEPS.forEach((step, index) => out.line(`  ${index + 1}. ${step}`));
  },
};

async function readNewMasterKey(context: CommandContext): Promise<string> {
  const fromEnv = context.env.KMS_NEW_MASTER_KEY;
  const key = fromEnv ? fromEnv : (await readStdin(context, 'the new master key')).trim();
  if (key === '') {
    throw usageError('no new master key: set KMS_NEW_MASTER_KEY or pipe it on stdin');
  }
  return key;
}

const keysRewrap: CliCommand = {
  path: ['keys', 'rewrap'],
  summary: 'move every envelope under a retired data key to the active key',
  details: [
    'Resumable: interrupted, the next run continues. On Postgres one process at a time.',
    'Progress goes to stderr (a bar on a terminal, lines otherwise); the summary to stdout.',
  ],
  options: {
    ...JSON_OPTION,
    'batch-size': { type: 'string', value: 'N', description: 'envelopes per transaction (500)' },
  },
  store: true,
  async run(context) {
    const { out } = context;
    const batchSize = integerOption(context, 'batch-size', 1);
    const store = await context.store();
    const bar = new ProgressBar(out.stderr, 'rewrap');
    // Stopping mid-run is safe (the open batch's transaction rolls back; the next run resumes):
    // only the terminal needs its bar ended and a word on what to do.
    const interrupted = (): void => {
      bar.finish();
      out.note('interrupted; nothing is lost: run nest-kms keys rewrap again to continue');
      process.exit(130);
    };
    process.once('SIGINT', interrupted);
    let result: ReencryptionResult;
    try {
      result = await store.kms.reencrypt({
        batchSize,
        onProgress: (progress) =>
          bar.update({
            done: progress.moved,
            failed: progress.failed,
            total: progress.total,
            perSecond: progress.envelopesPerSecond,
          }),
      });
    } finally {
      bar.finish();
      process.removeListener('SIGINT', interrupted);
    }
    if (!result.ran) {
      throw new CliError(
        'REWRAP_BUSY',
        'another process is re-encrypting this database; nothing was done here, run again once it is done',
      );
    }
    const activeKeyId = store.kms.getStatus().activeKeyId;
    if (flag(context, 'json')) {
      out.json({ ...result, activeKeyId });
    } else {
      out.line(
        `moved ${result.moved} envelopes to data key ${activeKeyId} in ${(result.durationMs / 1000).toFixed(1)} s ` +
          `(${Math.round(result.envelopesPerSecond)}/s); ${result.failed} failed, ${result.remaining} remaining`,
      );
    }
    if (result.failed > 0) {
      throw new CliError(
        'REWRAP_INCOMPLETE',
        `${result.failed} envelopes did not open and stay under their keys; --verbose logs reencryption_failed with the column and error code`,
        EXIT.failure,
      );
    }
  },
};

export const keysCommands: readonly CliCommand[] = [keysRotate, keysRotateMaster, keysRewrap];
