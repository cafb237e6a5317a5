/**
 * What lab checks return, as JSON, to the command line, the browser and the test suite.
 * Browser-safe: zod only, no Node imports. The server produces these; the browser validates them.
 */
import { z } from 'zod';

/**
 * pass: the learner's work is right. fail: not yet (a result, never an exception).
 * not-applicable: this engine cannot show it (e.g. adding nodes on kind); shown as such, and never
 * counted as passed: its step is not done, and exports list it as skipped.
 */
export const CheckStatusSchema = z
  .enum(['pass', 'fail', 'not-applicable'])
  .describe('Whether the cluster shows the learner got this right, or that this engine cannot show it');
export type CheckStatus = z.infer<typeof CheckStatusSchema>;

/**
 * One cause behind a check's verdict, as data, so that the browser and tests never split our prose
 * apart again. `node` names the node it concerns, when there is one.
 */
export const CheckReasonSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('taint-not-tolerated'),
    node: z.string(),
    taint: z.string().describe('As kubectl prints it: key=value:Effect'),
    why: z.string().describe('The near miss: the toleration that almost matches and how it differs, or that none has the key'),
  }),
  z.strictObject({
    kind: z.literal('taint-removed'),
    node: z.string(),
    taint: z.string().describe('The taint the lab put on the node, which is gone'),
  }),
  z.strictObject({
    kind: z.literal('selector-mismatch'),
    node: z.string(),
    selector: z.string().describe('The nodeSelector or node affinity the node does not satisfy'),
  }),
  z.strictObject({
    kind: z.literal('resources'),
    node: z.string().optional(),
    resource: z.string().describe('cpu or memory'),
    requested: z.string(),
    available: z.string(),
  }),
  z.strictObject({
    kind: z.literal('pod-state'),
    node: z.string(),
    pod: z.string().optional(),
    state: z.string().describe('e.g. ImagePullBackOff, CrashLoopBackOff, Pending, missing'),
  }),
]);
export type CheckReason = z.infer<typeof CheckReasonSchema>;

export const CheckResultSchema = z
  .strictObject({
    id: z.string().describe('Stable id of the check within its step, e.g. "one-pod-per-worker"'),
    title: z.string().describe('What the check wants, e.g. "One Ready pod on every worker"'),
    status: CheckStatusSchema,
    observed: z
      .string()
      .describe('What was observed in the cluster, naming the node or field at fault, e.g. "2 of 3 eligible nodes run a pod; daemonset-lab-worker3 has none: taint special=true:NoSchedule is not tolerated"'),
    hint: z.string().optional().describe('For a failing check: what to look at or try next'),
    reasons: z.array(CheckReasonSchema).optional().describe('The causes behind `observed`, as data (which node, taint, selector, resource)'),
  })
  .describe('One check of one step');
export type CheckResult = z.infer<typeof CheckResultSchema>;

export const StepReportSchema = z.strictObject({
  id: z.string(),
  title: z.string(),
  passed: z.boolean().describe('Every check of the step passes (a not-applicable check does not)'),
  checks: z.array(CheckResultSchema),
});
export type StepReport = z.infer<typeof StepReportSchema>;

export const EnvironmentProblemSchema = z
  .strictObject({
    message: z.string().describe('What is wrong with the environment, e.g. "The lab cluster does not answer"'),
    fix: z.string().describe('The command or action that fixes it, e.g. "npm run cluster -- up"'),
  })
  .describe('A broken environment: no checks could run');
export type EnvironmentProblem = z.infer<typeof EnvironmentProblemSchema>;

export const LabReportSchema = z.strictObject({
  labId: z.string(),
  checkedAt: z.string().describe('ISO time of the check'),
  durationMs: z.number(),
  passed: z.boolean().describe('Every check of every step passes'),
  steps: z.array(StepReportSchema),
  environment: EnvironmentProblemSchema.optional().describe('Set when the checks could not run at all'),
});
export type LabReport = z.infer<typeof LabReportSchema>;
