import { ConfigError } from './config.error.js';
import type { ConfigProblem } from '../interfaces/config-problem.interface.js';
import { MASK } from '../config.messages.js';

/**
 * The configuration was refused: every problem of every field, in one error, so one start-up
 * shows all there is to fix. No value appears in the message or in `problems`.
 */
export class ConfigValidationError extends ConfigError {
  readonly code = 'CONFIG_INVALID';
  constructor(
    /** The schema class's name. */
    readonly schema: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(describe(schema, problems));
  }
}

function describe(schema: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map((problem) => {
    const served = problem.kind === 'conversion' || problem.kind === 'validation';
    const value = served ? `, value ${MASK}` : '';
    const where = problem.key === null ? '' : ` (${problem.source} ${problem.key}${value})`;
    const reasons = Object.entries(problem.constraints)
      .map(([name, message]) => `${name}: ${message}`)
      .join('; ');
    return `  - ${problem.field}${where}: ${reasons}`;
  });
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return `Invalid configuration ${schema}, ${count}; the application was not started:\n${lines.join('\n')}`;
}
