/**
 * The real labs: every folder under labs/ is registered, validates, points at a lesson that
 * exists, and the lessons' lab ids (src/components/lesson/lab-ids.ts) are exactly these labs.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabSummarySchema } from '../../src/shared/lab-summary.ts';
import { KNOWN_LAB_IDS } from '../../src/components/lesson/lab-ids.ts';
import { LAB_CATALOG } from '../../src/shared/lab-catalog.ts';
import { labSummary } from '../../src/server/labs/engine.ts';
import { LABS_DIR } from '../../src/server/labs/loader.ts';
import { allLabs, findLab, labIds } from '../../src/server/labs/registry.ts';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { UsageError } from '../../src/server/errors.ts';

const folders = readdirSync(LABS_DIR).filter((entry) => statSync(join(LABS_DIR, entry)).isDirectory()).sort();

describe('the labs', () => {
  it('lists every folder under labs/ in the catalog (src/shared/lab-catalog.ts)', () => {
    expect(LAB_CATALOG.map((l) => l.id).sort()).toEqual(folders);
  });

  it('are exactly the lab ids lessons may link to (lab-ids.ts), in the same order', () => {
    expect(labIds()).toEqual([...KNOWN_LAB_IDS]);
  });

  it('match the catalog the site reads: same ids, titles and lessons, in order', () => {
    expect([...allLabs().values()].map((l) => ({ id: l.definition.id, title: l.definition.title, lesson: l.definition.lessonSlug }))).toEqual(
      LAB_CATALOG.map((entry) => ({ ...entry })),
    );
  });

  it('all validate, with start files and a schema-valid summary', () => {
    for (const lab of allLabs().values()) {
      const summary = LabSummarySchema.parse(labSummary(lab));
      expect(summary.startFiles.length, lab.definition.id).toBeGreaterThan(0);
      expect(summary.steps.length, lab.definition.id).toBeGreaterThan(0);
    }
  });

  it('point at lessons that exist, and lessons point back at them', () => {
    for (const lab of allLabs().values()) {
      const slug = lab.definition.lessonSlug;
      expect(slug, lab.definition.id).toBeDefined();
      const lesson = join(REPO_ROOT, 'content', `${slug}.mdx`);
      expect(existsSync(lesson), lesson).toBe(true);
      expect(readFileSync(lesson, 'utf8')).toMatch(new RegExp(`^lab: ${lab.definition.id}$`, 'm'));
    }
  });

  it('give solution files the paths of the start files they solve', () => {
    for (const lab of allLabs().values()) {
      for (const file of lab.solutionFiles) expect(lab.startFiles, `${lab.definition.id}: solution/${file}`).toContain(file);
    }
  });

  it('answer an unknown id with the list of valid ones', () => {
    expect(() => findLab('first-deamonset')).toThrow(UsageError);
    expect(() => findLab('first-deamonset')).toThrow(`Unknown lab "first-deamonset". Valid labs: ${KNOWN_LAB_IDS.join(', ')}.`);
  });
});
