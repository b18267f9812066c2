import { Logger } from '@nestjs/common';
import { KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import { ENVELOPE_PURPOSES } from '../envelope/envelope.constants.js';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import type { LegacyEnvelopesMode } from '../interfaces/kms-module-options.interface.js';
import { KEYRING_ID } from '../kms.constants.js';
import { KMS_EVENTS } from '../kms.messages.js';
import type { KmsNotification, KmsNotifications } from '../notifications/kms-notifications.js';
import type { KmsStorage } from '../storage/kms-storage.js';

/** The topic replicas hear when a store stops accepting format-v1 values. */
export const LEGACY_REFUSED_TOPIC = 'legacy_envelopes_refused';

/**
 * Whether each nest-kms store (secrets, encrypted columns) still accepts values in envelope
 * format v1, written before envelopes carried their purpose. Such a value cannot be told from
 * one minted through the public API with the same AAD, so it is accepted only during the
 * upgrade: re-encryption moves every stored one to format v2, and once a run finds none left
 * for a store, the keyring records it (`kms_keyring.legacy_refused_purposes`) and every replica
 * refuses v1 there from then on. A keyring created by this version refuses from the start.
 */
export class LegacyEnvelopes {
  private readonly logger = new Logger('KmsService');
  private readonly refused = new Set<EnvelopePurpose>();

  constructor(
    private readonly storage: KmsStorage,
    private readonly notifications: KmsNotifications,
    private readonly mode: LegacyEnvelopesMode,
  ) {}

  /** Hot path: no I/O. */
  accepts(purpose: EnvelopePurpose): boolean {
    if (this.mode === 'accept') return true;
    if (this.mode === 'refuse') return false;
    return !this.refused.has(purpose);
  }

  /** Purposes whose stored v1 values re-encryption should still move (and then look for). */
  migrating(purpose: EnvelopePurpose): boolean {
    return this.mode === 'until-reencrypted' && !this.refused.has(purpose);
  }

  /** Reads the keyring's record; a keyring this process just created refuses every purpose. */
  async load(createdKeyring: boolean): Promise<void> {
    if (createdKeyring) {
      await this.refuse([...ENVELOPE_PURPOSES], false);
      return;
    }
    const row = await this.storage.run((dataSource) =>
      dataSource.getRepository(KmsKeyringEntity).findOneBy({ id: KEYRING_ID }),
    );
    for (const purpose of parsePurposes(row?.legacyRefusedPurposes)) this.refused.add(purpose);
  }

  /** Records that `purposes` refuse v1 from now on, here and (by notification) on every replica. */
  async refuse(purposes: readonly EnvelopePurpose[], announce = true): Promise<void> {
    const added = purposes.filter((purpose) => !this.refused.has(purpose));
    if (added.length === 0) return;
    await this.storage.transaction(async (manager) => {
      const row = await manager.findOneBy(KmsKeyringEntity, { id: KEYRING_ID });
      const stored = parsePurposes(row?.legacyRefusedPurposes);
      const all = [...new Set([...stored, ...added])].sort();
      await manager.update(
        KmsKeyringEntity,
        { id: KEYRING_ID },
        { legacyRefusedPurposes: all.join(',') },
      );
      await this.notifications.publish(manager, {
        topic: LEGACY_REFUSED_TOPIC,
        purposes: all.join(','),
      });
    });
    for (const purpose of added) this.refused.add(purpose);
    if (announce) {
      this.logger.log({ event: KMS_EVENTS.legacyEnvelopesRefused, purposes: added });
    }
  }

  /** Another replica's record, heard by notification; a resync reloads instead. */
  apply(notification: KmsNotification): void {
    if (notification.topic !== LEGACY_REFUSED_TOPIC) return;
    for (const purpose of parsePurposes(notification.purposes)) this.refused.add(purpose);
  }
}

function parsePurposes(text: unknown): EnvelopePurpose[] {
  if (typeof text !== 'string') return [];
  return ENVELOPE_PURPOSES.filter((purpose) => text.split(',').includes(purpose));
}
