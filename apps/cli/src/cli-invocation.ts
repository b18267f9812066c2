import { parseArgs, type ParseArgsConfig } from 'node:util';
import { quotedInput } from '@nest-kms/kms';
import type { CliCommand, CliOption, OptionValue } from './cli-command.interface.js';
import { COMMANDS, GROUPS } from './cli-commands.js';
import { usageError } from './cli-errors.js';
import { HELP_OPTION, STORE_OPTIONS } from './cli-options.js';
import { commandHelp, groupHelp, mainHelp } from './cli-usage.js';

export type Invocation =
  | { readonly kind: 'help'; readonly text: string }
  | {
      readonly kind: 'run';
      readonly command: CliCommand;
      readonly operands: readonly string[];
      readonly options: Readonly<Record<string, OptionValue>>;
    };

/** Every option any command knows: to find the command words wherever options stand. */
const ANY_OPTION = toParseArgs(
  Object.assign({}, STORE_OPTIONS, HELP_OPTION, ...COMMANDS.map((command) => command.options)),
);

const TOP_LEVEL = [...new Set(COMMANDS.map((command) => command.path[0]))].join(', ');

/**
 * The command and its operands and options, or the help asked for. Usage errors never echo an
 * operand the CLI did not understand: it may be a secret typed in the wrong place.
 */
export function parseInvocation(argv: readonly string[]): Invocation {
  const loose = parseArgs({
    args: [...argv],
    options: ANY_OPTION,
    strict: false,
    allowPositionals: true,
  });
  const words = loose.positionals;
  const wantsHelp = loose.values.help === true;
  if (words[0] === 'help') return { kind: 'help', text: helpFor(words.slice(1)) };
  if (words.length === 0) {
    if (wantsHelp) return { kind: 'help', text: mainHelp() };
    throw usageError(`no command given; one of: ${TOP_LEVEL}`);
  }
  const command = findCommand(words);
  if (wantsHelp) return { kind: 'help', text: commandHelp(command) };
  const options = {
    ...command.options,
    ...(command.store ? STORE_OPTIONS : {}),
    ...HELP_OPTION,
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: toParseArgs(options),
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    // parseArgs names the option as typed (never its value): shown quoted, without its advice
    // about '--', which is noise here.
    throw usageError(quotedInput((error as Error).message.split('. To specify')[0]));
  }
  const operands = parsed.positionals.slice(command.path.length);
  checkOperands(command, operands);
  return { kind: 'run', command, operands, options: parsed.values };
}

function helpFor(words: readonly string[]): string {
  if (words.length === 0) return mainHelp();
  if (words.length === 1 && GROUPS.includes(words[0])) return groupHelp(words[0]);
  return commandHelp(findCommand(words));
}

function findCommand(words: readonly string[]): CliCommand {
  const command = COMMANDS.find((candidate) =>
    candidate.path.every((word, index) => words[index] === word),
  );
  if (command !== undefined) return command;
  const group = words[0];
  if (!GROUPS.includes(group)) throw usageError(`unknown command; one of: ${TOP_LEVEL}`);
  const subcommands = COMMANDS.filter((candidate) => candidate.path[0] === group)
    .map((candidate) => candidate.path[1])
    .join(', ');
  throw usageError(
    words.length === 1
      ? `${group} needs a subcommand: ${subcommands}`
      : `unknown ${group} subcommand; one of: ${subcommands}`,
  );
}

function checkOperands(command: CliCommand, operands: readonly string[]): void {
  const required = command.operands ?? [];
  const name = command.path.join(' ');
  if (operands.length < required.length) {
    throw usageError(`${name} needs ${required.slice(operands.length).join(' ')}`);
  }
  if (operands.length > required.length && command.moreOperands === undefined) {
    throw usageError(
      command.extraOperandHint ??
        `${name} takes ${required.length === 0 ? 'no operands' : `only ${required.join(' ')}`}`,
    );
  }
}

function toParseArgs(
  options: Readonly<Record<string, CliOption>>,
): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    Object.entries(options).map(([name, { type, multiple, short }]) => [
      name,
      { type, ...(multiple ? { multiple } : {}), ...(short ? { short } : {}) },
    ]),
  );
}
