/**
 * ConfigMaps and Secrets a pod refers to, as the kubelet resolves them: a volume whose object (or
 * listed key) is missing fails to mount (FailedMount, the pod stays ContainerCreating), and an
 * environment variable whose object or key is missing keeps the container from being created
 * (CreateContainerConfigError). `optional: true` references may be missing. The messages are the
 * kubelet's (pkg/volume/configmap, pkg/volume/secret, makeEnvironmentVariables in kubelet_pods.go);
 * its watch-based managers name the resource in the singular: `configmap "x" not found`.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';

/** The ConfigMaps and Secrets the node's kubelet can see: their data keys, or undefined when missing. */
export interface ClusterObjects {
  configMapKeys(namespace: string, name: string): ReadonlySet<string> | undefined;
  secretKeys(namespace: string, name: string): ReadonlySet<string> | undefined;
}

interface Reference {
  readonly kind: 'configmap' | 'secret';
  readonly name: string;
  readonly optional: boolean;
}

function keysOf(objects: ClusterObjects, namespace: string, reference: Reference): ReadonlySet<string> | undefined {
  return reference.kind === 'configmap' ? objects.configMapKeys(namespace, reference.name) : objects.secretKeys(namespace, reference.name);
}

/**
 * The kubelet's FailedMount message for the first ConfigMap or Secret volume that cannot be set up,
 * e.g. `MountVolume.SetUp failed for volume "config" : configmap "agent-config" not found`.
 */
export function volumeSourceProblem(pod: V1Pod, objects: ClusterObjects): string | undefined {
  const namespace = pod.metadata?.namespace ?? 'default';
  for (const volume of pod.spec?.volumes ?? []) {
    const source = volume.configMap ?? volume.secret;
    if (!source) continue;
    const reference: Reference = volume.configMap
      ? { kind: 'configmap', name: volume.configMap.name ?? '', optional: volume.configMap.optional ?? false }
      : { kind: 'secret', name: volume.secret!.secretName ?? '', optional: volume.secret!.optional ?? false };
    const keys = keysOf(objects, namespace, reference);
    const failed = (detail: string) => `MountVolume.SetUp failed for volume "${volume.name}" : ${detail}`;
    if (!keys) {
      if (reference.optional) continue;
      return failed(`${reference.kind} "${reference.name}" not found`);
    }
    const missingKey = (source.items ?? []).find((item) => !keys.has(item.key));
    if (missingKey && !reference.optional) {
      return failed(reference.kind === 'configmap' ? `configmap references non-existent config key: ${missingKey.key}` : `secret references non-existent secret key: ${missingKey.key}`);
    }
  }
  return undefined;
}

/**
 * Why the kubelet cannot make a container's environment (CreateContainerConfigError), e.g.
 * `configmap "agent-config" not found` or `couldn't find key level in ConfigMap default/agent-config`.
 * envFrom is resolved before env, as the kubelet does.
 */
export function containerConfigProblem(pod: V1Pod, container: V1Container, objects: ClusterObjects): string | undefined {
  const namespace = pod.metadata?.namespace ?? 'default';
  for (const source of container.envFrom ?? []) {
    const reference: Reference | undefined = source.configMapRef
      ? { kind: 'configmap', name: source.configMapRef.name ?? '', optional: source.configMapRef.optional ?? false }
      : source.secretRef ? { kind: 'secret', name: source.secretRef.name ?? '', optional: source.secretRef.optional ?? false } : undefined;
    if (reference && !reference.optional && !keysOf(objects, namespace, reference)) return `${reference.kind} "${reference.name}" not found`;
  }
  for (const variable of container.env ?? []) {
    const selector = variable.valueFrom?.configMapKeyRef ?? variable.valueFrom?.secretKeyRef;
    if (!selector) continue;
    const reference: Reference = { kind: variable.valueFrom!.configMapKeyRef ? 'configmap' : 'secret', name: selector.name ?? '', optional: selector.optional ?? false };
    const keys = keysOf(objects, namespace, reference);
    if (reference.optional) continue;
    if (!keys) return `${reference.kind} "${reference.name}" not found`;
    if (!keys.has(selector.key)) return `couldn't find key ${selector.key} in ${reference.kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${namespace}/${reference.name}`;
  }
  return undefined;
}
