import type { CliCommand } from '../cli-command.interface.js';
import { flag, JSON_OPTION } from '../cli-options.js';
import type { CliStore } from '../store/cli-store.js';

export interface DataKeyUsage {
  id: string;
  status: 'active' | 'retired';
  createdAt: string;
  retiredAt: string | null;
  /** Envelopes in registered columns (secrets, encrypted columns) under this key. */
  envelopes: number;
}

/** Every data key with its envelope count, newest first. */
export async function dataKeyUsage(store: CliStore): Promise<DataKeyUsage[]> {
  const keys: DataKeyUsage[] = [];
  for (const key of await store.kms.listDataKeys()) {
    keys.push({
      id: key.id,
      status: key.status,
      createdAt: key.createdAt,
      retiredAt: key.retiredAt,
      envelopes: await store.kms.countEnvelopesUsing(key.id),
    });
  }
  return keys;
}

export function underRetiredKeys(keys: readonly DataKeyUsage[]): number {
  return keys.filter((key) => key.status === 'retired').reduce((n, key) => n + key.envelopes, 0);
}

export const statusCommand: CliCommand = {
  path: ['status'],
  summary: 'the keyring, its data keys and the secrets store at a glance',
  options: JSON_OPTION,
  store: true,
  async run(context) {
    const { out } = context;
    const store = await context.store();
    const kms = (await store.secrets.getStatus()).kmsStatus;
    const keys = await dataKeyUsage(store);
    const status = {
      database: store.database.description,
      masterKeyFingerprint: kms.masterKeyFingerprint,
      activeKeyId: kms.activeKeyId,
      activeKeyCreatedAt: kms.activeKeyCreatedAt,
      activeKeyEncryptions: kms.activeKeyEncryptions,
      dataKeysCount: kms.dataKeysCount,
      envelopesUnderRetiredKeys: underRetiredKeys(keys),
      secretsCount: kms.secretsCount,
      expiredSecretsCount: kms.expiredSecretsCount,
      dataKeys: keys,
    };
    if (flag(context, 'json')) return out.json(status);
    const retired = status.envelopesUnderRetiredKeys;
    const activeKeys = keys.filter((key) => key.status === 'active').length;
    out.fields([
      ['database', status.database],
      ['master key', String(status.masterKeyFingerprint)],
      ['active data key', `${status.activeKeyId} (since ${status.activeKeyCreatedAt})`],
      ['data keys', `${status.dataKeysCount} (${keys.length - activeKeys} retired)`],
      [
        'under retired keys',
        retired === 0 ? '0 envelopes' : `${retired} envelopes (move them: nest-kms keys rewrap)`,
      ],
      ['secrets', `${status.secretsCount} (${status.expiredSecretsCount} expired)`],
    ]);
    out.line();
    out.table(
      ['DATA KEY', 'STATUS', 'CREATED', 'ENVELOPES'],
      keys.map((key) => [key.id, key.status, key.createdAt, String(key.envelopes)]),
    );
  },
};
