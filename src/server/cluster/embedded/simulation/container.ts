/**
 * The container behaviour model: from a pod's spec, what each container's process does (serves,
 * exits with a code after some time, or cannot start), what it prints, how it takes SIGTERM and
 * when its probes pass. Computed once per pod into a {@link PodPlan}, which the simulated kubelet's
 * Stages read; logs are computed again from the same model when `kubectl logs` asks.
 */
import { createHash } from 'node:crypto';
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import { canonicalImage, pullImage, type PullOutcome } from './image.ts';
import type { Program, Registry, Repository, RequestLog } from './registry.ts';
import { BUILTINS, runCommand, runScript, type PrintedLine, type ProgramBehaviour, type ShellEnd, type ShellHost } from './shell.ts';
import { hostPathProblem } from './node-filesystem.ts';
import { containerConfigProblem, volumeSourceProblem, type ClusterObjects } from './references.ts';

/** What one container does, as recorded in the pod's plan annotation. */
export interface ContainerPlan {
  /** Why the image cannot be pulled: [reason, message]. */
  readonly pull?: readonly [reason: 'ErrImagePull' | 'InvalidImageName', message: string];
  /**
   * The node has the image from an earlier pod and the pull policy lets the kubelet use it: the
   * kubelet says "already present on machine" instead of pulling (imagePullPolicy Always pulls).
   */
  readonly present?: boolean;
  /** containerd's message when the process cannot start (StartError, exit code 128). */
  readonly startError?: string;
  /** Why the kubelet cannot make the container's environment (CreateContainerConfigError). */
  readonly configError?: string;
  /** Seconds after start at which the process exits, and with which code. */
  readonly exit?: readonly [after: number, code: number];
  /** Seconds after start at which the container becomes Ready; absent: never. */
  readonly ready?: number;
  /** Whether the process ignores SIGTERM (killed at the end of the grace period). */
  readonly ignoresTerm?: boolean;
  /**
   * When a failing liveness probe is what ends the process (its `exit`): the kubelet's Unhealthy
   * message, with {@link POD_IP_PLACEHOLDER} for the pod's IP (kubelet-events.ts fills it in).
   */
  readonly livenessFailure?: string;
  /** When the readiness probe fails: the kubelet's Unhealthy message, as for {@link livenessFailure}. */
  readonly readinessFailure?: string;
}

/**
 * The init container that stops the pod's initialization: the first one (in order) that fails
 * (exits non-zero, or cannot start) or never exits. Absent when every init container completes.
 */
export interface InitPlan {
  readonly container: string;
  /** Seconds after start at which it exits, and with which code (non-zero); absent: it never exits. */
  readonly exit?: readonly [after: number, code: number];
  /** containerd's message when its process cannot start (StartError, exit code 128). */
  readonly startError?: string;
}

/** The plan of a whole pod: per container, plus the aggregates the Stages select on. */
export interface PodPlan {
  readonly containers: Readonly<Record<string, ContainerPlan>>;
  /** Where initialization stops (a failing or never-ending init container); absent: it completes. */
  readonly init?: InitPlan;
  /** Seconds the init containers take when they all complete. */
  readonly initAfter?: number;
  /** The node has the first init container's image already (see {@link ContainerPlan.present}). */
  readonly initImagePresent?: boolean;
  /**
   * What holds the pod, in the kubelet's order: `mount` (a volume cannot be set up), `invalid` or
   * `pull` (an image cannot be pulled), `config` (a container's environment cannot be made),
   * `start` (a process cannot start); else `run`.
   */
  readonly phase: 'pull' | 'invalid' | 'mount' | 'config' | 'start' | 'run';
  /** The kubelet's FailedMount message when a volume cannot be set up. */
  readonly mount?: string;
  /** Seconds after start when the first container exits (-1: none does). */
  readonly exitAfter: number;
  /** Seconds after start when every container is Ready (-1: never). */
  readonly readyAfter: number;
  /** Whether deletion waits for the grace period (a process ignores SIGTERM). */
  readonly waitsForGrace: boolean;
}

/** How long ahead the plan simulates a process: one that is still running then "serves". */
const PLAN_HORIZON_SECONDS = 3600;
const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const SHELLS = new Set(['sh', 'ash', 'bash', 'dash']);
const UNKNOWN_PROGRAM_NOTE = (what: string) =>
  `[simulated node] ${what}; the container is treated as a process that keeps running.`;

/** A process run: its printed lines and how it ended. */
export interface ProcessRun {
  readonly lines: PrintedLine[];
  readonly end: ShellEnd | { readonly kind: 'start-error'; readonly message: string };
  readonly ignoresTerm: boolean;
  readonly serves: readonly number[];
  /** The HTTP paths it answers with 200 (others: 404); absent: any path. */
  readonly paths?: readonly string[];
  /** Its exit code after SIGTERM; absent: 143 (killed by the signal). */
  readonly termExit?: number;
  /** What it logs for each HTTP request it answers; absent: nothing. */
  readonly requests?: RequestLog;
}

/** Where a process runs: the image, the pod and the time it started. */
export interface ProcessContext {
  readonly registry: Registry;
  readonly repository?: Repository;
  readonly tag?: string;
  readonly pod: V1Pod;
  readonly container: V1Container;
  readonly startedAt: Date;
}

/** A declined script's end, with the note its log shows. */
function noted(end: ShellEnd): ShellEnd {
  return end.kind === 'declined' ? { ...end, reason: UNKNOWN_PROGRAM_NOTE(end.reason) } : end;
}

/** Whether an executable exists in the image, and its absolute path. */
function resolveExecutable(name: string, repository: Repository | undefined): string | undefined {
  if (!repository) return name.includes('/') ? name : `/usr/bin/${name}`;
  const has = (path: string) => repository.executables.has(path) || repository.executables.has(path.replace(/^\/usr\/bin\//, '/bin/')) || repository.executables.has(path.replace(/^\/bin\//, '/usr/bin/'));
  if (name.includes('/')) return has(name) ? name : undefined;
  return PATH_DIRS.map((dir) => `${dir}/${name}`).find(has);
}

/** containerd's StartError message for a missing executable. */
export function startErrorMessage(name: string): string {
  const detail = name.includes('/') ? `exec: "${name}": stat ${name}: no such file or directory` : `exec: "${name}": executable file not found in $PATH`;
  return `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: ${detail}: unknown`;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Fills a program's log line placeholders (`extra` adds a line's own, such as a request's path). */
export function fillLine(line: string, context: ProcessContext, at: Date, extra: Readonly<Record<string, string>> = {}): string {
  const version = context.tag ?? 'latest';
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const y = at.getUTCFullYear();
  const hms = `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
  const values: Record<string, string> = {
    version,
    'version-number': version.replace(/^v/, '').replace(/-.*$/, ''),
    'nginx-time': `${y}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())} ${hms}`,
    'iso-time': at.toISOString(),
    'klog-time': `${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())} ${hms}.${pad(at.getUTCMilliseconds(), 3)}000`,
    'fluentd-time': `${y}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())} ${hms}`,
    'fluentbit-time': `${y}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())} ${hms}`,
    'httpd-time': `${['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][at.getUTCDay()]} ${months[at.getUTCMonth()]} ${pad(at.getUTCDate())} ${hms}.000000 ${y}`,
    'pod-ip': context.pod.status?.podIP ?? '10.244.1.2',
    'host-ip': context.pod.status?.hostIP ?? '172.18.0.2',
    'access-time': `${pad(at.getUTCDate())}/${months[at.getUTCMonth()]}/${y}:${hms} +0000`,
    ...extra,
  };
  return line.replace(/\{([a-z-]+)\}/g, (whole, key: string) => values[key] ?? whole);
}

function programOf(path: string, registry: Registry): Program | undefined {
  return registry.programs[path.split('/').at(-1)!];
}

/** The shell host a script runs in: the container's env, and the image's programs. */
function shellHost(context: ProcessContext, served: number[]): ShellHost {
  const env: Record<string, string> = { HOSTNAME: context.pod.metadata?.name ?? '', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' };
  for (const variable of context.container.env ?? []) if (variable.value !== undefined) env[variable.name] = variable.value;
  return {
    env,
    startedAt: context.startedAt,
    notFound: (name) => (context.repository?.notFound ?? 'sh: {name}: not found').replace('{name}', name),
    program: (argv) => programBehaviour(argv, context, served),
  };
}

/** What a non-builtin command does inside a script. */
function programBehaviour(argv: readonly string[], context: ProcessContext, served: number[]): ProgramBehaviour | undefined {
  const path = resolveExecutable(argv[0]!, context.repository);
  if (!path) return { kind: 'missing' };
  const program = programOf(path, context.registry);
  if (!program || program.wrapper || program.builtin) return undefined;
  served.push(...(program.serves ?? []));
  return { kind: 'serves', lines: (program.lines ?? []).map((l) => fillLine(l, context, context.startedAt)) };
}

/**
 * Runs a container's argv up to `horizon` seconds: the shell interpreter for scripts and
 * utilities, the image's program table for everything else.
 */
export function runProcess(argv: readonly string[], context: ProcessContext, horizon: number, prefix: PrintedLine[] = [], maxLines?: number): ProcessRun {
  const served: number[] = [];
  if (argv.length === 0) {
    return { lines: prefix, end: { kind: 'declined', reason: UNKNOWN_PROGRAM_NOTE('the simulated registry does not know what this image runs'), at: 0 }, ignoresTerm: false, serves: [] };
  }
  const path = resolveExecutable(argv[0]!, context.repository);
  if (!path) return { lines: [], end: { kind: 'start-error', message: startErrorMessage(argv[0]!) }, ignoresTerm: false, serves: [] };
  const name = path.split('/').at(-1)!;
  const host = shellHost(context, served);
  const options = { horizon, ...(maxLines !== undefined ? { maxLines } : {}) };
  if (SHELLS.has(name)) {
    if (argv[1] === '-c' && argv[2] !== undefined) {
      const run = runScript(argv[2], host, options);
      return { lines: [...prefix, ...run.lines], end: noted(run.end), ignoresTerm: !run.handlesTerm && !run.execed, serves: served };
    }
    // No script: a shell whose standard input is not attached reads end-of-file and exits.
    if (argv.length === 1 && !context.container.stdin) return { lines: prefix, end: { kind: 'exited', code: 0, at: 0 }, ignoresTerm: true, serves: [] };
    if (argv.length === 1) return { lines: prefix, end: { kind: 'running' }, ignoresTerm: true, serves: [] };
    return { lines: prefix, end: { kind: 'declined', reason: UNKNOWN_PROGRAM_NOTE(`the shell runs the script file ${argv[1]}, which the simulated node cannot read`), at: 0 }, ignoresTerm: true, serves: [] };
  }
  if ((BUILTINS as readonly string[]).includes(name)) {
    const run = runCommand([name, ...argv.slice(1)], host, options);
    return { lines: [...prefix, ...run.lines], end: noted(run.end), ignoresTerm: true, serves: served };
  }
  const program = programOf(path, context.registry);
  if (!program) {
    return { lines: prefix, end: { kind: 'declined', reason: UNKNOWN_PROGRAM_NOTE(`the simulated node does not know what ${argv[0]} does`), at: 0 }, ignoresTerm: false, serves: [] };
  }
  const lines = (program.lines ?? []).map((text) => ({ at: 0, stream: 'stdout' as const, text: fillLine(text, context, context.startedAt) }));
  if (program.wrapper) {
    const args = argv.slice(1);
    const next = args[0] === '--' ? args.slice(1) : args;
    const printed = !program.when || program.when.includes(next[0]?.split('/').at(-1) ?? '') ? lines : [];
    if (next.length === 0 && program.otherwise) return { lines: [...prefix, ...printed], end: { kind: 'running' }, ignoresTerm: false, serves: program.otherwise.serves };
    return runProcess(next, context, horizon, [...prefix, ...printed], maxLines);
  }
  return {
    lines: [...prefix, ...lines],
    end: { kind: 'running' },
    ignoresTerm: program.stop === 'ignores',
    serves: program.serves ?? [],
    ...(program.paths ? { paths: program.paths } : {}),
    ...(program.termExit !== undefined ? { termExit: program.termExit } : {}),
    ...(program.requests ? { requests: program.requests } : {}),
  };
}

/** The argv a container runs: Kubernetes' command/args over the image's entrypoint/cmd. */
export function containerArgv(container: V1Container, repository: Repository | undefined): string[] {
  if (container.command?.length) return [...container.command, ...(container.args ?? [])];
  return [...(repository?.entrypoint ?? []), ...(container.args ?? repository?.cmd ?? [])];
}

/** The container port a probe names: a number, or the name of one of the container's ports. */
export function probedPort(container: V1Container, port: number | string | undefined): number {
  return typeof port === 'number' ? port : Number(container.ports?.find((p) => p.name === port)?.containerPort ?? Number(port));
}

/** Stands for the pod's IP in a probe message: the plan is made before the pod has one. */
export const POD_IP_PLACEHOLDER = '$POD_IP';

/**
 * The kubelet's Unhealthy message for a probe that fails here (pkg/kubelet/prober): an HTTP or TCP
 * probe of a port nothing listens on is refused; an exec of a missing executable errors in containerd.
 */
export function probeFailureMessage(kind: 'Liveness' | 'Readiness', probe: V1Probe, container: V1Container): string {
  const port = (value: number | string | undefined) => (typeof value === 'number' ? value : container.ports?.find((p) => p.name === value)?.containerPort ?? value);
  if (probe.httpGet) {
    const target = `${probe.httpGet.host ?? POD_IP_PLACEHOLDER}:${port(probe.httpGet.port as number | string)}`;
    const path = probe.httpGet.path ?? '/';
    return `${kind} probe failed: Get "${(probe.httpGet.scheme ?? 'HTTP').toLowerCase()}://${target}${path.startsWith('/') ? path : `/${path}`}": dial tcp ${target}: connect: connection refused`;
  }
  if (probe.tcpSocket) {
    const target = `${probe.tcpSocket.host ?? POD_IP_PLACEHOLDER}:${port(probe.tcpSocket.port as number | string)}`;
    return `${kind} probe failed: dial tcp ${target}: connect: connection refused`;
  }
  const command = probe.exec?.command?.[0] ?? '';
  const execId = createHash('sha256').update(`${kind}/${container.name}/${command}`).digest('hex');
  return `${kind} probe errored: rpc error: code = Unknown desc = failed to exec in container: failed to start exec "${execId}": OCI runtime exec failed: exec failed: unable to start container process: exec: "${command}": executable file not found in $PATH: unknown`;
}

/**
 * The kubelet's Unhealthy message when a probe fails against this process; undefined when it
 * passes. A port the process does not serve refuses the connection; a path a known server lacks
 * answers 404; an exec of an executable the image lacks errors.
 */
function probeFailure(kind: 'Liveness' | 'Readiness', probe: V1Probe, container: V1Container, run: ProcessRun, context: ProcessContext): string | undefined {
  const modelled = (context.repository !== undefined || run.serves.length > 0) && run.end.kind !== 'declined';
  if (probe.httpGet || probe.tcpSocket) {
    const port = probedPort(container, (probe.httpGet ?? probe.tcpSocket)!.port as number | string);
    if (modelled && !run.serves.includes(port)) return probeFailureMessage(kind, probe, container);
    const path = `/${(probe.httpGet?.path ?? '/').replace(/^\/+/, '')}`.split('?')[0]!;
    if (modelled && probe.httpGet && run.paths && !run.paths.includes(path)) return `${kind} probe failed: HTTP probe failed with statuscode: 404`;
    return undefined;
  }
  if (probe.exec?.command?.length) {
    const name = probe.exec.command[0]!;
    const runs = SHELLS.has(name.split('/').at(-1)!) || (BUILTINS as readonly string[]).includes(name) || resolveExecutable(name, context.repository) !== undefined;
    return runs ? undefined : probeFailureMessage(kind, probe, container);
  }
  return undefined;
}

/** The plan of one container. */
export function planContainer(pod: V1Pod, container: V1Container, registry: Registry, pull: PullOutcome = pullImage(container.image ?? '', registry)): ContainerPlan {
  if (!pull.ok) return { pull: [pull.reason, pull.message] };
  const context: ProcessContext = { registry, repository: pull.repository, tag: pull.reference.tag, pod, container, startedAt: new Date(0) };
  // Only the outcome matters for the plan: keep no lines.
  const run = runProcess(containerArgv(container, pull.repository), context, PLAN_HORIZON_SECONDS, [], 0);
  if (run.end.kind === 'start-error') return { startError: run.end.message };
  let exit: [number, number] | undefined = run.end.kind === 'exited' ? [run.end.at, run.end.code] : undefined;
  let livenessFailure: string | undefined;
  const liveness = container.livenessProbe;
  const livenessMessage = liveness ? probeFailure('Liveness', liveness, container, run, context) : undefined;
  if (liveness && livenessMessage) {
    // The kubelet stops the container after failureThreshold failed probes: a process that takes
    // SIGTERM exits with its own code; one that ignores it is killed (137) when the grace period ends.
    const grace = liveness.terminationGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    const killedAfter = (liveness.initialDelaySeconds ?? 0) + (liveness.periodSeconds ?? 10) * (liveness.failureThreshold ?? 3) + (run.ignoresTerm ? grace : 0);
    if (!exit || killedAfter < exit[0]) {
      exit = [killedAfter, run.ignoresTerm ? 137 : (run.termExit ?? 143)];
      livenessFailure = livenessMessage;
    }
  }
  const readiness = container.readinessProbe;
  // The probe worker ticks every periodSeconds from the container's start and skips ticks before
  // initialDelaySeconds: the first probe that can pass runs at the first tick after the delay.
  const period = readiness?.periodSeconds ?? 10;
  const readinessFailure = readiness ? probeFailure('Readiness', readiness, container, run, context) : undefined;
  const ready = !readiness ? 0 : readinessFailure ? undefined : Math.ceil((readiness.initialDelaySeconds ?? 0) / period) * period;
  return {
    ...(exit ? { exit } : {}),
    ...(ready !== undefined ? { ready } : {}),
    ...(run.ignoresTerm ? { ignoresTerm: true } : {}),
    ...(livenessFailure ? { livenessFailure } : {}),
    ...(readinessFailure ? { readinessFailure } : {}),
  };
}

/**
 * Where a pod's initialization stops: init containers run one after another, each to completion,
 * and the first that exits non-zero, cannot start or never exits holds the pod in Init (`stop`);
 * `seconds` is how long those before it (or all, when none stops it) run together.
 * Sidecars (restartPolicy Always) keep running by design and do not hold it.
 */
export function planInit(pod: V1Pod, registry: Registry): { stop?: InitPlan; seconds: number } {
  let seconds = 0;
  for (const container of pod.spec?.initContainers ?? []) {
    if (container.restartPolicy === 'Always') continue;
    const plan = planContainer(pod, container, registry);
    if (plan.pull) continue; // Pull failures of init containers are not modelled (README: init-containers).
    if (plan.startError) return { stop: { container: container.name, startError: plan.startError }, seconds };
    if (!plan.exit) return { stop: { container: container.name }, seconds };
    if (plan.exit[1] !== 0) return { stop: { container: container.name, exit: plan.exit }, seconds };
    seconds += plan.exit[0];
  }
  return { seconds };
}

/**
 * The plan of a pod, from its spec and, when given, the ConfigMaps and Secrets the node can see
 * (without them, every reference is taken to resolve) and the images its node already has.
 */
export function planPod(pod: V1Pod, registry: Registry, objects?: ClusterObjects, nodeHasImage: (image: string) => boolean = () => false): PodPlan {
  const { stop: init, seconds: initSeconds } = planInit(pod, registry);
  const initContainers = pod.spec?.initContainers ?? [];
  // Init containers run first: their images are on the node by the time the app containers start.
  const hasImage = (container: V1Container, earlier: readonly V1Container[]) =>
    container.imagePullPolicy !== 'Always' && (nodeHasImage(container.image ?? '') || earlier.some((c) => canonicalImage(c.image ?? '') === canonicalImage(container.image ?? '')));
  const containers: Record<string, ContainerPlan> = {};
  for (const container of pod.spec?.containers ?? []) {
    const plan = planContainer(pod, container, registry);
    const configError = objects && !plan.pull ? containerConfigProblem(pod, container, objects) : undefined;
    const present = !plan.pull && hasImage(container, initContainers);
    containers[container.name] = configError ? { configError } : present ? { ...plan, present } : plan;
  }
  const plans = Object.values(containers);
  // The kubelet sets up every volume before it pulls an image or creates a container.
  const mount = hostPathProblem(pod) ?? (objects ? volumeSourceProblem(pod, objects) : undefined);
  const exits = plans.flatMap((p) => (p.exit ? [p.exit[0]] : []));
  const phase = mount ? 'mount'
    : plans.some((p) => p.pull?.[0] === 'InvalidImageName') ? 'invalid'
    : plans.some((p) => p.pull) ? 'pull'
    : plans.some((p) => p.configError) ? 'config'
    : plans.some((p) => p.startError) ? 'start' : 'run';
  return {
    containers,
    ...(init ? { init } : {}),
    ...(!init && initSeconds > 0 ? { initAfter: initSeconds } : {}),
    ...(initContainers[0] && hasImage(initContainers[0], []) ? { initImagePresent: true } : {}),
    phase,
    ...(mount ? { mount } : {}),
    exitAfter: exits.length ? Math.min(...exits) : -1,
    readyAfter: plans.every((p) => p.ready !== undefined) ? Math.max(0, ...plans.map((p) => p.ready!)) : -1,
    waitsForGrace: plans.some((p) => p.ignoresTerm),
  };
}
