import { usageError } from './cli-errors.js';
import type { CliOption, CommandContext } from './cli-command.interface.js';

/** Options every command that opens the store takes. */
export const STORE_OPTIONS: Readonly<Record<string, CliOption>> = {
  db: {
    type: 'string',
    value: 'PATH|URL',
    description:
      "SQLite file or postgres:// URL (default: DATABASE_URL, else SQLITE_PATH, else $DATA_DIR/demo.sqlite, the demo's)",
  },
  verbose: { type: 'boolean', description: "the libraries' log lines (JSON) on stderr" },
};

export const HELP_OPTION: Readonly<Record<string, CliOption>> = {
  help: { type: 'boolean', short: 'h', description: 'this help' },
};

export const JSON_OPTION: Readonly<Record<string, CliOption>> = {
  json: { type: 'boolean', description: 'machine-readable output on stdout' },
};

/** `--from-env VAR` / `--raw`: where a secret value comes from, never argv. */
export const VALUE_OPTIONS: Readonly<Record<string, CliOption>> = {
  'from-env': {
    type: 'string',
    value: 'VAR',
    description: 'read the value from this environment variable instead of stdin',
  },
  raw: {
    type: 'boolean',
    description: 'keep stdin byte for byte (default: one trailing newline is dropped)',
  },
};

export function stringOption(context: CommandContext, name: string): string | undefined {
  const value = context.options[name];
  return typeof value === 'string' ? value : undefined;
}

export function flag(context: CommandContext, name: string): boolean {
  return context.options[name] === true;
}

export function stringsOption(context: CommandContext, name: string): string[] {
  const value = context.options[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

/** A whole number ≥ `min`, or undefined when the option is absent. */
export function integerOption(
  context: CommandContext,
  name: string,
  min: number,
): number | undefined {
  const text = stringOption(context, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw usageError(`--${name} takes a whole number of at least ${min}`);
  }
  return value;
}
