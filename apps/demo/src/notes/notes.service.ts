import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { KmsDatabase } from '@nest-kms/kms';
import { ApiError } from '../http/api-error.js';
import { Note } from './note.entity.js';

@Injectable()
export class NotesService {
  constructor(
    @InjectRepository(Note) private readonly notes: Repository<Note>,
    private readonly database: KmsDatabase,
  ) {}

  create(ownerId: string, body: string): Promise<Note> {
    const note = this.notes.create({ ownerId, body, createdAt: Date.now() });
    // On SQLite nest-kms's jobs share the app's one connection: queue the write behind their
    // transactions instead of joining one.
    return this.database.run(() => this.notes.save(note));
  }

  /** The owner's note; another owner's is as absent as a missing one. */
  async findOwned(id: string, ownerId: string): Promise<Note> {
    const note = await this.notes.findOneBy({ id, ownerId });
    if (!note) throw new ApiError(404, 'NOTE_NOT_FOUND', `No note ${id} for this owner`);
    return note;
  }
}
