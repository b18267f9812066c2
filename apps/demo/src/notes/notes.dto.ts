import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';

export class CreateNoteRequest {
  @ApiProperty({ description: 'The text, stored encrypted', minLength: 1, maxLength: 10_000 })
  @IsString()
  @MinLength(1)
  @MaxLength(10_000)
  body: string;
}

export class NoteResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() ownerId: string;
  @ApiProperty() body: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({
    description: 'HMAC-SHA256 (base64url) of id, owner and time under NOTES_RECEIPT_KEY',
  })
  receipt: string;
}
