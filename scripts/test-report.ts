/**
 * Reads vitest's JSON report for `npm test` and judges the run as a whole: every test project
 * (each tests/<project>/vitest.config.ts) ran tests, and no project ran fewer tests than in the
 * previous full run. A renamed or broken project config would otherwise drop a whole project
 * while the closing line still said "N passed".
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';

/** The parts of vitest's JSON report read here. */
export const VitestReportSchema = z.object({
  numPassedTests: z.number(),
  numFailedTests: z.number(),
  numPendingTests: z.number().default(0),
  testResults: z.array(z.object({ name: z.string(), assertionResults: z.array(z.object({ status: z.string() })) })),
});
export type VitestReport = z.infer<typeof VitestReportSchema>;

/** One report from the reports of several vitest runs (the phases of a full run). */
export function mergeReports(reports: readonly VitestReport[]): VitestReport {
  return {
    numPassedTests: reports.reduce((sum, report) => sum + report.numPassedTests, 0),
    numFailedTests: reports.reduce((sum, report) => sum + report.numFailedTests, 0),
    numPendingTests: reports.reduce((sum, report) => sum + report.numPendingTests, 0),
    testResults: reports.flatMap((report) => report.testResults),
  };
}

/** Tests per project, as kept between full runs. */
export const ProjectCountsSchema = z.record(z.string(), z.number().int().min(0));
export type ProjectCounts = z.infer<typeof ProjectCountsSchema>;

/** The test projects: folders under tests/ with a vitest.config.ts. */
export function testProjects(repoRoot: string): string[] {
  const testsDir = join(repoRoot, 'tests');
  return readdirSync(testsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(testsDir, entry.name, 'vitest.config.ts')))
    .map((entry) => entry.name)
    .sort();
}

/** How many tests of each project ran (passed or failed), by the test files' folders. */
export function countsByProject(report: VitestReport, repoRoot: string): ProjectCounts {
  const counts: ProjectCounts = {};
  for (const file of report.testResults) {
    const [top, project] = relative(repoRoot, file.name).split(sep);
    if (top !== 'tests' || !project) continue;
    counts[project] = (counts[project] ?? 0) + file.assertionResults.filter((a) => a.status === 'passed' || a.status === 'failed').length;
  }
  return counts;
}

/** What is wrong with a full run: projects that ran nothing, and projects that ran fewer tests than before. */
export function runProblems(projects: readonly string[], counts: ProjectCounts, previous: ProjectCounts | undefined): string[] {
  const problems: string[] = [];
  for (const project of projects) {
    const ran = counts[project] ?? 0;
    if (ran === 0) problems.push(`project ${project} ran no tests (is tests/${project}/vitest.config.ts still picked up by vitest.config.ts?)`);
    else if (previous?.[project] !== undefined && ran < previous[project]) {
      problems.push(`project ${project} ran ${ran} tests, fewer than the ${previous[project]} of the previous full run`);
    }
  }
  return problems;
}

/** Reads a JSON file with a schema; undefined when missing or not valid. */
export function readJson<T>(file: string, schema: z.ZodType<T>): T | undefined {
  if (!existsSync(file)) return undefined;
  const parsed = schema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}
