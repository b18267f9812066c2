import { Body, Controller, Get, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller } from '../auth/caller.decorator.js';
import { CallerTokenGuard } from '../auth/caller-token.guard.js';
import { ApiError } from '../http/api-error.js';
import { NoteReceipts } from './note-receipts.js';
import type { Note } from './note.entity.js';
import { CreateNoteRequest, NoteResponse } from './notes.dto.js';
import { NotesService } from './notes.service.js';

const noteId = new ParseUUIDPipe({
  exceptionFactory: () => new ApiError(400, 'INVALID_NOTE_ID', 'A note id is a uuid'),
});

/**
 * Notes whose body is an @EncryptedColumn bound to its owner: the caller whose token made the
 * request. Every route acts on the caller's own notes only.
 */
@ApiTags('notes')
@ApiBearerAuth()
@UseGuards(CallerTokenGuard)
@Controller('notes')
export class NotesController {
  constructor(
    private readonly notes: NotesService,
    private readonly receipts: NoteReceipts,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Store a note; its body is encrypted and bound to the owner' })
  async create(
    @Caller() ownerId: string,
    @Body() request: CreateNoteRequest,
  ): Promise<NoteResponse> {
    return this.present(await this.notes.create(ownerId, request.body));
  }

  @Get(':id')
  @ApiOperation({ summary: "One of the owner's notes (another caller's answers 404)" })
  async get(@Param('id', noteId) id: string, @Caller() ownerId: string): Promise<NoteResponse> {
    return this.present(await this.notes.findOwned(id, ownerId));
  }

  private async present(note: Note): Promise<NoteResponse> {
    return {
      id: note.id,
      ownerId: note.ownerId,
      body: note.body,
      createdAt: new Date(note.createdAt).toISOString(),
      receipt: await this.receipts.receipt(note),
    };
  }
}
