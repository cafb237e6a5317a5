/**
 * Validates each lab the catalog lists (src/shared/lab-catalog.ts) against the lab schema, so that a
 * broken lab fails at once with a message naming its file and field, e.g.
 * `labs/tolerations/lab.ts: steps[1].checks[0].id: Required`.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseLabDefinition, type LabDefinitionProblem } from '../../shared/lab-definition.ts';
import { REPO_ROOT } from '../paths.ts';
import { LAB_SCHEMA, type LabDefinition } from './define.ts';

/** Where the labs live. */
export const LABS_DIR = join(REPO_ROOT, 'labs');

/** A lab definition that does not validate: every problem, each naming the file and field. */
export class LabDefinitionError extends Error {
  readonly file: string;
  readonly problems: readonly LabDefinitionProblem[];

  constructor(file: string, problems: readonly LabDefinitionProblem[]) {
    super(problems.map((p) => `${file}: ${p.path}: ${p.message}`).join('\n'));
    this.name = 'LabDefinitionError';
    this.file = file;
    this.problems = problems;
  }
}

/** A validated lab with its folder and files. */
export interface LoadedLab {
  readonly definition: LabDefinition;
  /** Absolute folder, labs/<id>. */
  readonly dir: string;
  /** Files of start/, relative to it (what the editor opens). */
  readonly startFiles: readonly string[];
  /** Files of solution/, relative to it. */
  readonly solutionFiles: readonly string[];
  /** Each step's instructions (Markdown), from steps/<step-id>.md beside lab.ts, by step id. */
  readonly instructions: ReadonlyMap<string, string>;
}

/** Every file below `dir`, relative to it, sorted; none when the folder is missing. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current).sort()) {
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else found.push(relative(dir, path));
    }
  };
  walk(dir);
  return found;
}

/**
 * Validates one lab definition found in `dir` (labs/<folder>): the schema, then what the schema
 * cannot see: the id equals the folder name, setup files exist, start/ has files. Messages show
 * paths relative to `root` (the repository).
 */
export function validateLab(definition: unknown, dir: string, root: string = REPO_ROOT): LoadedLab {
  const file = relative(root, join(dir, 'lab.ts'));
  const parsed = parseLabDefinition(LAB_SCHEMA, definition);
  if (!parsed.ok) throw new LabDefinitionError(file, parsed.problems);
  const lab = parsed.lab;
  const folder = dir.split(/[\\/]/).at(-1);
  const more: LabDefinitionProblem[] = [];
  if (lab.id !== folder) more.push({ path: 'id', message: `"${lab.id}" must equal the folder name "${folder}"` });
  lab.setup.manifests.forEach((manifest, index) => {
    if (!existsSync(join(dir, manifest))) more.push({ path: `setup.manifests[${index}]`, message: `No file ${manifest} in ${relative(root, dir)}` });
  });
  const startFiles = listFiles(join(dir, 'start'));
  if (!startFiles.length) more.push({ path: 'start/', message: 'Add at least one start file (what the editor opens)' });
  const instructions = new Map<string, string>();
  lab.steps.forEach((step, index) => {
    const markdown = join(dir, 'steps', `${step.id}.md`);
    if (existsSync(markdown)) instructions.set(step.id, readFileSync(markdown, 'utf8').trim());
    else more.push({ path: `steps[${index}]`, message: `Write its instructions in ${relative(root, markdown)} (Markdown)` });
  });
  const stepIds = new Set(lab.steps.map((s) => s.id));
  for (const extra of listFiles(join(dir, 'steps')).filter((f) => !stepIds.has(f.replace(/\.md$/, '')))) {
    more.push({ path: `steps/${extra}`, message: `No step "${extra.replace(/\.md$/, '')}" in lab.ts; steps are ${[...stepIds].join(', ')}` });
  }
  if (more.length) throw new LabDefinitionError(file, more);
  return { definition: lab, dir, startFiles, solutionFiles: listFiles(join(dir, 'solution')), instructions };
}
