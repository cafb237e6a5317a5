/**
 * Turns the simulated kubelet's data into what the embedded engine starts with: the kwok Stages
 * (stages.yaml, with its macros expanded) and the kwokctl component that runs agent.ts, the
 * process that plans each pod's behaviour and answers `kubectl logs` as the nodes' kubelet.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import { VERSIONS } from '../../../versions.ts';
import { PLAN_ANNOTATION } from './plan-annotation.ts';
import { loadRegistry } from './registry-file.ts';
import { registrySnapshot } from './registry.ts';

const here = new URL('.', import.meta.url);

/** jq: the pod's plan object (empty while the agent has not planned the pod yet). */
const PLAN_JQ = `(.metadata.annotations["${PLAN_ANNOTATION}"] // "{}" | fromjson)`;

/** Go template: sets $plan. */
const PLAN_TPL = `{{ $plan := fromJson (index .metadata.annotations "${PLAN_ANNOTATION}") }}`;

/** A template value: a literal word, or a Go template expression in parentheses. */
const templateValue = (value: string) => (value.startsWith('(') ? value : JSON.stringify(value));

/**
 * Where each event falls in a pod's life, by key. The kubelet names an event after the time it
 * first happened (`<pod>.<hex nanoseconds>`), and `kubectl describe` lists events of the same
 * second in name order: names built from the pod's start and this order keep the kubelet's order.
 */
const EVENT_ORDER = '(dict "mount" 1 "pulling" 1 "pull-failed" 2 "error-pull" 3 "backoff-pull" 4 "error-backoff-pull" 5 "pulled" 2 "created" 3 "started" 4 "present" 6 "backoff" 7 "error-config" 3)';

/**
 * `@EVENT type reason key@`: an Event as the kubelet writes it, about container $container (a name,
 * a field path such as `spec.initContainers{init}`, or none when empty) with $message and $count. `key` tells apart events of one pod and container, so a
 * repeated event is the same object with a higher count, as the kubelet's event correlator does.
 */
function eventTemplate(type: string, reason: string, key: string): string {
  return [
    'apiVersion: v1',
    'kind: Event',
    'metadata:',
    `  name: {{ printf "%s.%x" .metadata.name (add (mul (atoi (unixEpoch (toDate "2006-01-02T15:04:05Z07:00" (or .status.startTime Now)))) 1000000000) (mul (index ${EVENT_ORDER} ${templateValue(key)}) 10000000) (mod (adler32sum (printf "%s/%s" .metadata.uid $container)) 10000000)) | Quote }}`,
    '  namespace: {{ .metadata.namespace | Quote }}',
    'involvedObject:',
    '  apiVersion: v1',
    '  kind: Pod',
    '  name: {{ .metadata.name | Quote }}',
    '  namespace: {{ .metadata.namespace | Quote }}',
    '  uid: {{ .metadata.uid | Quote }}',
    // $container is a container's name, or a whole field path (spec.initContainers{name}).
    '  {{ if $container }}fieldPath: {{ ternary $container (printf "spec.containers{%s}" $container) (hasPrefix "spec." $container) | Quote }}{{ end }}',
    `reason: {{ ${templateValue(reason)} | Quote }}`,
    'message: {{ $message | Quote }}',
    `type: {{ ${templateValue(type)} | Quote }}`,
    'source:',
    '  component: kubelet',
    '  host: {{ .spec.nodeName | Quote }}',
    'reportingComponent: kubelet',
    'reportingInstance: {{ .spec.nodeName | Quote }}',
    'firstTimestamp: {{ or .status.startTime Now | Quote }}',
    'lastTimestamp: {{ Now | Quote }}',
    'count: {{ $count }}',
  ].join('\n');
}

/** Splits macro arguments: words, or parenthesized Go template expressions. */
function macroArguments(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text.trim()) {
    if (char === ' ' && depth === 0) {
      if (current) args.push(current);
      current = '';
      continue;
    }
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    current += char;
  }
  if (current) args.push(current);
  return args;
}

/** Expands every `@EVENT type reason key@`, each on its own lines at the macro's indentation. */
function expandEvents(stages: string): string {
  return stages
    .split('\n')
    .map((line) => {
      const start = line.indexOf('@EVENT ');
      if (start < 0 || line.trimStart().startsWith('#')) return line;
      const end = line.lastIndexOf('@');
      const args = macroArguments(line.slice(start + '@EVENT '.length, end));
      if (args.length !== 3) throw new Error(`stages.yaml: @EVENT needs type, reason and key: ${line.trim()}`);
      const indent = /^ */.exec(line)![0];
      const event = eventTemplate(args[0]!, args[1]!, args[2]!).split('\n').map((l) => indent + l).join('\n');
      return `${line.slice(0, start)}\n${event}\n${indent}${line.slice(end + 1)}`;
    })
    .join('\n');
}

/** The node conditions a kubelet reports, honouring the node's condition annotation. */
const NODE_CONDITIONS_TPL = `{{ $set := splitList "," (default "" (index (or .metadata.annotations (dict)) "simulation.daemonset-lab.dev/conditions")) }}
{{ $existing := dict }}{{ range .status.conditions }}{{ $_ := set $existing .type . }}{{ end }}
{{ $rows := list (list "MemoryPressure" (has "MemoryPressure" $set) "KubeletHasInsufficientMemory" "kubelet has insufficient memory available" "KubeletHasSufficientMemory" "kubelet has sufficient memory available") (list "DiskPressure" (has "DiskPressure" $set) "KubeletHasDiskPressure" "kubelet has disk pressure" "KubeletHasNoDiskPressure" "kubelet has no disk pressure") (list "PIDPressure" (has "PIDPressure" $set) "KubeletHasInsufficientPID" "kubelet has insufficient PID available" "KubeletHasSufficientPID" "kubelet has sufficient PID available") (list "Ready" (not (has "NotReady" $set)) "KubeletReady" "kubelet is posting ready status" "KubeletNotReady" "container runtime is down") }}
conditions:
{{ range $rows }}{{ $type := index . 0 }}{{ $status := ternary "True" "False" (index . 1) }}{{ $old := index $existing $type }}
- type: {{ $type }}
  status: {{ $status | Quote }}
  reason: {{ ternary (index . 2) (index . 4) (index . 1) }}
  message: {{ ternary (index . 3) (index . 5) (index . 1) | Quote }}
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ if and $old (eq (toString (get $old "status")) $status) }}{{ get $old "lastTransitionTime" | Quote }}{{ else }}{{ $now | Quote }}{{ end }}
{{ end }}`;

/** The Stage documents with every macro expanded. */
export function renderStages(options: { kubeletPort: number }): string {
  let stages = readFileSync(new URL('stages.yaml', here), 'utf8');
  stages = expandEvents(stages);
  stages = stages.replace(/^( *)@NODE_CONDITIONS@$/gm, (_, indent: string) => NODE_CONDITIONS_TPL.split('\n').map((line) => indent + line).join('\n'));
  const replacements: Record<string, string> = {
    '@PLAN@': PLAN_JQ,
    '@PLAN_TPL@': PLAN_TPL,
    '@KUBELET_PORT@': String(options.kubeletPort),
    '@KUBE_VERSION@': VERSIONS.kubernetes,
  };
  for (const [placeholder, value] of Object.entries(replacements)) stages = stages.replaceAll(placeholder, value);
  // The file's own comments name the macros; only the documents must have none left.
  const leftover = stages.split('\n').filter((line) => !line.trimStart().startsWith('#')).join('\n').match(/@[A-Z_]+(?: [^@\n]*)?@/);
  if (leftover) throw new Error(`stages.yaml has an unknown macro ${leftover[0]}`);
  return stages;
}

/**
 * The whole simulation as one multi-document kwok configuration: only Stages; kwok's own options
 * stay kwokctl's. More workers (32 pod Stage workers, 16 node, 32 lease) made 1,000 nodes faster
 * (new DaemonSet 116 s → 86 s, rollout 87 s → 72 s, nodes Ready 97 s → 60 s), but with them the
 * clean-clone CI failed four embedded-engine tests under load (a Node applied with kubectl, a
 * rollout and a crash loop did not settle within 30 s), as a page test had in session 5: on a
 * busy four-node cluster they make kwok's stale-copy race likelier than the helper's nudge
 * (stuck-pods.ts, after 15 s) can make up for. They stay out until that race is understood.
 */
export function renderSimulationConfig(options: { kubeletPort: number }): string {
  return renderStages(options);
}

/** The modules the simulated kubelet's helper runs (agent.ts and what it imports), by path from here. */
const AGENT_MODULES = ['agent', 'container', 'image', 'kubelet-events', 'logs', 'node-filesystem', 'plan-annotation', 'probe-requests', 'references', 'registry', 'shell', 'stuck-pods', '../../../versions'];

/**
 * Writes the helper as plain JavaScript (types stripped) with the registry as JSON into `dir`:
 * Node then loads neither its TypeScript stripper nor YAML and zod, which keeps the process small.
 * Generated at every start, never committed.
 */
export async function prepareAgent(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
  for (const path of AGENT_MODULES) {
    const source = await readFile(new URL(`${path}.ts`, here), 'utf8');
    // Every module lands in one folder: an import of ../../../versions.ts becomes ./versions.js.
    const javascript = stripTypeScriptTypes(source, { mode: 'strip' }).replace(/from '(?:\.\.?\/)+(?:[a-z-]+\/)*([a-z-]+)\.ts'/g, "from './$1.js'");
    await writeFile(join(dir, `${path.split('/').at(-1)}.js`), javascript);
  }
  await writeFile(join(dir, 'registry.json'), JSON.stringify(registrySnapshot(loadRegistry())));
  // kwokctl names a component's pid and log files after its binary: run Node under the helper's name.
  await rm(join(dir, AGENT_NAME), { force: true });
  await symlink(process.execPath, join(dir, AGENT_NAME));
}

/** The helper's process name, as `provider.processes()` and the cluster's logs/ show it. */
export const AGENT_NAME = 'simulated-kubelet';

/**
 * The kwokctl component that runs the helper next to the other components of the cluster, so that
 * kwokctl starts and stops it with them (its pid and log are in the cluster's pids/ and logs/).
 */
export function agentComponent(options: { clusterDir: string; agentDir: string; kubeletPort: number; apiServerPort: number }) {
  const pki = join(options.clusterDir, 'pki');
  return {
    name: AGENT_NAME,
    binary: join(options.agentDir, AGENT_NAME),
    links: ['kube-apiserver'],
    workDir: options.clusterDir,
    args: [
      // A small young generation: the helper's heap is a few megabytes of pods.
      '--max-semi-space-size=1',
      join(options.agentDir, 'agent.js'),
      '--server', `https://127.0.0.1:${options.apiServerPort}`,
      '--ca', join(pki, 'ca.crt'),
      '--cert', join(pki, 'admin.crt'),
      '--key', join(pki, 'admin.key'),
      '--port', String(options.kubeletPort),
      '--registry', join(options.agentDir, 'registry.json'),
    ],
  };
}
