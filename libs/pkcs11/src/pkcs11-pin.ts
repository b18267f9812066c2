import { readFileSync, statSync } from 'node:fs';
import { KmsConfigurationError } from '@nest-kms/kms';

/**
 * The PIN in `file`, which must be readable by its owner only; one trailing newline is not part
 * of it. `source` names the setting in errors (`pinFile`, `KMS_PKCS11_PIN_FILE`); the file's
 * content never appears in one.
 */
export function readPinFile(file: string, source: string): Buffer {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (error) {
    throw new KmsConfigurationError(
      `${source} names ${JSON.stringify(file)}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new KmsConfigurationError(
      `${source} names ${JSON.stringify(file)}, which is readable by group or others; chmod 600 it`,
    );
  }
  const content = readFileSync(file);
  try {
    let end = content.length;
    if (end > 0 && content[end - 1] === 0x0a) end -= 1;
    if (end > 0 && content[end - 1] === 0x0d) end -= 1;
    if (end === 0) throw new KmsConfigurationError(`${source} names an empty file`);
    return Buffer.from(content.subarray(0, end));
  } finally {
    content.fill(0);
  }
}

/** A copy of the PIN given as `pin` or `pinFile` (exactly one of them). */
export function pinFromOptions(options: {
  readonly pin?: string | Buffer;
  readonly pinFile?: string;
}): Buffer {
  const { pin, pinFile } = options;
  if ((pin === undefined) === (pinFile === undefined)) {
    throw new KmsConfigurationError('pkcs11MasterKey needs exactly one of pin and pinFile');
  }
  if (pinFile !== undefined) return readPinFile(pinFile, 'pinFile');
  const copy = typeof pin === 'string' ? Buffer.from(pin, 'utf8') : Buffer.from(pin!);
  if (copy.length === 0) throw new KmsConfigurationError('pin is empty');
  return copy;
}
