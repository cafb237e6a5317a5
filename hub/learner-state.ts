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

/** A restore step the pod refused, named with what it said. */
export class RestoreError extends Error {}

/** Puts a snapshot into a fresh pod: files, then the lab it had open, then its applies in order. */
export async function restoreWorkspace(upstream: Upstream, snapshot: WorkspaceSnapshot): Promise<void> {
  const call = async (method: string, path: string, body?: string, type = 'application/json') => {
    const response = await fetch(`${upstream.origin}${path}`, {
      method,
      headers: { authorization: `Bearer ${upstream.token}`, ...(body === undefined ? {} : { 'content-type': type }) },
      body,
    });
    if (!response.ok) throw new RestoreError(`Restoring ${method} ${path} failed: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
  };
  for (const file of snapshot.files) {
    await call('PUT', `/api/labs/${file.labId}/files/${file.path.split('/').map(encodeURIComponent).join('/')}`, file.content, 'text/plain');
  }
  if (!snapshot.activeLab) return;
  await call('POST', `/api/labs/${snapshot.activeLab}/start`);
  for (const applied of snapshot.applied.filter((a) => a.labId === snapshot.activeLab)) {
    await call('POST', `/api/labs/${applied.labId}/apply`, JSON.stringify({ path: applied.path }));
  }
}
