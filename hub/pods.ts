/**
 * What the hub creates in its namespace: one pod per learner (the learner image: workspace server
 * and a private control plane with simulated nodes, no container runtime, so it runs under the
 * `restricted` Pod Security level), and the NetworkPolicy that lets learner pods talk to nobody
 * but the hub. Pure functions: the spawner sends these to the API server.
 */
import { createHmac } from 'node:crypto';
import type { V1NetworkPolicy, V1OwnerReference, V1Pod, V1ResourceRequirements, V1Secret } from '@kubernetes/client-node';

/** Labels every hub object carries; selectors use them. */
export const LABELS = {
  app: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
  classroom: 'daemonset-lab.dev/classroom',
  learner: 'daemonset-lab.dev/learner',
  state: 'daemonset-lab.dev/pod-state',
} as const;

export const LEARNER_APP = 'daemonset-lab-learner';
export const HUB_APP = 'daemonset-lab-hub';
export const MANAGED_BY = 'daemonset-lab-hub';

/**
 * Annotations the hub sets on its pods. `prepared` names the lab a warm pod has already started
 * (its cluster is up and the lab set up), so a sign-in to that pod needs no wait.
 */
export const ANNOTATIONS = {
  prepared: 'daemonset-lab.dev/prepared-lab',
} as const;

/** Where a learner pod's workspace server listens. */
export const WORKSPACE_PORT = 4321;

/** warm: ready for any learner of its classroom; claimed: a learner's. */
export type PodState = 'warm' | 'claimed';

/** How learner pods are made; the Helm chart's values fill this in. */
export interface LearnerPodSettings {
  readonly namespace: string;
  readonly image: string;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  readonly resources: V1ResourceRequirements;
  /** Size limit of the state volume (cluster data, workspaces). */
  readonly stateSizeLimit?: string;
  /** Node selector for learner pods (e.g. a node pool). */
  readonly nodeSelector?: Record<string, string>;
  /** Key for each pod's workspace token, so the hub never has to store them. */
  readonly tokenKey: string;
}

/**
 * Defaults measured for one idle learner pod (see npm run bench): the requests are what an idle pod
 * uses, so they decide how many pods a node holds. The limits leave room for bursts: a cold pod
 * starts a whole control plane at once (9.8 s under a 1-CPU limit on a 2-core kind node, most of a
 * cold sign-in), so it may use two cores while its neighbours idle.
 */
export const DEFAULT_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '100m', memory: '768Mi' },
  limits: { cpu: '2', memory: '1536Mi' },
};

/** The workspace token of one pod: HMAC of its name, so it differs per pod and needs no storage. */
export function podToken(tokenKey: string, podName: string): string {
  return createHmac('sha256', tokenKey).update(podName).digest('base64url');
}

/** The learner pod; `state` and `learner` are labels so claims are one atomic patch. */
export function learnerPod(settings: LearnerPodSettings, name: string, classroomId: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: settings.namespace,
      labels: { [LABELS.app]: LEARNER_APP, [LABELS.managedBy]: MANAGED_BY, [LABELS.classroom]: classroomId, [LABELS.state]: 'warm' },
    },
    spec: {
      // The pod talks to no Kubernetes API but its own private one: no token of the host cluster.
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 10,
      ...(settings.nodeSelector ? { nodeSelector: settings.nodeSelector } : {}),
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'workspace',
          image: settings.image,
          imagePullPolicy: settings.imagePullPolicy ?? 'IfNotPresent',
          ports: [{ name: 'http', containerPort: WORKSPACE_PORT }],
          env: [
            { name: 'DAEMONSET_LAB_TOKEN', valueFrom: { secretKeyRef: { name, key: 'token' } } },
            { name: 'DAEMONSET_LAB_STATE', value: '/state' },
            { name: 'HOME', value: '/state/home' },
          ],
          resources: settings.resources,
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1, failureThreshold: 3 },
          volumeMounts: [
            { name: 'state', mountPath: '/state' },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      volumes: [
        { name: 'state', emptyDir: { sizeLimit: settings.stateSizeLimit ?? '2Gi' } },
        { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
      ],
    },
  };
}

/** The Secret holding a pod's workspace token; made before its pod, then owned by it (secretOwner), so it goes when the pod goes. */
export function tokenSecret(settings: LearnerPodSettings, podName: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: podName,
      namespace: settings.namespace,
      labels: { [LABELS.app]: LEARNER_APP, [LABELS.managedBy]: MANAGED_BY },
    },
    type: 'Opaque',
    stringData: { token: podToken(settings.tokenKey, podName) },
  };
}

/** The owner reference that makes a token Secret go with its pod. */
export function secretOwner(pod: V1Pod): V1OwnerReference {
  return { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid!, blockOwnerDeletion: false };
}

/**
 * Learner pods accept traffic only from the hub, and send traffic only to the hub (for nothing
 * today; kept so a future push needs no policy change): no other learner, no database, no
 * cluster DNS, no internet. Their Kubernetes is inside the pod.
 */
export function learnerNetworkPolicy(namespace: string): V1NetworkPolicy {
  const hub = { podSelector: { matchLabels: { [LABELS.app]: HUB_APP } } };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'daemonset-lab-learners', namespace, labels: { [LABELS.managedBy]: MANAGED_BY } },
    spec: {
      podSelector: { matchLabels: { [LABELS.app]: LEARNER_APP } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ _from: [hub], ports: [{ protocol: 'TCP', port: WORKSPACE_PORT }] }],
      egress: [{ to: [hub] }],
    },
  };
}
