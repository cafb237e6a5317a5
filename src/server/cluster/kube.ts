/**
 * Small helpers over @kubernetes/client-node: clients for one kubeconfig, server-side apply, and
 * the API server's own words when a call fails.
 */
import { createHash } from 'node:crypto';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  bufferFromFileOrString,
  type RequestContext,
  KubernetesObjectApi,
  PatchStrategy,
  SchedulingV1Api,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';

/** The field manager every write of this project uses, visible in managedFields. */
export const FIELD_MANAGER = 'daemonset-lab';

/** Typed API clients for one cluster. */
export interface KubeClients {
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly scheduling: SchedulingV1Api;
  readonly objects: KubernetesObjectApi;
}

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/** How many connection pools are kept (one per cluster and user); the oldest is closed beyond. */
const MAX_POOLS = 8;
const pools = new Map<string, Dispatcher>();

/**
 * What a request's connection depends on: the server, how it is verified and who connects (the
 * certificates' contents, so a cluster made afresh under the same file names gets new connections).
 */
function connectionKey(config: KubeConfig): string {
  const cluster = config.getCurrentCluster();
  const user = config.getCurrentUser();
  const hash = createHash('sha256');
  for (const part of [cluster?.server, cluster?.proxyUrl, cluster?.tlsServerName, String(cluster?.skipTLSVerify ?? false), user?.name]) hash.update(`${part ?? ''}\0`);
  for (const material of [bufferFromFileOrString(cluster?.caFile, cluster?.caData), bufferFromFileOrString(user?.certFile, user?.certData), bufferFromFileOrString(user?.keyFile, user?.keyData)]) {
    hash.update(material ?? '').update('\0');
  }
  return hash.digest('hex');
}

/**
 * A KubeConfig whose requests share connections. client-node gives every request a new undici
 * Agent, so each API call made a TLS handshake of its own and kept its TLS context until the
 * connection timed out: under 50 open lab pages the server's RSS grew by about 70 KB per call
 * and never gave it back. Here the first Agent made for a cluster and user serves every later
 * request (kept-alive connections, one TLS context); the ones made afresh are never used.
 */
export class PooledKubeConfig extends KubeConfig {
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    const key = connectionKey(this);
    let pool = pools.get(key);
    if (pool) {
      // Most recently used last: the one closed beyond MAX_POOLS is the least recently used.
      pools.delete(key);
      pools.set(key, pool);
    } else {
      pool = fresh;
      pools.set(key, pool);
      const oldest = pools.size > MAX_POOLS ? pools.keys().next().value : undefined;
      if (oldest !== undefined) {
        // Gracefully: requests already on it finish first.
        void pools.get(oldest)?.close().catch(() => undefined);
        pools.delete(oldest);
      }
    }
    context.setDispatcher(pool);
  }
}

/** Clients for a kubeconfig file, at its current context or the one named. */
export function kubeClients(kubeconfigPath: string, context?: string): KubeClients {
  const config = new PooledKubeConfig();
  config.loadFromFile(kubeconfigPath);
  if (context) config.setCurrentContext(context);
  return clientsFor(config);
}

/** Clients for a loaded KubeConfig. */
export function clientsFor(config: KubeConfig): KubeClients {
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    scheduling: config.makeApiClient(SchedulingV1Api),
    objects: KubernetesObjectApi.makeApiClient(config),
  };
}

/** Options for a JSON Patch request (a list of operations). */
export const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/** Options for a JSON merge patch request (a partial object); client-node would send JSON Patch. */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** HTTP status of a failed API call, or undefined for a transport error. */
export function statusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

export const isNotFound = (error: unknown) => statusCode(error) === 404;
export const isConflict = (error: unknown) => statusCode(error) === 409;

/**
 * What the API server said, e.g. `DaemonSet.apps "x" is invalid: spec.selector: Required value`.
 * Falls back to the error's own message for transport errors (connection refused, timeouts).
 */
export function apiServerMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = error.body;
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
      if (status?.message) return status.message;
    } catch {
      // Not a Status object: use the raw text below.
    }
    return `HTTP ${error.code}: ${String(body).slice(0, 500)}`;
  }
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause;
    return cause?.code ? `${error.message} (${cause.code})` : error.message;
  }
  return String(error);
}

/** Creates or updates an object with server-side apply, as `kubectl apply --server-side` does. */
export async function serverSideApply<T extends KubernetesObject>(clients: KubeClients, object: T): Promise<T> {
  return clients.objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

/**
 * Polls `probe` until it returns a value other than undefined, or throws when `timeoutMs` passes,
 * quoting the last observation so the failure says what was seen. An aborted `signal` stops it
 * with the signal's reason.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 150,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const seen = lastError ? `: last error: ${apiServerMessage(lastError)}` : '';
      throw new Error(`Timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${seen}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
