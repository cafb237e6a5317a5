/**
 * `kubectl logs` for a simulated container: the lines the behaviour model says the process printed
 * in the run the kubelet would read (current or `--previous`), with the kubelet's own errors when
 * there is no such run.
 */
import type { V1Container, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { containerArgv, runProcess, type ProcessContext } from './container.ts';
import { pullImage } from './image.ts';
import { probeRequestLines } from './probe-requests.ts';
import type { Registry } from './registry.ts';

/** The kubelet's log options (PodLogOptions). */
export interface LogOptions {
  readonly previous: boolean;
  readonly follow: boolean;
  readonly timestamps: boolean;
  readonly tailLines?: number;
  readonly sinceSeconds?: number;
  readonly sinceTime?: string;
  readonly limitBytes?: number;
}

/** A log request the kubelet refuses (HTTP 400 with this message). */
export class LogRequestError extends Error {}

/** Where the lines go, and how to see the pod's newest state while following. */
export interface LogSink {
  write(text: string): void;
  current(): V1Pod | undefined;
  closed(): boolean;
}

interface Run {
  readonly startedAt: Date;
  readonly finishedAt?: Date;
  readonly containerID: string;
}

/** A container or init container of the pod's spec. */
function specOf(pod: V1Pod, name: string): V1Container | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === name);
}

/** The status of a container or init container. */
function statusOf(pod: V1Pod, name: string): V1ContainerStatus | undefined {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((s) => s.name === name);
}

/** The run whose logs the kubelet would read, or its error (validateContainerLogStatus). */
export function selectRun(pod: V1Pod, containerName: string, previous: boolean): Run {
  const podName = pod.metadata?.name ?? '';
  const status = statusOf(pod, containerName);
  if (!specOf(pod, containerName)) {
    throw new LogRequestError(`container ${containerName} is not valid for pod ${podName}`);
  }
  if (!status) throw new LogRequestError(`container "${containerName}" in pod "${podName}" is waiting to start: ContainerCreating`);
  const last = status.lastState?.terminated;
  const { waiting, running, terminated } = status.state ?? {};
  const fromTerminated = (t: NonNullable<typeof last>): Run => ({ startedAt: new Date(t.startedAt ?? 0), finishedAt: new Date(t.finishedAt ?? 0), containerID: t.containerID ?? '' });
  if (previous) {
    if (!last?.containerID) throw new LogRequestError(`previous terminated container "${containerName}" in pod "${podName}" not found`);
    return fromTerminated(last);
  }
  if (running) return { startedAt: new Date(running.startedAt ?? 0), containerID: status.containerID ?? '' };
  if (terminated?.containerID) return fromTerminated(terminated);
  if (terminated || (last && !last.containerID)) throw new LogRequestError(`container "${containerName}" in pod "${podName}" is terminated`);
  if (last) return fromTerminated(last);
  const reason = waiting?.reason;
  if (reason === 'ErrImagePull') throw new LogRequestError(`container "${containerName}" in pod "${podName}" is waiting to start: image can't be pulled`);
  if (reason === 'ImagePullBackOff') throw new LogRequestError(`container "${containerName}" in pod "${podName}" is waiting to start: trying and failing to pull image`);
  if (reason) throw new LogRequestError(`container "${containerName}" in pod "${podName}" is waiting to start: ${reason}`);
  throw new LogRequestError(`container "${containerName}" in pod "${podName}" is waiting to start - no logs yet`);
}

/** The CRI log timestamp format (RFC 3339 with nanoseconds). */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** The lines a run printed up to `until`, formatted as the kubelet returns them. */
export function runLines(pod: V1Pod, containerName: string, run: Run, until: Date, registry: Registry, options: Pick<LogOptions, 'timestamps'>): Array<{ at: Date; text: string }> {
  const container = specOf(pod, containerName)!;
  const pull = pullImage(container.image ?? '', registry);
  if (!pull.ok) return [];
  const context: ProcessContext = { registry, repository: pull.repository, tag: pull.reference.tag, pod, container, startedAt: run.startedAt };
  const horizon = Math.max(0, ((run.finishedAt ?? until).getTime() - run.startedAt.getTime()) / 1000);
  const result = runProcess(containerArgv(container, pull.repository), context, horizon);
  const printed = [...result.lines, ...(result.end.kind === 'declined' ? [{ at: result.end.at, text: result.end.reason }] : [])];
  // The kubelet's probes reach a server that logs requests; merged in time order (the sort is stable).
  const all = [...printed, ...probeRequestLines(result, context, horizon)].sort((a, b) => a.at - b.at);
  const lines = all.map((line) => ({ at: new Date(run.startedAt.getTime() + line.at * 1000), text: line.text }));
  return lines.map((line) => ({ at: line.at, text: options.timestamps ? `${timestamp(line.at)} ${line.text}` : line.text }));
}

function applyLimits(lines: Array<{ at: Date; text: string }>, options: LogOptions, now: Date) {
  const since = options.sinceTime ? new Date(options.sinceTime) : options.sinceSeconds !== undefined ? new Date(now.getTime() - options.sinceSeconds * 1000) : undefined;
  let selected = since ? lines.filter((l) => l.at >= since) : lines;
  if (options.tailLines !== undefined) selected = options.tailLines === 0 ? [] : selected.slice(-options.tailLines);
  return selected;
}

/** Writes a container's logs to the sink, following new lines while the run goes on if asked. */
export async function containerLogs(pod: V1Pod, containerName: string, options: LogOptions, registry: Registry, sink: LogSink): Promise<void> {
  const run = selectRun(pod, containerName, options.previous);
  const now = new Date();
  const lines = applyLimits(runLines(pod, containerName, run, now, registry, options), options, now);
  let text = lines.map((l) => `${l.text}\n`).join('');
  if (options.limitBytes !== undefined) text = text.slice(0, options.limitBytes);
  sink.write(text);
  if (!options.follow || run.finishedAt || options.previous) return;
  let sent = runLines(pod, containerName, run, now, registry, options).length;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const current = sink.current();
    const status = current ? statusOf(current, containerName) : undefined;
    const stillRunning = status?.state?.running?.startedAt && new Date(status.state.running.startedAt).getTime() === run.startedAt.getTime();
    const all = runLines(current ?? pod, containerName, run, stillRunning ? new Date() : new Date(status?.state?.terminated?.finishedAt ?? Date.now()), registry, options);
    if (all.length > sent) sink.write(all.slice(sent).map((l) => `${l.text}\n`).join(''));
    sent = all.length;
    if (!stillRunning || sink.closed()) return;
  }
}
