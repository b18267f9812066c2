import type { CliOutput } from './output/cli-output.js';
import type { CliStore } from './store/cli-store.js';

/** An option of one command, as parseArgs takes it, plus its help text. */
export interface CliOption {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** The value's placeholder in help, e.g. `FILE`. */
  readonly value?: string;
  readonly description: string;
}

export type OptionValue = string | boolean | (string | boolean)[] | undefined;

/** What a command runs with. */
export interface CommandContext {
  readonly operands: readonly string[];
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly out: CliOutput;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /**
   * Opens the database with the master key (once; later calls share it). Commands check their
   * operands and read their input first, so a usage error needs neither.
   */
  store(): Promise<CliStore>;
}

export interface CliCommand {
  /** The words naming it: `['secrets', 'get']`. */
  readonly path: readonly string[];
  /** Operand placeholders, e.g. `['NAME']`; checked before anything is opened. */
  readonly operands?: readonly string[];
  /** Further operands allowed (shown as `[NAME...]`). */
  readonly moreOperands?: string;
  /** Why an extra operand is refused (e.g. values never come from argv); a generic line otherwise. */
  readonly extraOperandHint?: string;
  readonly summary: string;
  /** Help lines under the usage line. */
  readonly details?: readonly string[];
  readonly options?: Readonly<Record<string, CliOption>>;
  /** Works on the database with the master key (every command but keygen): takes --db, --verbose. */
  readonly store: boolean;
  /**
   * Stores secrets, so it may start a new database and keyring where there is none (secrets set,
   * secrets import, backup import). Every other command refuses a database without a keyring
   * rather than create one under the operator's key beside the application's.
   */
  readonly createsKeyring?: boolean;
  /** Reads threat detection's tables (detections, blocked actors): the store opens them too. */
  readonly threatDetection?: boolean;
  run(context: CommandContext): Promise<void>;
}
