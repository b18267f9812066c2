import type { AuditTrailProblem, AuditTrailVerification } from '@nest-kms/secrets';
import type { CliCommand } from '../cli-command.interface.js';
import { CliError, EXIT } from '../cli-errors.js';
import { flag, JSON_OPTION } from '../cli-options.js';

const auditVerify: CliCommand = {
  path: ['audit', 'verify'],
  summary: "recompute the audit trail's hash chain: exit 7 when a record was deleted or altered",
  details: [
    'Reads every sealed record (on a long trail this takes a while). Records written but not',
    'sealed yet are not part of the chain: they are counted, not verified (the application',
    'seals them every audit.sealIntervalMs). With --json the verification is printed as is.',
  ],
  options: JSON_OPTION,
  store: true,
  async run(context) {
    const { out } = context;
    const store = await context.store();
    const verification = await store.auditTrail.verify();
    if (flag(context, 'json')) out.json(verification);
    else printVerification(context.out, verification);
    if (!verification.intact) {
      throw new CliError(
        'AUDIT_TRAIL_BROKEN',
        `the audit trail's hash chain is broken: ${describeProblems(verification)}. Records were ` +
          'deleted, altered or cut in the database; compare with a backup of the audit table',
        EXIT.auditTrailBroken,
      );
    }
  },
};

function printVerification(
  out: Parameters<CliCommand['run']>[0]['out'],
  verification: AuditTrailVerification,
): void {
  const oldest = verification.oldestUnsealedAt;
  out.fields([
    ['audit trail', verification.intact ? 'intact' : 'BROKEN'],
    ['verified', `${verification.verifiedRecords} records (last position ${verification.lastSeq})`],
    ['problems', String(verification.problemCount)],
    [
      'unsealed',
      oldest === null
        ? `${verification.unsealedRecords} records`
        : `${verification.unsealedRecords} records (oldest ${new Date(oldest).toISOString()})`,
    ],
  ]);
  if (verification.problems.length === 0) return;
  out.line();
  out.table(
    ['PROBLEM', 'FROM', 'TO'],
    verification.problems.map((problem) => [
      problem.kind,
      String(problem.fromSeq),
      String(problem.toSeq),
    ]),
  );
  const unlisted = verification.problemCount - verification.problems.length;
  if (unlisted > 0) out.line(`(${unlisted} more not listed)`);
}

/** `2 problems: missing 4-4, altered 7-7`, at most the first five. */
function describeProblems(verification: AuditTrailVerification): string {
  const shown = verification.problems.slice(0, 5).map(positions).join(', ');
  const more = verification.problemCount > 5 ? ', ...' : '';
  const count = verification.problemCount;
  return `${count} ${count === 1 ? 'problem' : 'problems'} (${shown}${more})`;
}

function positions(problem: AuditTrailProblem): string {
  const range =
    problem.fromSeq === problem.toSeq
      ? `${problem.fromSeq}`
      : `${problem.fromSeq}-${problem.toSeq}`;
  return `${problem.kind} at ${range}`;
}

export const auditCommands: readonly CliCommand[] = [auditVerify];
