/**
 * Turns the simulated kubelet's data (registry.yaml, stages.yaml) into the kwok configuration
 * documents the embedded engine starts with: Stages, and ClusterLogs with the log files they read.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { VERSIONS } from '../../../versions.ts';

interface SimulatedRegistry {
  images: Record<string, string[]>;
  executables: string[];
  logs: Record<string, string[]>;
}

const here = new URL('.', import.meta.url);

/** Reads registry.yaml. */
export function loadRegistry(): SimulatedRegistry {
  return parse(readFileSync(new URL('registry.yaml', here), 'utf8')) as SimulatedRegistry;
}

/**
 * Every image reference the simulated registry resolves: `repo:tag`, plus the long Docker Hub
 * forms of official images, plus the bare repository where it has a `latest` tag.
 */
export function knownImageReferences(registry: SimulatedRegistry = loadRegistry()): string[] {
  const references = new Set<string>();
  for (const [repository, tags] of Object.entries(registry.images)) {
    const isOfficial = !repository.includes('/');
    const names = [repository];
    if (isOfficial) names.push(`docker.io/library/${repository}`, `docker.io/${repository}`, `library/${repository}`);
    else if (!repository.includes('.')) names.push(`docker.io/${repository}`);
    for (const name of names) {
      for (const tag of tags) references.add(`${name}:${tag}`);
      if (tags.includes('latest')) references.add(name);
    }
  }
  return [...references].sort();
}

const templateList = (values: readonly string[]) =>
  `(list ${values.map((value) => JSON.stringify(value)).join(' ')})`;

/**
 * jq programs used as Stage selector keys. Each counts the pod's containers in one condition, so a
 * selector can ask for "0" (none) or anything else; the Go templates in stages.yaml apply the same
 * rules per container.
 */
function selectorPrograms(images: readonly string[], executables: readonly string[]) {
  const knownImages = JSON.stringify(images);
  const knownExecutables = JSON.stringify(executables);
  return {
    unknownImageCount: `([.spec.containers[].image] - ${knownImages}) | length`,
    crashingContainerCount:
      `[.spec.containers[] | select((((.command // [])[0] // "") as $exe | ($exe != "" and (${knownExecutables} | any(.[]; . == $exe) | not))) ` +
      `or ((((.command // []) + (.args // [])) | join(" ")) | test("exit +[1-9]")))] | length`,
  };
}

/** The Stage documents with every placeholder filled in. */
export function renderStages(registry: SimulatedRegistry = loadRegistry()): string {
  const images = knownImageReferences(registry);
  const programs = selectorPrograms(images, registry.executables);
  // Selector keys sit in single-quoted YAML strings: double any single quote.
  const inSingleQuotes = (text: string) => text.replaceAll("'", "''");
  const replacements: Record<string, string> = {
    '@UNKNOWN_IMAGE_COUNT_JQ@': inSingleQuotes(programs.unknownImageCount),
    '@CRASHING_CONTAINER_COUNT_JQ@': inSingleQuotes(programs.crashingContainerCount),
    '@KNOWN_IMAGES_TPL@': templateList(images),
    '@KNOWN_EXECUTABLES_TPL@': templateList(registry.executables),
    '@KUBE_VERSION@': VERSIONS.kubernetes,
  };
  let stages = readFileSync(new URL('stages.yaml', here), 'utf8');
  for (const [placeholder, value] of Object.entries(replacements)) stages = stages.replaceAll(placeholder, value);
  const leftover = stages.match(/@[A-Z_]+@/);
  if (leftover) throw new Error(`stages.yaml has an unknown placeholder ${leftover[0]}`);
  return stages;
}

/** A log line in the CRI format the kubelet writes, which kwok reads back for `kubectl logs`. */
function criLogLine(time: Date, message: string): string {
  return `${time.toISOString().replace('Z', '000000Z')} stdout F ${message}`;
}

/**
 * Writes one log file per entry of registry.yaml's `logs` into `logDir` and returns the ClusterLogs
 * document that serves them, by container name, to every pod.
 */
export async function writeClusterLogs(logDir: string, registry: SimulatedRegistry = loadRegistry()): Promise<string> {
  await mkdir(logDir, { recursive: true });
  const start = new Date();
  const logs: Array<{ containers?: string[]; logsFile: string; previousLogsFile: string; follow: boolean }> = [];
  for (const [container, lines] of Object.entries(registry.logs)) {
    const file = join(logDir, `${container === '*' ? 'default' : container}.log`);
    const content = lines.map((line, index) => criLogLine(new Date(start.getTime() + index * 150), line)).join('\n');
    await writeFile(file, `${content}\n`);
    const entry = { logsFile: file, previousLogsFile: file, follow: false };
    // An entry without containers is kwok's fallback for every other container.
    logs.push(container === '*' ? entry : { containers: [container], ...entry });
  }
  // kwok picks the first entry naming the container, and the first entry without names otherwise.
  logs.sort((a, b) => Number(!a.containers) - Number(!b.containers));
  return stringify({
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'ClusterLogs',
    metadata: { name: 'simulated-container-logs' },
    spec: { selector: {}, logs },
  });
}

/** The whole simulation as one multi-document kwok configuration. */
export async function renderSimulationConfig(logDir: string): Promise<string> {
  const registry = loadRegistry();
  return `${renderStages(registry)}\n---\n${await writeClusterLogs(logDir, registry)}`;
}
