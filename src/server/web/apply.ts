/**
 * Applies a manifest the way `kubectl apply --server-side` does and reports, per document, what
 * the API server answered. Only on a lab cluster: the marker ConfigMap must be there.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { isLabCluster } from '../cluster/baseline.ts';
import { apiServerMessage, isNotFound, serverSideApply, type KubeClients } from '../cluster/kube.ts';
import type { ApplyResponse } from '../../shared/workspace-protocol.ts';
import { HttpError } from './http-error.ts';

/** The kind/name label kubectl prints, e.g. `daemonset.apps/nginx`. */
function objectLabel(object: KubernetesObject): string {
  const group = object.apiVersion?.includes('/') ? `.${object.apiVersion.split('/')[0]}` : '';
  return `${(object.kind ?? 'object').toLowerCase()}${group}/${object.metadata?.name ?? '?'}`;
}

/** Applies every document of `text`; YAML errors are reported with line and column, nothing is applied then. */
export async function applyManifest(clients: KubeClients, text: string, allowNonLabCluster = false): Promise<ApplyResponse> {
  const documents = parseAllDocuments(text, { prettyErrors: true });
  const errors = documents.flatMap((doc, index) =>
    doc.errors.map((error) => ({
      object: `document ${index + 1}`,
      ok: false,
      message: `YAML error at line ${error.linePos?.[0]?.line ?? '?'}, column ${error.linePos?.[0]?.col ?? '?'}: ${error.message.split('\n')[0]}`,
    })),
  );
  if (errors.length > 0) return { ok: false, results: errors };
  let objects: KubernetesObject[];
  try {
    objects = documents.map((doc) => doc.toJS({ maxAliasCount: 100 }) as KubernetesObject | null).filter((o): o is KubernetesObject => o !== null && typeof o === 'object');
  } catch (error) {
    // An alias bomb ("billion laughs") or an alias to nothing: the YAML library refuses to expand it.
    return { ok: false, results: [{ object: 'file', ok: false, message: `YAML error: ${(error as Error).message.split('\n')[0]}` }] };
  }
  if (objects.length === 0) return { ok: false, results: [{ object: 'file', ok: false, message: 'The file holds no Kubernetes object' }] };
  if (!allowNonLabCluster && !(await guardedIsLabCluster(clients))) {
    throw new HttpError(409, 'The cluster is not a lab cluster (no daemonset-lab marker), so the workspace will not change it', 'Start the lab cluster with `npm run cluster -- up`.');
  }
  const results: ApplyResponse['results'] = [];
  for (const [index, object] of objects.entries()) {
    const label = object.kind && object.metadata?.name ? objectLabel(object) : `document ${index + 1}`;
    try {
      let before: KubernetesObject | undefined;
      try {
        before = await clients.objects.read(object as KubernetesObject & { metadata: { name: string } });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      const after = await serverSideApply(clients, object);
      const message = !before ? 'created' : before.metadata?.resourceVersion === after.metadata?.resourceVersion ? 'unchanged' : 'configured';
      results.push({ object: label, ok: true, message });
    } catch (error) {
      results.push({ object: label, ok: false, message: apiServerMessage(error) });
    }
  }
  return { ok: results.every((r) => r.ok), results };
}

async function guardedIsLabCluster(clients: KubeClients): Promise<boolean> {
  try {
    return await isLabCluster(clients);
  } catch (error) {
    throw new HttpError(503, `The cluster does not answer: ${apiServerMessage(error)}`, 'Start it: npm run cluster -- up');
  }
}
