/**
 * What the browser and the command line learn about a lab without running it, and the learner's
 * progress across labs. Browser-safe: zod only, no Node imports. The server produces these from
 * the lab definitions (labs/<id>/lab.ts) and the progress database; the browser validates them.
 */
import { z } from 'zod';

/** A lab id: lowercase words joined by dashes, the folder name under labs/. */
export const LabIdSchema = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'Use lowercase letters, digits and dashes, e.g. "first-daemonset"')
  .describe('The lab id, equal to its folder name under labs/');

export const LabStepSummarySchema = z
  .strictObject({
    id: z.string().describe('Stable id of the step within its lab, e.g. "tolerate"'),
    title: z.string().describe('What the step asks, in a few words'),
    instructions: z.string().describe('What to do, as Markdown'),
  })
  .describe('One step of a lab, as the learner sees it');
export type LabStepSummary = z.infer<typeof LabStepSummarySchema>;

export const LabSummarySchema = z
  .strictObject({
    id: LabIdSchema,
    title: z.string(),
    summary: z.string().describe('One or two sentences: what the learner does and learns'),
    lessonSlug: z.string().optional().describe('The lesson that introduces this lab, e.g. "taints-and-tolerations"'),
    needsNodeChanges: z.boolean().describe('Some steps add or remove nodes, which only the embedded engine can do'),
    steps: z.array(LabStepSummarySchema),
    startFiles: z.array(z.string()).describe('Files the editor opens, relative to the lab workspace'),
  })
  .describe('A lab, as listed to the learner');
export type LabSummary = z.infer<typeof LabSummarySchema>;

export const StepProgressSchema = z.strictObject({
  stepId: z.string(),
  passedAt: z.string().describe('ISO time the step first passed after the latest start'),
});
export type StepProgress = z.infer<typeof StepProgressSchema>;

export const LabProgressSchema = z
  .strictObject({
    labId: z.string(),
    startedAt: z.string().describe('ISO time of the latest start'),
    completedAt: z.string().optional().describe('ISO time every step had passed, after the latest start'),
    timesStarted: z.number().int(),
    passedSteps: z.array(StepProgressSchema),
  })
  .describe("One lab's progress since its latest start");
export type LabProgress = z.infer<typeof LabProgressSchema>;

export const ProgressSnapshotSchema = z
  .strictObject({
    exportedAt: z.string(),
    labs: z.array(LabProgressSchema).describe('Labs that were started at least once'),
  })
  .describe("The learner's progress, as kept in the progress database");
export type ProgressSnapshot = z.infer<typeof ProgressSnapshotSchema>;
