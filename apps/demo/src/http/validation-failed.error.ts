import { ApiError } from './api-error.js';

export interface FieldProblem {
  field: string;
  rules: string[];
}

/** How many problems an answer lists; a body with thousands of unknown keys gets a short one. */
export const MAX_LISTED_PROBLEMS = 10;

/**
 * 400 VALIDATION_FAILED naming the fields and rules (never the values sent): the first
 * MAX_LISTED_PROBLEMS, and how many more there were.
 */
export class ValidationFailedError extends ApiError {
  constructor(readonly problems: readonly FieldProblem[]) {
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS);
    const more = problems.length - listed.length;
    const rules = listed.flatMap((problem) => problem.rules).join('; ');
    super(
      400,
      'VALIDATION_FAILED',
      `Invalid request: ${rules}${more > 0 ? `; and ${more} more` : ''}`,
      more > 0 ? { problems: listed, moreProblems: more } : { problems: listed },
    );
  }
}
