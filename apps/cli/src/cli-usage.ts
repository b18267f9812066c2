import type { CliCommand, CliOption } from './cli-command.interface.js';
import { COMMANDS } from './cli-commands.js';
import { EXIT_CODE_HELP } from './cli-errors.js';
import { HELP_OPTION, STORE_OPTIONS } from './cli-options.js';

const ENVIRONMENT: readonly [string, string][] = [
  ['KMS_MASTER_KEY', 'the master key (base64 of 32 bytes); required by every command but keygen'],
  [
    'KMS_MASTER_KEY_PROVIDER',
    'aws-kms, azure-key-vault or pkcs11 instead: the key stays there (settings: docs/master-keys.md)',
  ],
  ['KMS_MASTER_KEY_PREVIOUS', 'the key being rotated away from (see docs/key-lifecycle.md)'],
  ['KMS_ADDITIONAL_MASTER_KEY', 'an additional master key of the keyring (see keys masters)'],
  ['KMS_NEW_MASTER_KEY', 'keys rotate-master: the new key (else read from stdin)'],
  [
    'KMS_NEW_MASTER_KEY_PROVIDER',
    'keys rotate-master: a provider to move to, its settings prefixed KMS_NEW_',
  ],
  [
    'KMS_REGION_ROLE',
    'replica in a region that receives the keyring by replication: writes exit 6',
  ],
  ['KMS_REGION_PRIMARY', 'a replica region: where writes go, named in its refusals'],
  ['DATABASE_URL', 'postgres:// URL of the database (else SQLITE_PATH)'],
  ['SQLITE_PATH', "SQLite file (default $DATA_DIR/demo.sqlite, the demo's database)"],
  ['DATA_DIR', "the demo's data directory (default data)"],
];

/** `nest-kms --help`: every command, the environment and the exit codes. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => synopsis(command).length));
  return [
    'nest-kms: operate the nest-kms keyring and secrets store',
    '',
    'usage: nest-kms <command> [options]     nest-kms <command> --help',
    '',
    'commands:',
    ...COMMANDS.map((command) => `  ${synopsis(command).padEnd(width)}  ${command.summary}`),
    '',
    'options of every command but keygen:',
    ...optionLines({ ...STORE_OPTIONS, ...HELP_OPTION }),
    '',
    'environment:',
    ...aligned(ENVIRONMENT),
    '',
    'Secret values and master keys are never taken from the command line: stdin or environment.',
    'stdout carries only the result; notices, progress and errors go to stderr, errors as',
    'one line "nest-kms: <code>: <message>".',
    '',
    'exit codes:',
    ...aligned(EXIT_CODE_HELP.map(([code, meaning]) => [String(code), meaning])),
    '',
  ].join('\n');
}

/** `nest-kms <group> --help`: the group's commands. */
export function groupHelp(group: string): string {
  const commands = COMMANDS.filter((command) => command.path[0] === group);
  const width = Math.max(...commands.map((command) => synopsis(command).length));
  return [
    `usage: nest-kms ${group} <command> [options]`,
    '',
    ...commands.map((command) => `  ${synopsis(command).padEnd(width)}  ${command.summary}`),
    '',
  ].join('\n');
}

/** `nest-kms <command> --help`. */
export function commandHelp(command: CliCommand): string {
  const options = {
    ...command.options,
    ...(command.store ? STORE_OPTIONS : {}),
    ...HELP_OPTION,
  };
  return [
    `usage: nest-kms ${synopsis(command)}${Object.keys(options).length > 1 ? ' [options]' : ''}`,
    '',
    `${command.summary[0].toUpperCase()}${command.summary.slice(1)}.`,
    ...(command.details ?? []),
    '',
    'options:',
    ...optionLines(options),
    '',
  ].join('\n');
}

function synopsis(command: CliCommand): string {
  const operands = [
    ...(command.operands ?? []),
    ...(command.moreOperands ? [`[${command.moreOperands}...]`] : []),
  ];
  return [...command.path, ...operands].join(' ');
}

function optionLines(options: Readonly<Record<string, CliOption>>): string[] {
  return aligned(
    Object.entries(options).map(([name, option]) => [
      `${option.short ? `-${option.short}, ` : ''}--${name}${option.value ? ` ${option.value}` : ''}`,
      option.description,
    ]),
  );
}

function aligned(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}
