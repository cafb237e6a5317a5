/**
 * What the labs created on a cluster that is not a lab cluster (the existing engine with
 * --allow-non-lab-cluster). Such a cluster holds the user's own workloads, so lab set-up and reset
 * there delete only objects recorded here — by uid, so a same-named object someone made later is
 * never taken for ours — and say which before they do.
 */
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { writeFileAtomicSync } from '../atomic-file.ts';
import { dirname, join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { z } from 'zod';
import { isConflict, isNotFound, type KubeClients } from './kube.ts';

export const CreatedObjectSchema = z.object({
  context: z.string().describe('The kubeconfig context the object was created through'),
  apiVersion: z.string(),
  kind: z.string(),
  namespace: z.string().optional(),
  name: z.string(),
  uid: z.string().describe('Deleted only while the live object still has this uid'),
});
export type CreatedObject = z.infer<typeof CreatedObjectSchema>;

const CreatedObjectsFileSchema = z.object({ objects: z.array(CreatedObjectSchema) });

/** Where the record is kept. */
export function createdObjectsFile(stateDir: string): string {
  return join(stateDir, 'existing', 'created-objects.json');
}

function readAll(file: string): CreatedObject[] {
  if (!existsSync(file)) return [];
  const parsed = CreatedObjectsFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  // A damaged record deletes nothing: forgetting an object is safe, deleting a stranger's is not.
  return parsed.success ? parsed.data.objects : [];
}

function writeAll(file: string, objects: readonly CreatedObject[]): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(file, `${JSON.stringify({ objects }, null, 2)}\n`);
}

/** The objects recorded for a context. */
export function createdObjects(file: string, context: string): CreatedObject[] {
  return readAll(file).filter((o) => o.context === context);
}

/** Records an object the API server answered a create with (it carries the uid). */
export function recordCreated(file: string, context: string, object: KubernetesObject): void {
  const uid = object.metadata?.uid;
  if (!uid || !object.kind || !object.apiVersion || !object.metadata?.name) return;
  const entry: CreatedObject = { context, apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, uid, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) };
  writeAll(file, [...readAll(file).filter((o) => o.uid !== uid), entry]);
}

/** e.g. `DaemonSet default/nginx-daemonset`. */
export function describeCreated(object: CreatedObject): string {
  return `${object.kind} ${object.namespace ? `${object.namespace}/` : ''}${object.name}`;
}

/**
 * Deletes the recorded objects of `context` that still exist with their recorded uid, forgets
 * them, and returns what it deleted. Objects whose uid changed (deleted and re-made by someone)
 * are forgotten, not deleted.
 */
export async function deleteCreated(clients: KubeClients, file: string, context: string): Promise<string[]> {
  const deleted: string[] = [];
  for (const object of createdObjects(file, context)) {
    const ref = { apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.name, ...(object.namespace ? { namespace: object.namespace } : {}) } };
    try {
      const live = await clients.objects.read(ref);
      if (live.metadata?.uid !== object.uid) continue;
      // The precondition makes the API server refuse if the object was replaced in between.
      await clients.objects.delete(ref, undefined, undefined, undefined, undefined, 'Background', { preconditions: { uid: object.uid } });
      deleted.push(describeCreated(object));
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }
  writeAll(file, readAll(file).filter((o) => o.context !== context));
  return deleted;
}
