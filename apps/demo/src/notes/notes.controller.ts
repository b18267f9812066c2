import { Body, Controller, Get, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiError } from '../http/api-error.js';
import { NoteReceipts } from './note-receipts.js';
import type { Note } from './note.entity.js';
import { CreateNoteRequest, NoteResponse } from './notes.dto.js';
import { NotesService } from './notes.service.js';
import { OWNER_HEADER, OwnerId } from './owner-id.decorator.js';

const noteId = new ParseUUIDPipe({
  exceptionFactory: () => new ApiError(400, 'INVALID_NOTE_ID', 'A note id is a uuid'),
});

/** Notes whose body is an @EncryptedColumn bound to its owner. */
@ApiTags('notes')
@ApiHeader({
  name: OWNER_HEADER,
  required: true,
  description: 'Who asks (stands in for authentication)',
})
@Controller('notes')
export class NotesController {
  constructor(
    private readonly notes: NotesService,
    private readonly receipts: NoteReceipts,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Store a note; its body is encrypted and bound to the owner' })
  async create(
    @OwnerId() ownerId: string,
    @Body() request: CreateNoteRequest,
  ): Promise<NoteResponse> {
    return this.present(await this.notes.create(ownerId, request.body));
  }

  @Get(':id')
  @ApiOperation({ summary: "One of the owner's notes (another owner's answers 404)" })
  async get(@Param('id', noteId) id: string, @OwnerId() ownerId: string): Promise<NoteResponse> {
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
