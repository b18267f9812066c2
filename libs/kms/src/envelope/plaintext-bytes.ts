import { InvalidInputError } from '../errors/invalid-input.error.js';
import { MAX_PLAINTEXT_BYTES } from './envelope.constants.js';

/** The bytes a caller's plaintext encrypts as, checked: a string (UTF-8) or a Buffer, within the size limit. */
export function plaintextBytes(plaintext: string | Buffer): Buffer {
  let bytes: Buffer;
  if (typeof plaintext === 'string') {
    // A lone surrogate would come back as U+FFFD: refuse rather than change the value.
    if (!plaintext.isWellFormed())
      throw new InvalidInputError('plaintext', 'contains a lone UTF-16 surrogate');
    bytes = Buffer.from(plaintext, 'utf8');
  } else if (Buffer.isBuffer(plaintext)) {
    bytes = plaintext;
  } else {
    throw new InvalidInputError('plaintext', 'must be a string or a Buffer');
  }
  if (bytes.length > MAX_PLAINTEXT_BYTES) {
    throw new InvalidInputError('plaintext', `is larger than ${MAX_PLAINTEXT_BYTES} bytes`);
  }
  return bytes;
}
