/**
 * The simulated kubelet's helper process, started by kwokctl with the embedded cluster:
 *
 * 1. It watches pods and, once per pod spec, records the container behaviour model's plan in the
 *    annotation {@link PLAN_ANNOTATION}. kwok's Stages (stages.yaml) select on it and drive every
 *    state change declaratively, so the cost here is one patch per pod.
 * 2. It is the kubelet endpoint of every simulated node (the API server reaches it on localhost),
 *    serving `kubectl logs` from the same model: per container and per restart, honouring state.
 *    Exec, attach and port-forward are refused: nothing ever runs on the host.
 *
 * Usage: node agent.js --server URL --ca FILE --cert FILE --key FILE --port N --registry FILE
 * (simulation.ts writes this program, with its types stripped, and the registry snapshot into the
 * engine's folder: plain JavaScript keeps the process small.)
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest, createServer, type RequestOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { planPod } from './container.ts';
import { canonicalImage } from './image.ts';
import { containerConfigProblem, volumeSourceProblem, type ClusterObjects } from './references.ts';
import { READINESS_TICK_MS, eventsForChange, readinessEvents, type KubeletEvent } from './kubelet-events.ts';
import { containerLogs, LogRequestError, selectRun, type LogOptions } from './logs.ts';
import { PLAN_ANNOTATION } from './plan-annotation.ts';
import { registryFromSnapshot, type Registry, type RegistrySnapshot } from './registry.ts';
import { STUCK_AFTER_MS, describeStuck, nudgePatch, podsToNudge } from './stuck-pods.ts';


interface ApiConnection {
  readonly server: URL;
  readonly tls: Pick<RequestOptions, 'ca' | 'cert' | 'key'>;
  /**
   * Kept-alive connections for short requests (plans, events, nudges). A pod start writes about six
   * of them; with a new TLS connection each, the handshakes cost the API server and this process
   * more CPU than the requests themselves at 1,000 nodes.
   */
  readonly pool: Agent;
}

/** A connection to the API server; `pool` stays open between requests. */
function apiConnection(server: URL, tls: ApiConnection['tls']): ApiConnection {
  return { server, tls, pool: new Agent({ ...tls, keepAlive: true, maxSockets: PLAN_PATCHES_IN_FLIGHT }) };
}

/** Sends one request; a watch (`long`) gets its own connection, so it never holds a pooled one. */
function apiRequest(api: ApiConnection, method: string, path: string, body?: unknown, contentType = 'application/json', long = false): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const agent = long ? false : api.pool;
    const request = httpsRequest(new URL(path, api.server), { method, ...api.tls, agent, headers: { 'Content-Type': contentType, Accept: 'application/json' } }, resolve);
    request.on('error', reject);
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function readBody(response: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of response) text += chunk;
  return text;
}

/**
 * A short hash of what the plan depends on (the spec, and what its ConfigMap and Secret references
 * resolve to), so an in-place image change or a ConfigMap created later gets a new plan.
 */
function specHash(pod: V1Pod, objects: ClusterObjects): string {
  const references = [volumeSourceProblem(pod, objects), ...(pod.spec?.containers ?? []).map((c) => containerConfigProblem(pod, c, objects))];
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const inputs = containers.map((c) => [c.name, c.image, c.command, c.args, c.readinessProbe, c.livenessProbe, c.env, c.envFrom, c.restartPolicy]);
  return createHash('sha256').update(JSON.stringify([inputs, pod.spec?.volumes, references])).digest('hex').slice(0, 12);
}

/**
 * The images each node has pulled, learned from its pods' statuses (a container with an imageID
 * was pulled there). A node keeps them after the pods are gone, as containerd does until image
 * garbage collection, which the simulated disk never needs.
 */
function nodeImageStore() {
  const images = new Map<string, Set<string>>();
  return {
    note(pod: V1Pod): void {
      const node = pod.spec?.nodeName;
      if (!node) return;
      for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
        if (!status.imageID || !status.image) continue;
        if (!images.has(node)) images.set(node, new Set());
        images.get(node)!.add(canonicalImage(status.image));
      }
    },
    has: (node: string, image: string): boolean => images.get(node)?.has(canonicalImage(image)) ?? false,
  };
}

/** Pods by namespace/name, kept current by the watch. */
const pods = new Map<string, V1Pod>();
const podKey = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * How many plan patches may be in flight at once. kwok starts no container before its pod's plan,
 * so at 1,000 nodes planning paced every start: 8 at a time, on a machine whose API server answered
 * in about a second, planned 10 pods a second and left 600 of 2,000 new pods waiting (measured).
 * A kubelet per node works on its own pods; 32 keeps up with kwok's 32 Stage workers.
 */
const PLAN_PATCHES_IN_FLIGHT = 32;

/** How long to wait before planning a pod again after its patch failed: doubling, at most 5 s. */
function retryDelay(attempt: number): number {
  return Math.min(250 * 2 ** attempt, 5000);
}

/**
 * Annotates pods whose plan is missing or stale, {@link PLAN_PATCHES_IN_FLIGHT} at a time. A failed patch (a busy API server
 * answers 429 or times out) is retried with the pod's latest version: nothing else would ever
 * plan it again, since kwok waits for the plan and so the pod never changes by itself.
 */
function planner(api: ApiConnection, registry: Registry, objects: ClusterObjects, nodeImages: ReturnType<typeof nodeImageStore>) {
  const queue: Array<{ pod: V1Pod; key: string; hash: string }> = [];
  const queued = new Set<string>();
  const failures = new Map<string, number>();
  let running = 0;
  const retryLater = (key: string) => {
    const attempt = failures.get(key) ?? 0;
    failures.set(key, attempt + 1);
    setTimeout(() => {
      const latest = pods.get(key);
      if (latest) enqueue(latest);
      else failures.delete(key); // Deleted meanwhile: nothing to plan.
    }, retryDelay(attempt));
  };
  const patchPlan = (pod: V1Pod, key: string, hash: string) => {
    const node = pod.spec!.nodeName!;
    const plan = JSON.stringify({ ...planPod(pod, registry, objects, (image) => nodeImages.has(node, image)), spec: hash });
    const patch = { metadata: { annotations: { [PLAN_ANNOTATION]: plan } } };
    const path = `/api/v1/namespaces/${pod.metadata!.namespace}/pods/${pod.metadata!.name}`;
    return apiRequest(api, 'PATCH', path, patch, 'application/merge-patch+json').then(async (response) => {
      const text = await readBody(response);
      if (response.statusCode === 200 || response.statusCode === 404) return failures.delete(key);
      console.error(`plan for ${key}: HTTP ${response.statusCode} ${text.slice(0, 200)}; retrying`);
      retryLater(key);
    });
  };
  const pump = () => {
    while (running < PLAN_PATCHES_IN_FLIGHT && queue.length > 0) {
      const { pod, key, hash } = queue.shift()!;
      queued.delete(key);
      running += 1;
      patchPlan(pod, key, hash)
        .catch((error: Error) => {
          console.error(`plan for ${key}: ${error.message}; retrying`);
          retryLater(key);
        })
        .finally(() => {
          running -= 1;
          pump();
        });
    }
  };
  const enqueue = (pod: V1Pod) => {
    // Planned once bound, as a kubelet sees a pod only then: whether the image must be pulled
    // depends on the node. kwok plays no Stage before that either.
    if (pod.metadata?.deletionTimestamp || !pod.spec?.nodeName) return;
    const hash = specHash(pod, objects);
    const current = pod.metadata?.annotations?.[PLAN_ANNOTATION];
    if (current && current.includes(`"spec":"${hash}"`)) return;
    const key = podKey(pod.metadata!.namespace!, pod.metadata!.name!);
    if (queued.has(key)) return;
    queued.add(key);
    queue.push({ pod, key, hash });
    pump();
  };
  return enqueue;
}

/** The Event name for one kubelet event: the same object for every repeat, as the kubelet's correlator keeps it. */
function eventName(pod: V1Pod, event: KubeletEvent): string {
  const hash = createHash('sha256').update(`${pod.metadata?.uid}/${event.container}/${event.reason}/${event.key}`).digest('hex').slice(0, 16);
  return `${pod.metadata!.name}.${hash}`;
}

/** Writes one event: creates it, or raises the count of the one already there. Throws when refused. */
async function writeEvent(api: ApiConnection, pod: V1Pod, name: string, event: KubeletEvent): Promise<void> {
  const namespace = pod.metadata!.namespace!;
  const now = new Date().toISOString();
  const body = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, namespace, uid: pod.metadata!.uid, fieldPath: `spec.containers{${event.container}}` },
    reason: event.reason,
    message: event.message,
    type: event.type,
    source: { component: 'kubelet', host: pod.spec?.nodeName },
    reportingComponent: 'kubelet',
    reportingInstance: pod.spec?.nodeName,
    firstTimestamp: now,
    lastTimestamp: now,
    count: event.count,
  };
  const created = await apiRequest(api, 'POST', `/api/v1/namespaces/${namespace}/events`, body);
  const createdText = await readBody(created);
  if (created.statusCode === 201 || created.statusCode === 200) return;
  if (created.statusCode !== 409) throw new Error(`create event ${name}: HTTP ${created.statusCode} ${createdText.slice(0, 200)}`);
  const patched = await apiRequest(api, 'PATCH', `/api/v1/namespaces/${namespace}/events/${name}`, { count: event.count, lastTimestamp: now, message: event.message }, 'application/merge-patch+json');
  const patchedText = await readBody(patched);
  if (patched.statusCode !== 200) throw new Error(`update event ${name}: HTTP ${patched.statusCode} ${patchedText.slice(0, 200)}`);
}

/** How many times a refused event is sent again (after 1 s, 2 s, 4 s, …) before it is given up. */
const EVENT_ATTEMPTS = 6;

/**
 * Writes the kubelet's events (kubelet-events.ts): creates each one, or raises its count. A count
 * is remembered as written only once the API server took it, so a repeated decision writes
 * nothing and a refused one (a busy API server answers 429) is sent again.
 */
function eventRecorder(api: ApiConnection) {
  /** Counts written, by pod uid and event name; a deleted pod's are dropped by {@link forget}. */
  const written = new Map<string, Map<string, number>>();
  /** Events being sent (uid/name/count), so a decision repeated meanwhile does not send them twice. */
  const sending = new Set<string>();
  const send = async (pod: V1Pod, event: KubeletEvent): Promise<void> => {
    const uid = pod.metadata?.uid ?? '';
    const name = eventName(pod, event);
    const key = `${uid}/${name}/${event.count}`;
    if ((written.get(uid)?.get(name) ?? 0) >= event.count || sending.has(key)) return;
    sending.add(key);
    try {
      for (let attempt = 0; ; attempt += 1) {
        try {
          await writeEvent(api, pod, name, event);
          break;
        } catch (error) {
          if (attempt + 1 >= EVENT_ATTEMPTS) throw error;
          console.error(`${(error as Error).message}; retrying`);
          await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** attempt));
          if (!pods.has(podKey(pod.metadata!.namespace!, pod.metadata!.name!))) return; // Deleted meanwhile.
        }
      }
    } finally {
      sending.delete(key);
    }
    const ofPod = written.get(uid) ?? new Map<string, number>();
    written.set(uid, ofPod);
    ofPod.set(name, Math.max(ofPod.get(name) ?? 0, event.count));
  };
  const record = async (pod: V1Pod, events: readonly KubeletEvent[]): Promise<void> => {
    for (const event of events) await send(pod, event);
  };
  /** Drops what was written for pods that no longer exist, so the helper's memory follows the pods. */
  const forget = (liveUids: ReadonlySet<string>) => {
    for (const uid of written.keys()) if (!liveUids.has(uid)) written.delete(uid);
  };
  return { record, forget };
}

/** Records the kubelet's events for pod changes, and counts failing readiness probes on a timer. */
function kubeletEvents(api: ApiConnection): (pod: V1Pod, previous: V1Pod | undefined) => void {
  const { record, forget } = eventRecorder(api);
  const report = (pod: V1Pod, events: readonly KubeletEvent[]) => {
    if (events.length) record(pod, events).catch((error: Error) => console.error(`events for ${pod.metadata?.name}: ${error.message}`));
  };
  setInterval(() => {
    for (const pod of pods.values()) report(pod, readinessEvents(pod, new Date()));
    forget(new Set([...pods.values()].map((pod) => pod.metadata?.uid ?? '')));
  }, READINESS_TICK_MS).unref();
  return (pod, previous) => report(pod, eventsForChange(previous, pod));
}

/** Every few seconds, hands kwok a fresh copy of each pod it lost track of (stuck-pods.ts). */
function nudgeStuckPods(api: ApiConnection): void {
  const lastNudged = new Map<string, number>();
  setInterval(() => {
    const now = new Date();
    const present = new Set([...pods.values()].map((pod) => pod.metadata?.uid ?? ''));
    for (const uid of lastNudged.keys()) if (!present.has(uid)) lastNudged.delete(uid);
    for (const pod of podsToNudge(pods.values(), now, lastNudged)) {
      const { namespace, name, uid } = pod.metadata!;
      lastNudged.set(uid!, now.getTime());
      console.error(`${describeStuck(pod)}: nudging kwok`);
      apiRequest(api, 'PATCH', `/api/v1/namespaces/${namespace}/pods/${name}`, nudgePatch(now), 'application/merge-patch+json')
        .then(readBody)
        .catch((error: Error) => console.error(`nudge ${namespace}/${name}: ${error.message}`));
    }
  }, STUCK_AFTER_MS / 6).unref();
}

/** A Kubernetes object as a watch reports it; only its metadata is read here. */
type KubeObject = { metadata?: { name?: string; namespace?: string } };

/** What to do with a listed resource: take the whole list, then each change. */
interface ListHandlers<T extends KubeObject> {
  reset(items: readonly T[]): void;
  change(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void;
}

/**
 * Lists and then watches a resource (`/api/v1/pods`), for ever, reconnecting after errors.
 * `listed` resolves after the first complete list.
 */
async function watchList<T extends KubeObject>(api: ApiConnection, path: string, handlers: ListHandlers<T>, listed: () => void = () => {}): Promise<never> {
  for (;;) {
    try {
      const list = await apiRequest(api, 'GET', `${path}?limit=0`);
      if (list.statusCode !== 200) throw new Error(`list ${path}: HTTP ${list.statusCode}`);
      const body = JSON.parse(await readBody(list)) as { items: T[]; metadata: { resourceVersion: string } };
      handlers.reset(body.items);
      listed();
      const watch = await apiRequest(api, 'GET', `${path}?watch=1&allowWatchBookmarks=true&resourceVersion=${body.metadata.resourceVersion}`, undefined, undefined, true);
      if (watch.statusCode !== 200) throw new Error(`watch ${path}: HTTP ${watch.statusCode}`);
      let buffer = '';
      for await (const chunk of watch) {
        buffer += chunk;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (!line.trim()) continue;
          const event = JSON.parse(line) as { type: string; object: T };
          if (event.type === 'ERROR') throw new Error(`watch ${path}: ${JSON.stringify(event.object)}`);
          if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') handlers.change(event.type, event.object);
        }
      }
    } catch (error) {
      if (!String((error as Error).message).includes('ECONNREFUSED')) console.error(`${path} watch: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Pods, kept in {@link pods}: `onPod` sees each listed pod and each change, with its previous version. */
function podHandlers(onPod: (pod: V1Pod, previous: V1Pod | undefined) => void): ListHandlers<V1Pod> {
  return {
    reset(items) {
      pods.clear();
      for (const pod of items) {
        pods.set(podKey(pod.metadata!.namespace!, pod.metadata!.name!), pod);
        onPod(pod, undefined);
      }
    },
    change(type, pod) {
      const key = podKey(pod.metadata!.namespace!, pod.metadata!.name!);
      if (type === 'DELETED') return void pods.delete(key);
      const previous = pods.get(key);
      pods.set(key, pod);
      onPod(pod, previous);
    },
  };
}

/** The data keys of listed objects (never their values), by namespace/name. */
function keyStore<T extends KubeObject & { data?: Record<string, string>; binaryData?: Record<string, string> }>(onChange: (namespace: string) => void) {
  const keys = new Map<string, ReadonlySet<string>>();
  const keysOf = (object: T) => new Set([...Object.keys(object.data ?? {}), ...Object.keys(object.binaryData ?? {})]);
  const handlers: ListHandlers<T> = {
    reset(items) {
      keys.clear();
      for (const item of items) keys.set(podKey(item.metadata!.namespace!, item.metadata!.name!), keysOf(item));
      for (const namespace of new Set(items.map((item) => item.metadata!.namespace!))) onChange(namespace);
    },
    change(type, object) {
      const key = podKey(object.metadata!.namespace!, object.metadata!.name!);
      if (type === 'DELETED') keys.delete(key);
      else keys.set(key, keysOf(object));
      onChange(object.metadata!.namespace!);
    },
  };
  return { handlers, get: (namespace: string, name: string) => keys.get(podKey(namespace, name)) };
}

function logOptions(url: URL): LogOptions {
  const number = (name: string) => (url.searchParams.has(name) ? Number(url.searchParams.get(name)) : undefined);
  const flag = (name: string) => url.searchParams.get(name) === 'true' || url.searchParams.get(name) === '1';
  const tail = url.searchParams.get('tailLines') ?? url.searchParams.get('tail');
  return {
    previous: flag('previous'),
    follow: flag('follow'),
    timestamps: flag('timestamps'),
    tailLines: tail !== null && tail !== 'all' ? Number(tail) : undefined,
    sinceSeconds: number('sinceSeconds'),
    sinceTime: url.searchParams.get('sinceTime') ?? undefined,
    limitBytes: number('limitBytes'),
  };
}

/** One request to the simulated kubelet. */
async function serveKubelet(registry: Registry, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'https://localhost');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'containerLogs' && parts.length === 4 && request.method === 'GET') {
    const [, namespace, name, container] = parts as [string, string, string, string];
    const pod = pods.get(podKey(namespace, name));
    try {
      if (!pod) throw new LogRequestError(`pod "${name}" in namespace "${namespace}" not found on this node`);
      const options = logOptions(url);
      // Refuse before the first byte: the API server passes the kubelet's status on to kubectl.
      selectRun(pod, container, options.previous);
      response.writeHead(200, { 'Content-Type': 'text/plain' });
      await containerLogs(pod, container, options, registry, {
        write: (text) => response.write(text),
        current: () => pods.get(podKey(namespace, name)),
        closed: () => response.destroyed || response.writableEnded,
      });
      response.end();
    } catch (error) {
      if (!(error instanceof LogRequestError)) throw error;
      response.writeHead(400, { 'Content-Type': 'text/plain' });
      response.end(error.message);
    }
    return;
  }
  if (['exec', 'attach', 'portForward', 'run'].includes(parts[0] ?? '')) {
    // A real kubelet would run the command in the container; the simulated node has no containers
    // and never runs anything on the host.
    response.writeHead(400, { 'Content-Type': 'text/plain' });
    response.end(`${parts[0]} is not available on a simulated node of the embedded engine: its containers are a model, not processes. Use the kind engine (npm run cluster -- up --provider kind) to ${parts[0] === 'portForward' ? 'forward ports' : 'run commands in containers'}.`);
    return;
  }
  if (parts[0] === 'healthz') {
    response.writeHead(200, { 'Content-Type': 'text/plain' });
    response.end('ok');
    return;
  }
  response.writeHead(404, { 'Content-Type': 'text/plain' });
  response.end('404 page not found');
}

/**
 * Watches ConfigMaps and Secrets (their keys: what a pod's references resolve to) and then pods,
 * planning each pod and writing its events; a pod is planned again when an object of its
 * namespace changes (the plan's hash tells whether that changed anything).
 */
async function watchCluster(api: ApiConnection, registry: Registry): Promise<never> {
  const replan = (namespace: string) => {
    for (const pod of pods.values()) if (pod.metadata?.namespace === namespace) plan(pod);
  };
  const configMaps = keyStore(replan);
  const secrets = keyStore(replan);
  const objects: ClusterObjects = { configMapKeys: configMaps.get, secretKeys: secrets.get };
  const nodeImages = nodeImageStore();
  const plan = planner(api, registry, objects, nodeImages);
  const recordEvents = kubeletEvents(api);
  nudgeStuckPods(api);
  // Pods are planned only once both lists are known, so no pod is planned against a partial view.
  await Promise.all([
    new Promise<void>((listed) => void watchList(api, '/api/v1/configmaps', configMaps.handlers, listed)),
    new Promise<void>((listed) => void watchList(api, '/api/v1/secrets', secrets.handlers, listed)),
  ]);
  return watchList(api, '/api/v1/pods', podHandlers((pod, previous) => {
    nodeImages.note(pod);
    plan(pod);
    recordEvents(pod, previous);
  }));
}

async function main(): Promise<void> {
  const names = ['server', 'ca', 'cert', 'key', 'port', 'registry'] as const;
  const { values } = parseArgs({ options: Object.fromEntries(names.map((name) => [name, { type: 'string' }])) as Record<(typeof names)[number], { type: 'string' }> });
  const missing = names.filter((name) => !values[name]);
  if (missing.length > 0) {
    console.error(`agent: missing --${missing.join(', --')}`);
    process.exit(2);
  }
  const registry = registryFromSnapshot(JSON.parse(readFileSync(values.registry!, 'utf8')) as RegistrySnapshot);
  const api = apiConnection(new URL(values.server!), { ca: readFileSync(values.ca!), cert: readFileSync(values.cert!), key: readFileSync(values.key!) });
  // Only the API server (with its kubelet client certificate, signed by the cluster's CA) may ask:
  // another user of the machine gets no TLS session, so no pod's logs.
  const server = createServer({ cert: api.tls.cert, key: api.tls.key, ca: api.tls.ca, requestCert: true, rejectUnauthorized: true }, (request, response) => {
    serveKubelet(registry, request, response).catch((error: Error) => {
      console.error(`kubelet request ${request.url}: ${error.stack}`);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  server.listen(Number(values.port), '127.0.0.1');
  await watchCluster(api, registry);
}

await main();
