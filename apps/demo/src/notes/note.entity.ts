import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { EncryptedColumn } from '@nest-kms/kms';
import { epochMillis } from '../database-columns.js';

/** A note of one owner. Its body is stored as an envelope, never as text. */
@Entity({ name: 'demo_notes' })
export class Note {
  /** nest-kms assigns the uuid before the INSERT: the body's envelope is bound to it. */
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('IDX_demo_notes_owner_id')
  @Column({ name: 'owner_id', type: 'varchar', length: 64 })
  ownerId: string;

  /**
   * Bound to this row and to its owner: copied onto another row, or read after owner_id was
   * changed behind the application's back, it does not decrypt.
   */
  @EncryptedColumn<Note>({ type: 'string', aad: (row) => ({ ownerId: row.ownerId }) })
  body: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMillis })
  createdAt: number;
}
