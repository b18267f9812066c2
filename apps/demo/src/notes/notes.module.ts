import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SecretsModule } from '@nest-kms/secrets';
import { CallerAuthModule } from '../auth/caller-auth.module.js';
import { NOTES_RECEIPT_KEY, NoteReceipts } from './note-receipts.js';
import { Note } from './note.entity.js';
import { NotesController } from './notes.controller.js';
import { NotesService } from './notes.service.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([Note]),
    SecretsModule.forFeature([NOTES_RECEIPT_KEY]),
    CallerAuthModule,
  ],
  controllers: [NotesController],
  providers: [NotesService, NoteReceipts],
})
export class NotesModule {}
