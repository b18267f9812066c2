import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { KEYRING_ID, KmsKeyringEntity } from '../entities/kms-keyring.entity.js';
import { ENVELOPE_PURPOSES } from '../envelope/envelope.constants.js';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import { KMS_RESOLVED_OPTIONS } from '../kms.constants.js';
import { KMS_EVENTS } from '../kms.messages.js';
import type { ResolvedKmsOptions } from '../kms.options.js';
import { KmsNotifications, type KmsNotification } from '../notifications/kms-notifications.js';
import { KmsStorage } from '../storage/kms-storage.js';

/** The topic replicas hear when a store stops accepting format-v1 values. */
export const LEGACY_REFUSED_TOPIC = 'legacy_envelopes_refused';

/** Letters that name each purpose in a marked key id: `dk2-sc-<uuid>`. */
const MARK_LETTERS: Record<EnvelopePurpose, string> = { column: 'c', secret: 's' };
const MARKED_KEY_ID = /^dk2-([a-z]+)-/;

/**
 * The id of a new data key. A key made while stores refuse format v1 names them in its id
 * (`dk2-sc-<uuid>`; `dk-<uuid>` when none does). The id is bound into the key's wrap and into
 * every envelope's header, so the mark cannot be changed without the master key.
 */
export function markedKeyId(refused: Iterable<EnvelopePurpose>): string {
  const letters = ENVELOPE_PURPOSES.filter((purpose) => [...refused].includes(purpose))
    .map((purpose) => MARK_LETTERS[purpose])
    .join('');
  return letters === '' ? `dk-${randomUUID()}` : `dk2-${letters}-${randomUUID()}`;
}

/** The stores a data key's id marks as refusing format v1 (none for `dk-…` ids). */
export function purposesMarkedBy(keyId: string): EnvelopePurpose[] {
  const letters = MARKED_KEY_ID.exec(keyId)?.[1] ?? '';
  return ENVELOPE_PURPOSES.filter((purpose) => letters.includes(MARK_LETTERS[purpose]));
}

/**
 * Whether each nest-kms store (secrets, encrypted columns) still accepts values in envelope
 * format v1, written before envelopes carried their purpose. Such a value cannot be told from
 * one minted through the public API with the same AAD, so it is accepted only during the
 * upgrade: re-encryption moves every stored one to format v2, and once a run finds none left
 * for a store, the keyring records it (`kms_keyring.legacy_refused_purposes`), every replica
 * refuses v1 there from then on, and the data key rotates to one whose id marks the store. A
 * v1 value under a marked key is refused whatever the record says: whoever can write the
 * database can erase the record, but not the mark of the key every new envelope is sealed under.
 * A keyring created by this version refuses from the start, and its first key is marked.
 */
@Injectable()
export class LegacyEnvelopes {
  private readonly logger = new Logger('KmsService');
  private readonly refused = new Set<EnvelopePurpose>();
  private readonly mode: ResolvedKmsOptions['legacyEnvelopes'];
  private refusedSinceAsked = false;

  constructor(
    private readonly storage: KmsStorage,
    private readonly notifications: KmsNotifications,
    @Inject(KMS_RESOLVED_OPTIONS) options: ResolvedKmsOptions,
  ) {
    this.mode = options.legacyEnvelopes;
  }

  /** Whether a store's value in format v1 under data key `keyId` is accepted. Off the hot path. */
  accepts(purpose: EnvelopePurpose, keyId: string): boolean {
    if (this.mode === 'accept') return true;
    if (this.mode === 'refuse') return false;
    return !this.refused.has(purpose) && !purposesMarkedBy(keyId).includes(purpose);
  }

  /** Whether re-encryption should still move a store's v1 values (and then look for them). */
  migrating(purpose: EnvelopePurpose): boolean {
    return (
      this.mode === 'accept' || (this.mode === 'until-reencrypted' && !this.refused.has(purpose))
    );
  }

  /** The id of a new data key: marked with what the record refuses (everything, for a new keyring). */
  newKeyId(creatingKeyring: boolean): string {
    return markedKeyId(creatingKeyring ? ENVELOPE_PURPOSES : this.refused);
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
    const accepting = ENVELOPE_PURPOSES.filter((purpose) => this.migrating(purpose));
    if (accepting.length > 0) {
      // Either an upgrade under way, or a record someone erased: worth a line at every start.
      this.logger.warn({
        event: KMS_EVENTS.legacyEnvelopesAccepted,
        purposes: accepting,
        message:
          'These stores still accept values written before envelopes carried their purpose; re-encryption moves them, then they are refused',
      });
    }
  }

  /**
   * Records that `purposes` refuse v1 from now on, here and (by notification) on every replica.
   * The data key should then rotate to one whose id marks them (rotationDueAfterRefusal).
   */
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
    this.refusedSinceAsked = true;
    if (announce) {
      this.logger.log({ event: KMS_EVENTS.legacyEnvelopesRefused, purposes: added });
    }
  }

  /**
   * Once after refuse() recorded new purposes: whether the active key (`activeKeyId`) fails to
   * mark a store that now refuses v1, so the data key must rotate to one that does.
   */
  rotationDueAfterRefusal(activeKeyId: string): boolean {
    if (!this.refusedSinceAsked) return false;
    this.refusedSinceAsked = false;
    const marked = purposesMarkedBy(activeKeyId);
    return [...this.refused].some((purpose) => !marked.includes(purpose));
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
