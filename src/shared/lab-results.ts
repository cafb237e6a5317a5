/**
 * What lab checks return, as JSON, to the command line, the browser and the test suite.
 * Browser-safe: zod only, no Node imports. The server produces these; the browser validates them.
 */
import { z } from 'zod';

/** pass: the learner's work is right. fail: not yet (a result, never an exception). */
export const CheckStatusSchema = z.enum(['pass', 'fail']).describe('Whether the cluster shows the learner got this right');

export const CheckResultSchema = z
  .strictObject({
    id: z.string().describe('Stable id of the check within its step, e.g. "one-pod-per-worker"'),
    title: z.string().describe('What the check wants, e.g. "One Ready pod on every worker"'),
    status: CheckStatusSchema,
    observed: z
      .string()
      .describe('What was observed in the cluster, naming the node or field at fault, e.g. "2 of 3 eligible nodes run a pod; daemonset-lab-worker3 has none: taint special=true:NoSchedule is not tolerated"'),
    hint: z.string().optional().describe('For a failing check: what to look at or try next'),
  })
  .describe('One check of one step');
export type CheckResult = z.infer<typeof CheckResultSchema>;

export const StepReportSchema = z.strictObject({
  id: z.string(),
  title: z.string(),
  passed: z.boolean().describe('Every check of the step passes'),
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
