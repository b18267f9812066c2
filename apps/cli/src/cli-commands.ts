import type { CliCommand } from './cli-command.interface.js';
import { auditCommands } from './commands/audit.commands.js';
import { backupCommands } from './commands/backup.commands.js';
import { keygenCommand } from './commands/keygen.command.js';
import { keysCommands } from './commands/keys.commands.js';
import { secretsImportCommand } from './commands/secrets-import.command.js';
import { secretsCommands } from './commands/secrets.commands.js';
import { statusCommand } from './commands/status.command.js';
import { threatsCommands } from './commands/threats.commands.js';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly CliCommand[] = [
  keygenCommand,
  statusCommand,
  ...keysCommands,
  ...secretsCommands,
  secretsImportCommand,
  ...backupCommands,
  ...auditCommands,
  ...threatsCommands,
];

/** Words that only group commands (`keys`, `secrets`, `backup`, `audit`, `threats`). */
export const GROUPS: readonly string[] = [
  ...new Set(COMMANDS.filter((c) => c.path.length > 1).map((c) => c.path[0])),
];
