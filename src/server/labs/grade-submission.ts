/**
 * Reading a submission for `lab grade`: the folder `<path>/<lab-id>/` holds manifests (`*.yaml`,
 * `*.yml`, `*.json`, applied in name order as `kubectl apply -f <folder>` does) and optionally
 * `commands.sh`. Every object keeps where it came from (file and line) so that a problem the API
 * server finds later can name the file, line and field.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { LineCounter, isMap, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';

/** The script of node operations a submission may carry. */
export const COMMANDS_FILE = 'commands.sh';

/** Manifest file names `lab grade` applies (others are ignored, as kubectl ignores them). */
const MANIFEST_PATTERN = /\.(ya?ml|json)$/i;

/** Where something is in a submission: the file relative to the submission root, and a 1-based line. */
export interface SubmissionLocation {
  readonly file: string;
  readonly line: number;
}

/** A problem with a submission: what is wrong, where, and (when known) in which field. */
export interface SubmissionProblem extends SubmissionLocation {
  /** The field at fault, e.g. "spec.template.spec.containers[0].image". */
  readonly field?: string;
  readonly message: string;
}

/** One object of a manifest file, with where it starts and how to find the line of a field. */
export interface SubmittedObject {
  readonly object: KubernetesObject;
  readonly location: SubmissionLocation;
  /** The line of a field path such as "spec.template.spec.tolerations[0].effect" (or of its nearest written parent). */
  lineOf(field: string): number;
}

/** One manifest file with its objects. */
export interface SubmittedFile {
  /** Relative to the submission root, e.g. "tolerations/nginx-daemonset.yaml". */
  readonly path: string;
  readonly text: string;
  readonly objects: readonly SubmittedObject[];
}

/** What a lab's folder holds. */
export interface LabSubmission {
  readonly labId: string;
  /** Absolute folder of the lab's submission. */
  readonly dir: string;
  readonly files: readonly SubmittedFile[];
  /** Relative path of commands.sh when present. */
  readonly commands?: string;
  readonly problems: readonly SubmissionProblem[];
}

/** Splits "a.b[0].c" (or ".a.b[0].c") into ["a", "b", 0, "c"]. */
export function fieldPath(field: string): Array<string | number> {
  const parts: Array<string | number> = [];
  for (const match of field.replace(/^\./, '').matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (match[2] !== undefined) parts.push(Number(match[2]));
    else parts.push(match[1]!);
  }
  return parts;
}

/** The start offset of the deepest node of `path` that the document writes (a key when it can). */
function offsetOf(document: Document, path: ReadonlyArray<string | number>): number {
  let node: Node | null | undefined = document.contents as Node | null;
  let offset = node?.range?.[0] ?? 0;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === part);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof part === 'number' && node.items[part]) {
      node = node.items[part] as Node;
      offset = node.range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

/** What a manifest object must have for `kubectl apply`; the missing field, or undefined. */
function missingField(value: Record<string, unknown>): string | undefined {
  if (typeof value.apiVersion !== 'string' || !value.apiVersion) return 'apiVersion';
  if (typeof value.kind !== 'string' || !value.kind) return 'kind';
  const metadata = value.metadata as { name?: unknown; generateName?: unknown } | undefined;
  if (typeof metadata?.name !== 'string' || !metadata.name) return 'metadata.name';
  return undefined;
}

/** Parses one manifest file into objects, or the problems that stop it (each with file, line and field). */
export function parseSubmittedFile(path: string, text: string): { file: SubmittedFile; problems: SubmissionProblem[] } {
  const counter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter: counter, prettyErrors: false });
  const lineAt = (offset: number) => counter.linePos(offset).line;
  const problems: SubmissionProblem[] = [];
  const objects: SubmittedObject[] = [];
  for (const document of Array.isArray(documents) ? documents : [documents]) {
    const error = document.errors[0];
    if (error) {
      problems.push({ file: path, line: lineAt(error.pos[0]), message: `not valid YAML: ${error.message.split('\n')[0]}` });
      continue;
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    const start = lineAt(offsetOf(document, []));
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ file: path, line: start, message: 'a manifest document must be an object with apiVersion, kind and metadata.name' });
      continue;
    }
    const lineOf = (field: string) => lineAt(offsetOf(document, fieldPath(field)));
    const missing = missingField(value as Record<string, unknown>);
    if (missing) {
      problems.push({ file: path, line: lineOf(missing), field: missing, message: `${missing} is missing: every object needs apiVersion, kind and metadata.name` });
      continue;
    }
    objects.push({ object: value as KubernetesObject, location: { file: path, line: start }, lineOf });
  }
  return { file: { path, text, objects }, problems };
}

/** Reads `<root>/<labId>/`: its manifests in name order and commands.sh. A missing folder gives undefined. */
export function readLabSubmission(root: string, labId: string): LabSubmission | undefined {
  const dir = join(root, labId);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  const names = readdirSync(dir).sort();
  const files: SubmittedFile[] = [];
  const problems: SubmissionProblem[] = [];
  for (const name of names.filter((n) => MANIFEST_PATTERN.test(n) && statSync(join(dir, n)).isFile())) {
    const parsed = parseSubmittedFile(`${labId}/${name}`, readFileSync(join(dir, name), 'utf8'));
    files.push(parsed.file);
    problems.push(...parsed.problems);
  }
  const hasCommands = names.includes(COMMANDS_FILE);
  if (!files.length && !hasCommands) {
    problems.push({ file: `${labId}/`, line: 1, message: `no manifests (*.yaml, *.yml, *.json) and no ${COMMANDS_FILE} in ${labId}/` });
  }
  return { labId, dir, files, ...(hasCommands ? { commands: `${labId}/${COMMANDS_FILE}` } : {}), problems };
}

/** Folders of a submission root that are not lab ids (likely typos), for a warning. */
export function unknownFolders(root: string, labIds: readonly string[]): string[] {
  return readdirSync(root)
    .filter((name) => !name.startsWith('.') && statSync(join(root, name)).isDirectory() && !labIds.includes(name))
    .sort();
}
