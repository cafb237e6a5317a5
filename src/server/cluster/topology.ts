/**
 * The one cluster topology every engine builds: a kind cluster named `daemonset-lab` with a
 * control plane and three workers. Node names, labels, taints and capacity are the same on the
 * embedded engine and on kind, so labs and their messages are too.
 */
import type { KubernetesObject, V1DaemonSet, V1Node, V1Taint } from '@kubernetes/client-node';
import { VERSIONS } from '../versions.ts';

/** The cluster's name: kind's cluster name, and the prefix of every node name. */
export const CLUSTER_NAME = 'daemonset-lab';

/** The label that marks a lab cluster, on the marker ConfigMap below. */
export const LAB_CLUSTER_LABEL = 'daemonset-lab.dev/lab-cluster';

/**
 * The ConfigMap that marks a cluster as a lab cluster: lab setup labels and taints nodes only
 * where it exists (or where the user passes an explicit flag).
 */
export const LAB_MARKER = { namespace: 'kube-system', name: 'daemonset-lab' } as const;

/** The control-plane taint kubeadm (and so kind) puts on control-plane nodes. */
export const CONTROL_PLANE_TAINT: V1Taint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

/** What a node of the topology is. */
export interface NodeSpec {
  readonly name: string;
  readonly role: 'control-plane' | 'worker';
  /** Labels beyond the ones every node has (arch, os, hostname). */
  readonly extraLabels: Readonly<Record<string, string>>;
  readonly taints: readonly V1Taint[];
  /** Shown as the node's InternalIP, like the addresses kind's Docker network hands out. */
  readonly internalIP: string;
  readonly podCIDR: string;
}

/** What `add-nodes` gives each worker it creates. */
export interface NodeTemplate {
  readonly labels?: Readonly<Record<string, string>>;
  readonly taints?: readonly V1Taint[];
}

/** What `add-node` creates: a worker with these labels and taints, named like kind's next worker unless named. */
export interface NewNode extends NodeTemplate {
  readonly name?: string;
}

/** Capacity of every simulated node: small, so that a request of a few Gi does not fit anywhere. */
export const NODE_CAPACITY = { cpu: '2', memory: '4Gi', 'ephemeral-storage': '50Gi', pods: '110' } as const;

/**
 * The n-th node's addresses (n = 0 for the control plane), handed out in order as kind's Docker
 * network (172.18.0.0/16, gateway .1) and its pod subnet (one /24 per node from 10.244.0.0/16,
 * continuing into 10.245.0.0/16 and on past the 256th node, as a wider cluster CIDR would) do.
 */
export function nodeAddresses(index: number): Pick<NodeSpec, 'internalIP' | 'podCIDR'> {
  const host = index + 2;
  return {
    internalIP: `172.18.${Math.floor(host / 256)}.${host % 256}`,
    podCIDR: `10.${244 + Math.floor(index / 256)}.${index % 256}.0/24`,
  };
}

/** The index {@link nodeAddresses} gave an InternalIP, or -1 for an address outside 172.18.0.0/16. */
export function nodeIndexOf(internalIP: string): number {
  const match = internalIP.match(/^172\.18\.(\d+)\.(\d+)$/);
  return match ? Number(match[1]) * 256 + Number(match[2]) - 2 : -1;
}

function nodeSpec(index: number, role: NodeSpec['role'], name: string, extra: Partial<NodeSpec> = {}): NodeSpec {
  return { name, role, extraLabels: {}, taints: [], ...nodeAddresses(index), ...extra };
}

/** The base topology: what `up` creates and `reset` restores. */
export const TOPOLOGY: readonly NodeSpec[] = [
  nodeSpec(0, 'control-plane', `${CLUSTER_NAME}-control-plane`, {
    extraLabels: {
      'node-role.kubernetes.io/control-plane': '',
      'node.kubernetes.io/exclude-from-external-load-balancers': '',
    },
    taints: [CONTROL_PLANE_TAINT],
  }),
  nodeSpec(1, 'worker', `${CLUSTER_NAME}-worker`),
  nodeSpec(2, 'worker', `${CLUSTER_NAME}-worker2`),
  nodeSpec(3, 'worker', `${CLUSTER_NAME}-worker3`),
];

/** Names of the worker nodes of the base topology. */
export const WORKER_NAMES = TOPOLOGY.filter((n) => n.role === 'worker').map((n) => n.name);

/** kind names the n-th worker `<cluster>-worker`, then `-worker2`, `-worker3`, … */
export function workerName(ordinal: number): string {
  return ordinal <= 1 ? `${CLUSTER_NAME}-worker` : `${CLUSTER_NAME}-worker${ordinal}`;
}

/** The labels every node has, as a kubelet would register them. */
export function nodeLabels(spec: Pick<NodeSpec, 'name' | 'extraLabels'>): Record<string, string> {
  return {
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/os': 'linux',
    'kubernetes.io/hostname': spec.name,
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    ...spec.extraLabels,
  };
}

/**
 * The Node object a simulated kubelet registers. Status carries the capacity, so the real
 * scheduler can report "Insufficient memory"; kwok fills in the rest (conditions, nodeInfo).
 */
export function nodeManifest(spec: NodeSpec): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: spec.name, labels: nodeLabels(spec) },
    spec: { podCIDR: spec.podCIDR, podCIDRs: [spec.podCIDR], taints: [...spec.taints] },
    status: {
      addresses: [
        { type: 'InternalIP', address: spec.internalIP },
        { type: 'Hostname', address: spec.name },
      ],
      capacity: { ...NODE_CAPACITY },
      allocatable: { ...NODE_CAPACITY },
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion: VERSIONS.kubernetes,
        containerRuntimeVersion: 'containerd://2.1.4',
        kernelVersion: '6.12.0-simulated',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        bootID: '',
        machineID: '',
        systemUUID: '',
        kubeProxyVersion: '',
      },
    },
  };
}

/** Tolerates every taint, as kind's own node agents do. */
const TOLERATE_EVERYTHING = [{ operator: 'Exists' }];

/**
 * The kube-system DaemonSets of a kind cluster (kube-proxy and the kindnet CNI), so that
 * `kubectl get ds -A` looks like a real cluster. On kind they exist already and are left alone.
 */
export function systemDaemonSets(): V1DaemonSet[] {
  const nodeAgent = (name: string, container: string, image: string, hostNetwork: boolean): V1DaemonSet => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'kube-system', labels: { 'k8s-app': name, app: name } },
    spec: {
      selector: { matchLabels: { 'k8s-app': name } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: { 'k8s-app': name, app: name } },
        spec: {
          hostNetwork,
          priorityClassName: 'system-node-critical',
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          tolerations: TOLERATE_EVERYTHING,
          containers: [
            {
              name: container,
              image,
              resources: { requests: { cpu: '100m', memory: '50Mi' }, limits: { cpu: '100m', memory: '50Mi' } },
            },
          ],
        },
      },
    },
  });
  return [
    nodeAgent('kube-proxy', 'kube-proxy', `registry.k8s.io/kube-proxy:${VERSIONS.kubernetes}`, true),
    nodeAgent('kindnet', 'kindnet-cni', 'docker.io/kindest/kindnetd:v20260528-9350166c', true),
  ];
}

/** The CoreDNS version kubeadm installs with this Kubernetes (cmd/kubeadm/app/constants: CoreDNSVersion). */
export const COREDNS_VERSION = 'v1.14.2';

/** kind's Corefile (kubeadm's default), so `kubectl get cm coredns -n kube-system -o yaml` looks the same. */
export const COREFILE = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`;

/**
 * CoreDNS as kubeadm installs it on a kind cluster (cmd/kubeadm/app/phases/addons/dns): its
 * ServiceAccount, Corefile, two-replica Deployment and the kube-dns Service, so `kubectl get
 * deploy,pods,svc -n kube-system` shows what kind shows. On kind they exist already and are left alone.
 */
export function systemAddons(): KubernetesObject[] {
  const labels = { 'k8s-app': 'kube-dns' };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'coredns', namespace: 'kube-system', labels },
    spec: {
      replicas: 2,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: 'coredns',
          affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchExpressions: [{ key: 'k8s-app', operator: 'In', values: ['kube-dns'] }] }, topologyKey: 'kubernetes.io/hostname' } }] } },
          tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          dnsPolicy: 'Default',
          containers: [
            {
              name: 'coredns',
              image: `registry.k8s.io/coredns/coredns:${COREDNS_VERSION}`,
              imagePullPolicy: 'IfNotPresent',
              args: ['-conf', '/etc/coredns/Corefile'],
              resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
              volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
              ports: [
                { containerPort: 53, name: 'dns', protocol: 'UDP' },
                { containerPort: 53, name: 'dns-tcp', protocol: 'TCP' },
                { containerPort: 9153, name: 'metrics', protocol: 'TCP' },
                { containerPort: 8080, name: 'liveness-probe', protocol: 'TCP' },
                { containerPort: 8181, name: 'readiness-probe', protocol: 'TCP' },
              ],
              livenessProbe: { httpGet: { path: '/health', port: 'liveness-probe', scheme: 'HTTP' }, initialDelaySeconds: 60, timeoutSeconds: 5, successThreshold: 1, failureThreshold: 5 },
              readinessProbe: { httpGet: { path: '/ready', port: 'readiness-probe', scheme: 'HTTP' } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, readOnlyRootFilesystem: true },
            },
          ],
          volumes: [{ name: 'config-volume', configMap: { name: 'coredns', items: [{ key: 'Corefile', path: 'Corefile' }] } }],
        },
      },
    },
  };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: 'kube-system' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' }, data: { Corefile: COREFILE } } as KubernetesObject,
    deployment as KubernetesObject,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { ...labels, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' }, annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' } },
      spec: {
        selector: labels,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
    } as KubernetesObject,
  ];
}
