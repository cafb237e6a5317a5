/**
 * The schema every lab definition (labs/<id>/lab.ts) is validated against when labs load, so that
 * a broken lab fails with a message naming its file and field instead of misbehaving later.
 * Browser-safe: zod only. Functions (checks, solutions, trials) are only checked to be functions
 * here; their precise types live in src/server/labs/define.ts, where authors get them.
 */
import { z } from 'zod';
import { LabIdSchema } from './lab-summary.ts';

const isFunction = (value: unknown) => typeof value === 'function';
/** A function field; its signature is typed by defineLab, not here. */
const fn = (what: string) =>
  z.custom<(...args: never[]) => unknown>(isFunction, { error: 'Expected a function' }).describe(what);

const idSchema = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'Use lowercase letters, digits and dashes')
  .describe('A stable id: lowercase words joined by dashes');

/** A path inside the lab folder, e.g. "setup/broken.yaml": relative, no "..". */
const labPathSchema = z
  .string()
  .regex(/^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$)).+$/, 'Use a path relative to the lab folder, without ".."')
  .describe('A path relative to the lab folder');

/** Why `lab grade` cannot judge a step or check from submitted files: reported as skipped with this reason. */
const notGradableSchema = z
  .string()
  .min(1, 'Say why it cannot be graded from files, e.g. "the learner adds a node and checks while it is there"')
  .describe('Why `lab grade` cannot judge this from submitted files (it needs the learner to do or watch something live)');

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

export const LabCheckSchema = z
  .strictObject({
    id: idSchema,
    title: z.string().min(1).describe('What the check wants, e.g. "A pod on every worker"'),
    run: fn('Reads the cluster snapshot and returns { status, observed, hint }'),
    weight: z.number().positive().finite().optional().describe('Points this check is worth when `lab grade` judges a submission; default 1'),
    notGradableFromFiles: notGradableSchema.optional(),
  })
  .describe('One check: judges live cluster state, never the text of a file');

export const LabStepSchema = z
  .strictObject({
    id: idSchema,
    title: z.string().min(1),
    instructions: z.string().min(1).describe('What to do, as Markdown'),
    sticky: z
      .boolean()
      .optional()
      .describe('Once passed (since the latest start), stays passed: for steps whose evidence a later step removes, like adding then removing a node'),
    checks: z.array(LabCheckSchema).min(1),
    notGradableFromFiles: notGradableSchema.optional(),
    solve: fn('Applies the reference solution of this step through the API'),
  })
  .describe('One step of a lab');

const WrongTrialSchema = z
  .strictObject({
    kind: z.literal('wrong'),
    title: z.string().min(1).describe('The plausible mistake, e.g. "toleration with effect NoExecute"'),
    act: fn('Makes the mistake on a freshly started lab'),
    failingCheck: z.string().regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, 'Write it as "step-id/check-id"').describe('The check that must fail'),
    hintIncludes: z.string().min(1).describe('Text the failing check\'s hint must contain'),
  })
  .describe('A plausible wrong attempt that must fail the right check with the right hint');

const CorrectTrialSchema = z
  .strictObject({
    kind: z.literal('correct'),
    title: z.string().min(1).describe('The alternative solution, e.g. "toleration with operator Exists"'),
    act: fn('Applies the alternative solution on a freshly started lab'),
    passingSteps: z.array(idSchema).min(1).describe('Steps whose checks must all pass afterwards'),
  })
  .describe('An alternative correct solution that must pass');

export const LabTrialSchema = z.discriminatedUnion('kind', [WrongTrialSchema, CorrectTrialSchema]);

export const LabDefinitionSchema = z
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
      .array(LabTrialSchema)
      .min(2)
      .describe('Wrong attempts and alternative solutions that verify-all proves against a real cluster'),
  })
  .superRefine((lab, context) => {
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
  })
  .describe('A lab: setup, steps with checks and solutions, and the trials that prove the checks');

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

/**
 * Validates a lab definition. Returns its problems in plain words ("Required", "Expected a
 * function", "Unknown field \"hnt\""), an empty list when it is valid.
 */
export function labDefinitionProblems(definition: unknown): LabDefinitionProblem[] {
  const result = LabDefinitionSchema.safeParse(definition, {
    error: (issue) => {
      if (issue.code === 'invalid_type' && issue.input === undefined) return 'Required';
      if (issue.code === 'invalid_type') {
        const received = issue.input === null ? 'null' : Array.isArray(issue.input) ? 'array' : typeof issue.input;
        return `Expected ${issue.expected}, received ${received}`;
      }
      return undefined;
    },
  });
  if (result.success) return [];
  return result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'Unknown field' }));
    }
    return [{ path: formatPath(issue.path), message: issue.message }];
  });
}
