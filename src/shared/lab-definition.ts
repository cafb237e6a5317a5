/**
 * The schema every lab definition (labs/<id>/lab.ts) is validated against when labs load, so that
 * a broken lab fails with a message naming its file and field instead of misbehaving later.
 * It is the single source of the lab types: src/server/labs/define.ts instantiates it with the
 * precise function signatures (checks, solutions, trials) and takes its types with z.infer.
 * Browser-safe: zod only; functions are checked to be functions here.
 */
import { z } from 'zod';
import { LabIdSchema } from './lab-summary.ts';

/** Any function; define.ts narrows it to the real signatures. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (...args: any[]) => unknown;

const isFunction = (value: unknown) => typeof value === 'function';
/** A function field whose signature is `F`. */
const fn = <F extends AnyFunction>(what: string) => z.custom<F>(isFunction, { error: 'Expected a function' }).describe(what);

const idSchema = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'Use lowercase letters, digits and dashes')
  .describe('A stable id: lowercase words joined by dashes');

/** A path inside the lab folder, e.g. "setup/broken.yaml": relative, no "..". */
const labPathSchema = z
  .string()
  .regex(/^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$)).+$/, 'Use a path relative to the lab folder, without ".."')
  .describe('A path relative to the lab folder');

export const TaintSchema = z
  .strictObject({
    key: z.string().min(1),
    value: z.string().optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
  })
  .describe('A node taint, as in `kubectl taint nodes NODE key=value:Effect`');

export const NodeSetupSchema = z
  .strictObject({
    node: z.string().min(1).describe('A node of the lab topology, e.g. "daemonset-lab-worker3"'),
    labels: z.record(z.string(), z.string()).optional().describe('Labels the lab adds to the node'),
    taints: z.array(TaintSchema).optional().describe('Taints the lab adds to the node'),
  })
  .describe('What lab setup changes on one node; reset restores the baseline');

/**
 * The lab schema for checks of type `Check` and actions (solutions, trial acts) of type `Act`.
 * The server instantiates it with its real signatures (define.ts); validation needs none.
 */
export function labDefinitionSchema<Check extends AnyFunction, Act extends AnyFunction>() {
  const LabCheckSchema = z
    .strictObject({
      id: idSchema,
      title: z.string().min(1).describe('What the check wants, e.g. "A pod on every worker"'),
      weight: z.number().int().positive().default(1).describe('How much the check counts when graded (default 1)'),
      run: fn<Check>('Reads the cluster snapshot and returns { status, observed, hint, reasons }'),
    })
    .describe('One check: judges live cluster state, never the text of a file');

  const LabStepSchema = z
    .strictObject({
      id: idSchema,
      title: z.string().min(1),
      sticky: z
        .boolean()
        .optional()
        .describe('Once passed (since the latest start), stays passed: for steps whose evidence a later step removes, like adding then removing a node'),
      checks: z.array(LabCheckSchema).min(1),
      solve: fn<Act>('Applies the reference solution of this step through the API'),
    })
    .describe('One step of a lab');

  const WrongTrialSchema = z
    .strictObject({
      kind: z.literal('wrong'),
      title: z.string().min(1).describe('The plausible mistake, e.g. "toleration with effect NoExecute"'),
      act: fn<Act>('Makes the mistake on a freshly started lab'),
      failingCheck: z.string().regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, 'Write it as "step-id/check-id"').describe('The check that must fail'),
      hintIncludes: z.string().min(1).describe("Text the failing check's hint must contain"),
    })
    .describe('A plausible wrong attempt that must fail the right check with the right hint');

  const CorrectTrialSchema = z
    .strictObject({
      kind: z.literal('correct'),
      title: z.string().min(1).describe('The alternative solution, e.g. "toleration with operator Exists"'),
      act: fn<Act>('Applies the alternative solution on a freshly started lab'),
      passingSteps: z.array(idSchema).min(1).describe('Steps whose checks must all pass afterwards'),
    })
    .describe('An alternative correct solution that must pass');

  return z
    .strictObject({
      id: LabIdSchema,
      title: z.string().min(1),
      summary: z.string().min(1),
      lessonSlug: z.string().optional().describe('The lesson (content/<slug>.mdx) that introduces this lab'),
      needsNodeChanges: z.boolean().optional().describe('Some steps add or remove nodes'),
      setup: z
        .strictObject({
          manifests: z.array(labPathSchema).describe('YAML files applied at start, in order'),
          nodes: z.array(NodeSetupSchema).optional(),
        })
        .describe('What start applies on top of the baseline cluster'),
      steps: z.array(LabStepSchema).min(1),
      trials: z
        .array(z.discriminatedUnion('kind', [WrongTrialSchema, CorrectTrialSchema]))
        .min(2)
        .describe('Wrong attempts and alternative solutions that verify-all proves against a real cluster'),
    })
    .superRefine(crossReferences)
    .describe('A lab: setup, steps with checks and solutions, and the trials that prove the checks');
}

/** What the cross-reference rules read of a lab. */
interface LabShape {
  steps: Array<{ id: string; checks: Array<{ id: string }> }>;
  trials: Array<{ kind: 'wrong'; failingCheck: string } | { kind: 'correct'; passingSteps: string[] }>;
}

/** What a field-by-field schema cannot see: unique ids, trials naming checks and steps that exist. */
function crossReferences(lab: LabShape, context: z.RefinementCtx): void {

  const stepIds = new Set<string>();
  lab.steps.forEach((step, index) => {
    if (stepIds.has(step.id)) context.addIssue({ code: 'custom', path: ['steps', index, 'id'], message: `Duplicate step id "${step.id}"` });
    stepIds.add(step.id);
    const checkIds = new Set<string>();
    step.checks.forEach((check, checkIndex) => {
      if (checkIds.has(check.id)) {
        context.addIssue({ code: 'custom', path: ['steps', index, 'checks', checkIndex, 'id'], message: `Duplicate check id "${check.id}"` });
      }
      checkIds.add(check.id);
    });
  });
  const checkKeys = new Set(lab.steps.flatMap((s) => s.checks.map((c) => `${s.id}/${c.id}`)));
  lab.trials.forEach((trial, index) => {
    if (trial.kind === 'wrong' && !checkKeys.has(trial.failingCheck)) {
      context.addIssue({
        code: 'custom',
        path: ['trials', index, 'failingCheck'],
        message: `No check "${trial.failingCheck}"; checks are ${[...checkKeys].join(', ')}`,
      });
    }
    if (trial.kind === 'correct') {
      trial.passingSteps.forEach((stepId, stepIndex) => {
        if (!stepIds.has(stepId)) {
          context.addIssue({ code: 'custom', path: ['trials', index, 'passingSteps', stepIndex], message: `No step "${stepId}"; steps are ${[...stepIds].join(', ')}` });
        }
      });
    }
  });
  if (!lab.trials.some((t) => t.kind === 'wrong')) context.addIssue({ code: 'custom', path: ['trials'], message: 'Add at least one wrong attempt (kind: "wrong")' });
  if (!lab.trials.some((t) => t.kind === 'correct')) context.addIssue({ code: 'custom', path: ['trials'], message: 'Add at least one alternative solution (kind: "correct")' });
}

/** The schema with plain function types, for validation without the server's types. */
export const LabDefinitionSchema = labDefinitionSchema<AnyFunction, AnyFunction>();

/** One problem of a lab definition: where, and what. */
export interface LabDefinitionProblem {
  /** The field, e.g. "steps[1].checks[0].id". */
  readonly path: string;
  readonly message: string;
}

/** Formats a zod path the way authors write it: steps[1].checks[0].id. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text ? `.${String(part)}` : String(part);
  }
  return text || '(the exported definition)';
}

/** Error messages in plain words: "Required", "Expected a function", "Expected string, received number". */
const plainWords: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'Required';
  if (issue.code === 'invalid_type') {
    const received = issue.input === null ? 'null' : Array.isArray(issue.input) ? 'array' : typeof issue.input;
    return `Expected ${issue.expected}, received ${received}`;
  }
  return undefined;
};

/** The outcome of {@link parseLabDefinition}: the parsed lab (defaults filled in), or its problems. */
export type LabParseResult<T> = { readonly ok: true; readonly lab: T } | { readonly ok: false; readonly problems: LabDefinitionProblem[] };

/** Validates a lab definition against `schema` (one of {@link labDefinitionSchema}). */
export function parseLabDefinition<S extends z.ZodType>(schema: S, definition: unknown): LabParseResult<z.output<S>> {
  const result = schema.safeParse(definition, { error: plainWords });
  if (result.success) return { ok: true, lab: result.data };
  const problems = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'Unknown field' }));
    }
    return [{ path: formatPath(issue.path), message: issue.message }];
  });
  return { ok: false, problems };
}

/**
 * Validates a lab definition. Returns its problems in plain words ("Required", "Expected a
 * function", "Unknown field"), an empty list when it is valid.
 */
export function labDefinitionProblems(definition: unknown): LabDefinitionProblem[] {
  const result = parseLabDefinition(LabDefinitionSchema, definition);
  return result.ok ? [] : result.problems;
}
