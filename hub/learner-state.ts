/**
 * A learner's lab state as the hub keeps it: what the proxy saw pass (files saved, labs opened,
 * files applied) goes into PostgreSQL; a new pod for the learner gets it back through the
 * workspace server's own HTTP API before the learner's page opens it.
 */
import { z } from 'zod';
import type { LabExchange, Upstream } from './proxy.ts';
import type { HubStore, WorkspaceSnapshot } from './store.ts';

const LAB_CALL = /^\/api\/labs\/([a-z0-9-]+)\/(start|reset|solve|apply|files)(?:\/(.+))?$/;
const ApplyBodySchema = z.object({ path: z.string().min(1) });

/** Stores what an exchange changed; returns what it was, for logs and tests. */
export async function recordExchange(store: HubStore, exchange: LabExchange): Promise<'file' | 'lab' | 'apply' | undefined> {
  const [pathname] = exchange.path.split('?');
  const match = LAB_CALL.exec(pathname ?? '');
  if (!match) return undefined;
  const [, labId = '', action, rest] = match;
  if (action === 'files' && exchange.method === 'PUT' && rest) {
    await store.saveFile(exchange.learnerId, { labId, path: decodeURIComponent(rest), content: exchange.requestBody.toString('utf8') });
    return 'file';
  }
  if ((action === 'start' || action === 'reset' || action === 'solve') && exchange.method === 'POST') {
    await store.setActiveLab(exchange.learnerId, labId, action !== 'start');
    return 'lab';
  }
  if (action === 'apply' && exchange.method === 'POST') {
    let parsed;
    try {
      parsed = ApplyBodySchema.safeParse(JSON.parse(exchange.requestBody.toString('utf8')));
    } catch {
      return undefined;
    }
    if (!parsed.success) return undefined; // An inline apply (no file) has nothing to replay.
    await store.recordApply(exchange.learnerId, labId, parsed.data.path);
    return 'apply';
  }
  return undefined;
}

/** A call to a pod (a restore step, a warm pod's lab start) that it refused, named with what it said. */
export class RestoreError extends Error {}

/** Where a pod's workspace server answers and the token it takes. */
type PodAddress = Pick<Upstream, 'origin' | 'token'>;

/** One call to a pod's workspace server API; a refusal is a RestoreError quoting the answer. */
async function podCall(pod: PodAddress, method: string, path: string, body?: string, type = 'application/json'): Promise<void> {
  const response = await fetch(`${pod.origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${pod.token}`, ...(body === undefined ? {} : { 'content-type': type }) },
    body,
  });
  if (!response.ok) throw new RestoreError(`${method} ${path} failed: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
}

/**
 * Starts a lab in a new warm pod before anyone signs in to it: the call returns once the pod's
 * cluster is up and the lab set up, so the learner who gets the pod waits for neither.
 */
export async function prepareLab(pod: PodAddress, labId: string): Promise<void> {
  await podCall(pod, 'POST', `/api/labs/${labId}/start`);
}

/** Puts a snapshot into a fresh pod: files, then the lab it had open, then its applies in order. */
export async function restoreWorkspace(upstream: Upstream, snapshot: WorkspaceSnapshot): Promise<void> {
  const call = (method: string, path: string, body?: string, type?: string) => podCall(upstream, method, path, body, type);
  for (const file of snapshot.files) {
    await call('PUT', `/api/labs/${file.labId}/files/${file.path.split('/').map(encodeURIComponent).join('/')}`, file.content, 'text/plain');
  }
  if (!snapshot.activeLab) return;
  await call('POST', `/api/labs/${snapshot.activeLab}/start`);
  for (const applied of snapshot.applied.filter((a) => a.labId === snapshot.activeLab)) {
    await call('POST', `/api/labs/${applied.labId}/apply`, JSON.stringify({ path: applied.path }));
  }
}
