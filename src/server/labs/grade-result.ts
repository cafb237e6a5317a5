/**
 * What `lab grade` finds, as data: one entry per check of every graded lab, the score, and the
 * exit code. The JSON report (`--json`) is this schema; tests and tools read it back with zod.
 */
import { z } from 'zod';

/** Exit codes of `lab grade`: only `environment` is worth a retry. */
export const GRADE_EXIT_CODES = { pass: 0, fail: 1, invalid: 2, environment: 3 } as const;
export type GradeResult = keyof typeof GRADE_EXIT_CODES;

export const SubmissionLocationSchema = z
  .strictObject({
    file: z.string().describe('Relative to the submission folder, e.g. "tolerations/nginx-daemonset.yaml"'),
    line: z.number().int().min(1),
  })
  .describe('Where in the submission');

export const SubmissionProblemSchema = SubmissionLocationSchema.extend({
  field: z.string().optional().describe('The field at fault, e.g. "spec.template.spec.tolerations[0].effect"'),
  message: z.string(),
}).describe('Why a submission cannot be graded: a YAML error, a field the API server refuses, a failing command');

export const GradedCheckSchema = z
  .strictObject({
    step: z.string(),
    check: z.string(),
    /** "step/check": unique within a lab. */
    name: z.string(),
    title: z.string(),
    status: z
      .enum(['passed', 'failed', 'error', 'skipped'])
      .describe('failed: the cluster is not in the wanted state; error: not graded (invalid submission, engine failure); skipped: not gradable from files'),
    observed: z.string().describe('What the cluster showed (or why it was not graded)'),
    hint: z.string().optional(),
    /** For skipped: why it cannot be graded from files. */
    reason: z.string().optional(),
    weight: z.number(),
    points: z.number(),
    durationMs: z.number().describe('From the end of the submission\'s apply until the check reached its final status'),
    location: SubmissionLocationSchema.optional().describe('The submitted file and line of what the check judged'),
  })
  .describe('One check of one lab');
export type GradedCheck = z.infer<typeof GradedCheckSchema>;

export const CommandsRunSchema = z.strictObject({
  exitCode: z.number().int(),
  output: z.string(),
  failedLine: z.number().int().optional(),
  timedOut: z.boolean(),
  durationMs: z.number(),
});

export const LabGradeSchema = z
  .strictObject({
    labId: z.string(),
    title: z.string(),
    outcome: z
      .enum(['graded', 'missing', 'invalid', 'environment'])
      .describe('graded: checks ran; missing: no folder for the lab; invalid: the submission could not be applied; environment: the engine failed'),
    durationMs: z.number(),
    score: z.number(),
    maxScore: z.number(),
    problems: z.array(SubmissionProblemSchema),
    commands: CommandsRunSchema.optional(),
    environment: z.strictObject({ message: z.string(), fix: z.string() }).optional(),
    checks: z.array(GradedCheckSchema),
  })
  .describe('One lab of a submission');
export type LabGrade = z.infer<typeof LabGradeSchema>;

export const GradeReportSchema = z
  .strictObject({
    version: z.literal(1),
    submission: z.string().describe('The submission folder as given'),
    engine: z.string(),
    kubernetesVersion: z.string().describe('What the lab cluster\'s API server reports, e.g. v1.36.1'),
    startedAt: z.string(),
    durationMs: z.number(),
    score: z.number(),
    maxScore: z.number(),
    percent: z.number(),
    failUnder: z.number().optional(),
    counts: z.strictObject({ passed: z.number(), failed: z.number(), errors: z.number(), skipped: z.number() }),
    result: z.enum(['pass', 'fail', 'invalid', 'environment']),
    exitCode: z.number().int(),
    labs: z.array(LabGradeSchema),
  })
  .describe('The grade of a whole submission');
export type GradeReport = z.infer<typeof GradeReportSchema>;

/** The overall result: an engine failure first (retry), then an invalid submission, then the score. */
export function overallResult(labs: readonly LabGrade[], percent: number, failUnder: number | undefined): GradeResult {
  if (labs.some((l) => l.outcome === 'environment')) return 'environment';
  if (labs.some((l) => l.outcome === 'invalid')) return 'invalid';
  const allPass = labs.every((l) => l.checks.every((c) => c.status === 'passed' || c.status === 'skipped'));
  if (allPass) return 'pass';
  return failUnder !== undefined && percent >= failUnder ? 'pass' : 'fail';
}

/** Counts and score of graded labs, and the result with its exit code. */
export function summarize(labs: readonly LabGrade[], failUnder: number | undefined) {
  const checks = labs.flatMap((l) => l.checks);
  const score = labs.reduce((sum, l) => sum + l.score, 0);
  const maxScore = labs.reduce((sum, l) => sum + l.maxScore, 0);
  const percent = maxScore ? Math.round((score / maxScore) * 10_000) / 100 : 100;
  const result = overallResult(labs, percent, failUnder);
  const count = (status: GradedCheck['status']) => checks.filter((c) => c.status === status).length;
  return {
    score,
    maxScore,
    percent,
    counts: { passed: count('passed'), failed: count('failed'), errors: count('error'), skipped: count('skipped') },
    result,
    exitCode: GRADE_EXIT_CODES[result],
  };
}
