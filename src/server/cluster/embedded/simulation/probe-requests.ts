/**
 * What a server's log shows of the kubelet's HTTP probes: one request per probe run, at the times
 * the probe worker runs them, answered 200 or 404 as the behaviour model says. A real nginx pod
 * with a readiness probe logs a `kube-probe/1.36` line every periodSeconds; learners see them in
 * `kubectl logs` and should see them here too.
 */
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import { VERSIONS } from '../../../versions.ts';
import { fillLine, probedPort, type ProcessContext, type ProcessRun } from './container.ts';
import type { PrintedLine } from './shell.ts';

/** The probe User-Agent's version: the kubelet's major.minor (pkg/probe/http). */
const KUBE_MINOR = VERSIONS.kubernetes.replace(/^v/, '').split('.').slice(0, 2).join('.');

/** One HTTP probe request: when (seconds after the container started) and what it asks for. */
interface ProbeRequest {
  readonly at: number;
  readonly path: string;
  readonly port: number;
}

/**
 * When each HTTP probe runs, up to `horizon` seconds. The readiness worker ticks every
 * periodSeconds from the start and skips ticks before initialDelaySeconds (as the plan's Ready
 * time assumes); liveness runs from initialDelaySeconds + periodSeconds, so its failureThreshold-th
 * failure falls at the time the plan stops the container.
 */
export function probeRequests(container: V1Container, horizon: number): ProbeRequest[] {
  const requests: ProbeRequest[] = [];
  const add = (probe: V1Probe | undefined, first: (delay: number, period: number) => number) => {
    if (!probe?.httpGet) return;
    const period = Math.max(1, probe.periodSeconds ?? 10);
    const path = `/${(probe.httpGet.path ?? '/').replace(/^\/+/, '')}`;
    const port = probedPort(container, probe.httpGet.port as number | string);
    for (let at = first(probe.initialDelaySeconds ?? 0, period); at <= horizon; at += period) requests.push({ at, path, port });
  };
  add(container.readinessProbe, (delay, period) => Math.ceil(delay / period) * period);
  add(container.livenessProbe, (delay, period) => delay + period);
  return requests.sort((a, b) => a.at - b.at);
}

/** The node's address on the pod network, which the kubelet's probes come from (the pod's /24 gateway). */
function probeClient(podIP: string): string {
  return podIP.replace(/\.\d+$/, '.1');
}

/**
 * The lines a process that logs requests (`requests` in registry.yaml) prints for the kubelet's
 * HTTP probes during its first `horizon` seconds. A probe of a port it does not serve is refused
 * and logs nothing.
 */
export function probeRequestLines(run: ProcessRun, context: ProcessContext, horizon: number): PrintedLine[] {
  const log = run.requests;
  if (!log) return [];
  const podIP = context.pod.status?.podIP ?? '10.244.1.2';
  const lines: PrintedLine[] = [];
  let connection = 0;
  for (const request of probeRequests(context.container, horizon)) {
    if (!run.serves.includes(request.port)) continue;
    connection += 1;
    const page = request.path.split('?')[0]!;
    const found = !run.paths || run.paths.includes(page);
    const at = new Date(context.startedAt.getTime() + request.at * 1000);
    const values = {
      client: probeClient(podIP),
      path: request.path,
      target: `${podIP}:${request.port}`,
      connection: String(connection),
      bytes: String(found ? (log.bytes[page] ?? log.bytes['/'] ?? 0) : log.missingBytes),
      'kube-minor': KUBE_MINOR,
    };
    for (const text of found ? log.found : log.missing) lines.push({ at: request.at, stream: 'stdout', text: fillLine(text, context, at, values) });
  }
  return lines;
}
