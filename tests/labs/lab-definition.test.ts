/**
 * The lab schema: a valid definition passes; each broken one fails with a message that names the
 * file and the field, pinned by snapshots so the wording stays friendly.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labDefinitionProblems } from '../../src/shared/lab-definition.ts';
import { LabDefinitionError, validateLab } from '../../src/server/labs/loader.ts';
import { brokenLab, validLab } from './fixtures/labs.ts';

/** A repository-like folder with labs/<id>/start/, so messages show labs/<id>/lab.ts. */
function labFolder(id: string, withStartFile = true): { root: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), 'lab-schema-'));
  const dir = join(root, 'labs', id);
  mkdirSync(join(dir, 'start'), { recursive: true });
  if (withStartFile) writeFileSync(join(dir, 'start', 'file.yaml'), 'kind: DaemonSet\n');
  mkdirSync(join(dir, 'steps'));
  for (const step of ['first', 'second']) writeFileSync(join(dir, 'steps', `${step}.md`), `Do the ${step} thing:\n\n\`\`\`bash\nkubectl get pods\n\`\`\`\n`);
  return { root, dir };
}

/** The error text validateLab gives for a definition in labs/<id>/. */
function errorText(definition: unknown, id = 'valid-lab', withStartFile = true): string {
  const { root, dir } = labFolder(id, withStartFile);
  try {
    validateLab(definition, dir, root);
  } catch (error) {
    expect(error).toBeInstanceOf(LabDefinitionError);
    return (error as Error).message;
  }
  throw new Error('expected the lab to be rejected');
}

describe('lab definition schema', () => {
  it('accepts a valid lab', () => {
    expect(labDefinitionProblems(validLab)).toEqual([]);
    const { root, dir } = labFolder('valid-lab');
    const lab = validateLab(validLab, dir, root);
    expect(lab.startFiles).toEqual(['file.yaml']);
  });

  it('names the file and field of a missing check id', () => {
    const text = errorText(brokenLab((lab) => delete (lab.steps[1]!.checks as Array<Record<string, unknown>>)[0]!.id));
    expect(text).toMatchInlineSnapshot(`"labs/valid-lab/lab.ts: steps[1].checks[0].id: Required"`);
  });

  it('rejects unknown fields, naming them', () => {
    const text = errorText(brokenLab((lab) => ((lab.steps[0]!.checks as Array<Record<string, unknown>>)[0]!.hnt = 'typo')));
    expect(text).toMatchInlineSnapshot(`"labs/valid-lab/lab.ts: steps[0].checks[0].hnt: Unknown field"`);
  });

  it('says a check must be a function', () => {
    const text = errorText(brokenLab((lab) => ((lab.steps[0]!.checks as Array<Record<string, unknown>>)[0]!.run = 'daemonSetCoverage')));
    expect(text).toMatchInlineSnapshot(`"labs/valid-lab/lab.ts: steps[0].checks[0].run: Expected a function"`);
  });

  it('rejects duplicate step ids and trials that name unknown checks or steps', () => {
    const text = errorText(
      brokenLab((lab) => {
        lab.steps[1]!.id = 'first';
        lab.trials[0]!.failingCheck = 'first/missing';
        lab.trials[1]!.passingSteps = ['third'];
      }),
    );
    expect(text).toMatchInlineSnapshot(`
      "labs/valid-lab/lab.ts: steps[1].id: Duplicate step id "first"
      labs/valid-lab/lab.ts: trials[0].failingCheck: No check "first/missing"; checks are first/done, first/more
      labs/valid-lab/lab.ts: trials[1].passingSteps[0]: No step "third"; steps are first"
    `);
  });

  it('wants a wrong attempt and an alternative solution', () => {
    const text = errorText(brokenLab((lab) => (lab.trials = [lab.trials[1]!, lab.trials[1]!])));
    expect(text).toMatchInlineSnapshot(`"labs/valid-lab/lab.ts: trials: Add at least one wrong attempt (kind: "wrong")"`);
  });

  it('rejects bad ids, taint effects and paths', () => {
    const text = errorText(
      brokenLab((lab) => {
        lab.id = 'Valid Lab';
        lab.setup = { manifests: ['../outside.yaml'], nodes: [{ node: 'daemonset-lab-worker', taints: [{ key: 'special', effect: 'NoScheduled' }] }] };
      }),
    );
    expect(text).toMatchInlineSnapshot(`
      "labs/valid-lab/lab.ts: id: Use lowercase letters, digits and dashes, e.g. "first-daemonset"
      labs/valid-lab/lab.ts: setup.manifests[0]: Use a path relative to the lab folder, without ".."
      labs/valid-lab/lab.ts: setup.nodes[0].taints[0].effect: Invalid option: expected one of "NoSchedule"|"PreferNoSchedule"|"NoExecute""
    `);
  });

  it('checks what the schema cannot see: folder name, setup files, start files', () => {
    const text = errorText(brokenLab((lab) => (lab.setup = { manifests: ['setup/missing.yaml'] })), 'other-folder', false);
    expect(text).toMatchInlineSnapshot(`
      "labs/other-folder/lab.ts: id: "valid-lab" must equal the folder name "other-folder"
      labs/other-folder/lab.ts: setup.manifests[0]: No file setup/missing.yaml in labs/other-folder
      labs/other-folder/lab.ts: start/: Add at least one start file (what the editor opens)"
    `);
  });

  it('reads each step\'s instructions from steps/<step-id>.md, and names a missing or stray file', () => {
    const { root, dir } = labFolder('valid-lab');
    expect(validateLab(validLab, dir, root).instructions.get('first')).toBe('Do the first thing:\n\n```bash\nkubectl get pods\n```');
    rmSync(join(dir, 'steps', 'second.md'));
    writeFileSync(join(dir, 'steps', 'thrid.md'), 'typo\n');
    expect(() => validateLab(validLab, dir, root)).toThrow(
      'labs/valid-lab/lab.ts: steps[1]: Write its instructions in labs/valid-lab/steps/second.md (Markdown)\nlabs/valid-lab/lab.ts: steps/thrid.md: No step "thrid" in lab.ts; steps are first, second',
    );
  });

  it('gives every check a weight of 1 unless the author sets one, and refuses a weight of 0', () => {
    const { root, dir } = labFolder('valid-lab');
    const lab = validateLab(validLab, dir, root);
    expect(lab.definition.steps.flatMap((s) => s.checks.map((c) => c.weight))).toSatisfy((weights: number[]) => weights.length > 0 && weights.every((w) => w === 1));
    const text = errorText(brokenLab((broken) => ((broken.steps[0]!.checks as Array<Record<string, unknown>>)[0]!.weight = 0)));
    expect(text).toContain('labs/valid-lab/lab.ts: steps[0].checks[0].weight:');
  });
});
