import {
  LocalMasterKeyProvider,
  masterKeyProviderFromEnvironment,
  type MasterKeyProvider,
  type ReencryptionResult,
} from '@nest-kms/kms';
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
  'the new master key is never read from the command line (it would show in ps and shell history): set KMS_NEW_MASTER_KEY, pipe it on stdin, or name a provider in KMS_NEW_MASTER_KEY_PROVIDER';

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
    'To move to a provider (aws-kms, azure-key-vault, pkcs11): KMS_NEW_MASTER_KEY_PROVIDER names',
    'it and its settings carry the KMS_NEW_ prefix (KMS_NEW_AWS_KMS_KEY_ID for KMS_AWS_KMS_KEY_ID).',
    'One transaction: a failure leaves the keyring under the current key. Prints the next steps.',
  ],
  extraOperandHint: NEW_KEY_HINT,
  options: JSON_OPTION,
  store: true,
  async run(context) {
    const { out } = context;
    const candidate = await readNewMasterKey(context);
    let rotation;
    try {
      const fingerprint = await candidate.fingerprint();
      const store = await context.store();
      if (fingerprint === store.kms.getStatus().masterKeyFingerprint) {
        throw usageError(
          'the new master key is the one in use; generate another with nest-kms keygen',
        );
      }
      rotation = await store.kms.rotateMasterKey(candidate);
    } catch (error) {
      // Once rotated to, the keyring holds the provider and releases it when the store closes.
      await candidate.destroy?.();
      throw error;
    }
    if (flag(context, 'json')) return out.json({ ...rotation, nextSteps: NEXT_STEPS });
    out.line(
      `rotated: master key ${rotation.from} -> ${rotation.to} (${rotation.rewrapped ?? 0} data keys re-wrapped; envelopes unchanged)`,
    );
    out.line('next steps:');
    NEXT_STEPS.forEach((step, index) => out.line(`  ${index + 1}. ${step}`));
  },
};

/** The master key to rotate to: a provider named in the environment, else a local key. */
async function readNewMasterKey(context: CommandContext): Promise<MasterKeyProvider> {
  const provider = context.env.KMS_NEW_MASTER_KEY_PROVIDER;
  if (provider && provider !== 'local') {
    if (context.env.KMS_NEW_MASTER_KEY) {
      throw usageError('KMS_NEW_MASTER_KEY and KMS_NEW_MASTER_KEY_PROVIDER are both set: keep one');
    }
    return masterKeyProviderFromEnvironment(
      provider,
      'KMS_NEW_MASTER_KEY_PROVIDER',
      context.env,
      'KMS_NEW_',
    );
  }
  const fromEnv = context.env.KMS_NEW_MASTER_KEY;
  const key = fromEnv ? fromEnv : (await readStdin(context, 'the new master key')).trim();
  if (key === '') {
    throw usageError(
      'no new master key: set KMS_NEW_MASTER_KEY (or KMS_NEW_MASTER_KEY_PROVIDER) or pipe it on stdin',
    );
  }
  return LocalMasterKeyProvider.fromBase64(key, 'the new master key');
}

const keysMasters: CliCommand = {
  path: ['keys', 'masters'],
  summary: "list the keyring's master keys: the primary and the additional ones",
  details: [
    'An additional master key holds a second wrap of every data key (another region, a',
    'break-glass key). "missing" counts keys not yet wrapped under it; they catch up while an',
    'application that has it configured runs.',
  ],
  options: JSON_OPTION,
  store: true,
  async run(context) {
    const { out } = context;
    const store = await context.store();
    const keys = await store.kms.listMasterKeys();
    if (flag(context, 'json')) return out.json(keys);
    for (const key of keys) {
      const held = key.held ? 'configured here' : 'not configured here';
      out.line(
        `${key.role.padEnd(10)} ${key.fingerprint}  (${held}; missing ${key.keysWithoutWrap})`,
      );
    }
  },
};

const keysRemoveMaster: CliCommand = {
  path: ['keys', 'remove-master'],
  operands: ['FINGERPRINT'],
  summary: 'remove an additional master key from the keyring (delete its wraps)',
  details: [
    'Stop configuring it on every replica first: a replica that still has it adds it back.',
    'The primary master key cannot be removed; rotate away from it with keys rotate-master.',
  ],
  options: JSON_OPTION,
  store: true,
  async run(context) {
    const { out } = context;
    const fingerprint = context.operands[0];
    const store = await context.store();
    const known = (await store.kms.listMasterKeys()).some((key) => key.fingerprint === fingerprint);
    if (!known)
      throw usageError(`the keyring has no master key ${fingerprint}; see nest-kms keys masters`);
    const wraps = await store.kms.removeMasterKey(fingerprint);
    if (flag(context, 'json')) return out.json({ fingerprint, wrapsDeleted: wraps });
    out.line(`removed: master key ${fingerprint} (${wraps} wraps deleted)`);
  },
};

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

export const keysCommands: readonly CliCommand[] = [
  keysRotate,
  keysRotateMaster,
  keysMasters,
  keysRemoveMaster,
  keysRewrap,
];
