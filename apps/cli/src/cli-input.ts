import { usageError } from './cli-errors.js';
import type { CommandContext } from './cli-command.interface.js';
import { flag, stringOption } from './cli-options.js';

/** Well past the secrets library's 64 KiB limit: enough to let it name the rule broken. */
const MAX_STDIN_BYTES = 1024 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A secret value from `--from-env VAR` or stdin; never from argv, where it would show in `ps`
 * and shell history. A terminal on stdin is refused rather than echoing a typed secret.
 * Errors never include the value, nor the variable's name (a value typed there by mistake).
 */
export async function readSecretValue(context: CommandContext): Promise<string> {
  const variable = stringOption(context, 'from-env');
  if (variable !== undefined) {
    if (!ENV_NAME.test(variable)) {
      throw usageError('--from-env takes the name of an environment variable');
    }
    const value = context.env[variable];
    if (value === undefined || value === '') {
      throw usageError('the environment variable named by --from-env is not set or is empty');
    }
    return value;
  }
  const text = await readStdin(context, 'the value');
  const value = flag(context, 'raw') ? text : text.replace(/\r?\n$/, '');
  if (value === '') throw usageError('no value on stdin');
  return value;
}

/** All of stdin as UTF-8; refused when stdin is a terminal. */
export async function readStdin(context: CommandContext, what: string): Promise<string> {
  if (context.stdin.isTTY) {
    throw usageError(
      `pipe ${what} on stdin (e.g. "< file" or "cmd |"); it is never read from the command line or a terminal`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of context.stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > MAX_STDIN_BYTES) throw usageError(`stdin holds more than ${MAX_STDIN_BYTES} bytes`);
    chunks.push(bytes);
  }
  const all = Buffer.concat(chunks);
  try {
    return all.toString('utf8');
  } finally {
    all.fill(0);
    for (const chunk of chunks) chunk.fill(0);
  }
}
