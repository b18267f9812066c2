import type { FieldState } from '../config-state.js';
import type { ConfigProblem } from '../interfaces/config-problem.interface.js';
import type { FieldPlan } from '../schema/config-plan.js';
import { validateFields, type ValidatedField } from './config-validation.js';
import { resolveField, type SourceReaders } from './field-resolver.js';

export type ResolvedConfig =
  | { readonly ok: true; readonly fields: ReadonlyMap<string, FieldState> }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export type ResolvedField =
  | { readonly ok: true; readonly state: FieldState }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Resolves and validates: every field at start-up, or one field when its secret changes. */
export class ConfigResolver {
  constructor(
    private readonly schema: new () => object,
    private readonly plans: readonly FieldPlan[],
    private readonly readers: SourceReaders,
  ) {}

  /** All fields, then one validation of the whole object; every problem of every field. */
  async resolveAll(declarationProblems: readonly ConfigProblem[]): Promise<ResolvedConfig> {
    const now = new Date();
    const resolutions = await Promise.all(
      this.plans.map((plan) => resolveField(plan, this.readers, now)),
    );
    const problems: ConfigProblem[] = [...declarationProblems];
    const resolved = new Map<string, ValidatedField & { state: FieldState }>();
    resolutions.forEach((resolution, i) => {
      const plan = this.plans[i];
      if (!resolution.ok) problems.push(resolution.problem);
      else resolved.set(plan.field, this.validated(plan, resolution.state, resolution.raw));
    });
    // A field already refused is left out of validation: its class-validator complaints about
    // a missing value would only repeat the problem.
    const refused = new Set(problems.map((problem) => problem.field));
    const validation = await validateFields(this.schema, resolved);
    problems.push(...validation.filter((problem) => !refused.has(problem.field)));
    if (problems.length > 0) return { ok: false, problems: this.ordered(problems) };
    return { ok: true, fields: new Map([...resolved].map(([field, { state }]) => [field, state])) };
  }

  /** One field again, validated beside the current values of the others. */
  async resolveOne(
    plan: FieldPlan,
    current: ReadonlyMap<string, FieldState>,
  ): Promise<ResolvedField> {
    const resolution = await resolveField(plan, this.readers, new Date());
    if (!resolution.ok) return { ok: false, problems: [resolution.problem] };
    const fields = new Map<string, ValidatedField>();
    for (const other of this.plans) {
      const state = current.get(other.field);
      if (state) fields.set(other.field, this.validated(other, state, undefined));
    }
    fields.set(plan.field, this.validated(plan, resolution.state, resolution.raw));
    const problems = (await validateFields(this.schema, fields)).filter(
      (problem) => problem.field === plan.field,
    );
    return problems.length > 0 ? { ok: false, problems } : { ok: true, state: resolution.state };
  }

  private validated(
    plan: FieldPlan,
    state: FieldState,
    raw: unknown,
  ): ValidatedField & { state: FieldState } {
    return {
      state,
      value: state.value,
      raw,
      source: state.source,
      key: state.key,
      sensitive: plan.sensitive,
    };
  }

  /** Problems in the schema's field order. */
  private ordered(problems: ConfigProblem[]): ConfigProblem[] {
    const order = new Map(this.plans.map((plan, i) => [plan.field, i]));
    const rank = (problem: ConfigProblem) => order.get(problem.field) ?? -1;
    return problems
      .map((problem, i) => ({ problem, i }))
      .sort((a, b) => rank(a.problem) - rank(b.problem) || a.i - b.i)
      .map(({ problem }) => problem);
  }
}
