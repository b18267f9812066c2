import type { CommandContext } from './cli-command.interface.js';
import { describeFailure, EXIT, type ExitCode } from './cli-errors.js';
import { parseInvocation } from './cli-invocation.js';
import { CliOutput, type OutputStream } from './output/cli-output.js';
import { openStore, type CliStore } from './store/cli-store.js';
import { resolveDatabaseTarget } from './store/database-target.js';

/** The process's surroundings, passed in so the CLI reads nothing global but these. */
export interface CliIo {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: CommandContext['stdin'];
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
}

/** Runs one command; resolves with the exit code. Never throws. */
export async function runCli(io: CliIo): Promise<ExitCode> {
  const out = new CliOutput(io.stdout, io.stderr);
  let store: Promise<CliStore> | undefined;
  let exitCode: ExitCode = EXIT.ok;
  try {
    const invocation = parseInvocation(io.argv);
    if (invocation.kind === 'help') {
      out.raw(invocation.text);
      return EXIT.ok;
    }
    const { command, operands, options } = invocation;
    const open = async (): Promise<CliStore> => {
      const database = resolveDatabaseTarget(
        typeof options.db === 'string' ? options.db : undefined,
        io.env,
      );
      const opened = await openStore({
        database,
        env: io.env,
        verbose: options.verbose === true,
        existingKeyringOnly: command.createsKeyring !== true,
        threatDetection: command.threatDetection === true,
      });
      if (opened.created) out.note(`created a new database: ${database.description}`);
      return opened;
    };
    await command.run({
      operands,
      options,
      out,
      env: io.env,
      stdin: io.stdin,
      store: () => (store ??= open()),
    });
  } catch (error) {
    exitCode = fail(out, error);
  }
  try {
    // A store that failed to open has nothing to close.
    const opened = await store?.catch(() => undefined);
    await opened?.close();
  } catch (error) {
    if (exitCode === EXIT.ok) exitCode = fail(out, error);
  }
  return exitCode;
}

/** One line on stderr: `nest-kms: <code>: <message>`; never a stack trace or a value. */
function fail(out: CliOutput, error: unknown): ExitCode {
  const failure = describeFailure(error);
  out.stderr.write(`nest-kms: ${failure.code}: ${failure.message}\n`);
  return failure.exitCode;
}
