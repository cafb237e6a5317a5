/**
 * The flags the embedded engine's components run with, beyond kwokctl's own: who may talk to
 * them (mutual TLS everywhere, nobody anonymous) and how fast they may go (client rate limits,
 * workers, heartbeats), so that a thousand simulated nodes converge on two cores while the
 * four-node lab cluster looks exactly as before.
 */
import { join } from 'node:path';

/** One extra flag. `override` replaces the value kwokctl set, instead of adding the flag again. */
export interface ComponentArg {
  readonly key: string;
  readonly value: string;
  readonly override?: boolean;
}

/** kwokctl's `componentsPatches` entry for one component. */
export interface ComponentPatch {
  readonly name: string;
  readonly extraArgs: readonly ComponentArg[];
  readonly extraEnvs: ReadonlyArray<{ name: string; value: string }>;
}

/**
 * The certificate authority and the one certificate kwokctl makes for a cluster (client and server
 * use; subject kwok-admin in system:masters), at the paths kwokctl's binary runtime gives them.
 */
export function clusterPki(clusterDir: string) {
  const pki = join(clusterDir, 'pki');
  return { ca: join(pki, 'ca.crt'), cert: join(pki, 'admin.crt'), key: join(pki, 'admin.key') } as const;
}

/** The ports the locked-down flags name. */
export interface EnginePorts {
  readonly etcd: number;
  readonly 'etcd peer': number;
}

const add = (key: string, value: string | number): ComponentArg => ({ key, value: String(value) });
const replace = (key: string, value: string | number): ComponentArg => ({ key, value: String(value), override: true });

/**
 * Only holders of the cluster's certificate reach etcd and kube-apiserver. kwokctl's binary
 * runtime serves etcd over plain HTTP and leaves kube-apiserver's anonymous access on, so any
 * process on the machine could read every Secret from etcd, or ask the API server as
 * system:anonymous. Here etcd (client and peer port) speaks TLS and demands a client certificate
 * signed by the cluster's CA, and kube-apiserver rejects requests without credentials (401). The
 * simulated kubelet (the agent, see ../embedded/simulation/agent.ts) accepts only TLS clients with
 * a certificate of the cluster's CA, which kube-apiserver presents as its kubelet client.
 */
function lockedDown(ports: EnginePorts, pki: ReturnType<typeof clusterPki>): Record<string, ComponentArg[]> {
  const client = `https://127.0.0.1:${ports.etcd}`;
  const peer = `https://127.0.0.1:${ports['etcd peer']}`;
  // kube-controller-manager and kube-scheduler serve health without credentials (a probe needs
  // that); kwokctl also opens /metrics to anyone, which a lab never needs.
  const healthOnly = replace('authorization-always-allow-paths', '/healthz,/readyz,/livez');
  // They serve with the cluster's certificate (its names include 127.0.0.1 and localhost), as
  // kube-apiserver does: without one each generates a self-signed key pair as it starts, a quarter
  // of a second of the controller manager's start that every DaemonSet waits for.
  const servingCertificate = [add('tls-cert-file', pki.cert), add('tls-private-key-file', pki.key)];
  return {
    etcd: [
      replace('listen-client-urls', client),
      replace('advertise-client-urls', client),
      replace('listen-peer-urls', peer),
      replace('initial-advertise-peer-urls', peer),
      replace('initial-cluster', `node0=${peer}`),
      add('client-cert-auth', 'true'),
      add('trusted-ca-file', pki.ca),
      add('cert-file', pki.cert),
      add('key-file', pki.key),
      add('peer-client-cert-auth', 'true'),
      add('peer-trusted-ca-file', pki.ca),
      add('peer-cert-file', pki.cert),
      add('peer-key-file', pki.key),
    ],
    'kube-apiserver': [
      replace('etcd-servers', client),
      add('etcd-cafile', pki.ca),
      add('etcd-certfile', pki.cert),
      add('etcd-keyfile', pki.key),
      add('anonymous-auth', 'false'),
      // The simulated kubelet demands a client certificate, as a real kubelet with
      // --client-ca-file does: the API server shows it the cluster's.
      add('kubelet-client-certificate', pki.cert),
      add('kubelet-client-key', pki.key),
    ],
    'kube-controller-manager': [healthOnly, ...servingCertificate],
    'kube-scheduler': [healthOnly, ...servingCertificate],
    // kwok-controller's server (health, metrics and kwok's own kubelet endpoints) asks for no
    // client certificate, and flags cannot make it. Every node's kubelet endpoint is the agent
    // (the node Stage sets its port), so that server is not needed. Both flags go: with only
    // --server-address empty, kwok serves on *:node-port, every interface.
    'kwok-controller': [replace('server-address', ''), replace('node-port', 0)],
  };
}

/**
 * GOGC=50 for every component: a small lab cluster is idle most of the time, and collecting at half
 * the default heap growth saves about 50 MB of resident memory with no measurable start-up cost.
 */
const HALF_HEAP_GROWTH = { name: 'GOGC', value: '50' };

/** The components kwokctl's binary runtime starts. */
export const ENGINE_COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok-controller'] as const;

/** Flags every component needs whatever else changes. */
const ALWAYS: Record<string, ComponentArg[]> = {
  // The simulated kubelets all answer on localhost (kwok's port); reach them by the InternalDNS
  // address the node Stage sets, so InternalIP can look like kind's.
  'kube-apiserver': [add('kubelet-preferred-address-types', 'InternalDNS')],
};

/**
 * Speed at scale. With their defaults, kube-controller-manager may send 20 requests a second
 * (burst 30) and kube-scheduler 50 (burst 100): a DaemonSet over 1,000 nodes needs 1,000 pod
 * creations and 1,000 bindings, and its rolling update as many deletions again, so the client
 * rate limits alone would take minutes. Everything runs on one machine against a private API
 * server, so the limits go up. A four-node cluster never reaches the old limits, so a learner
 * there sees the same pace as before.
 *
 * Measured at 1,000 nodes on a busy machine, two more things stalled the cluster:
 * - kube-controller-manager lost its leader lease (a renewal took longer than the 10 s renew
 *   deadline) and exited, and nothing restarts it: no more pods for any DaemonSet. A single
 *   instance needs no quick failover, so the lease lasts 60 s and may take 45 s to renew; the
 *   controller manager hands it back when it stops (as the scheduler already does), so `up`
 *   after `down` never waits for the old lease to run out.
 * - The DaemonSet controller of Kubernetes 1.36 refuses to sync while its cache lags its own
 *   writes (StaleControllerConsistencyDaemonSet, beta), retrying with a growing back-off; with
 *   a lagging cache it spent most of its time backing off. Before 1.36 it did not wait, and its
 *   expectations already keep it from creating a pod twice, so the gate is turned off.
 * etcd skips fsync: the data is a lab cluster's, and a killed engine loses nothing by it (the
 * page cache outlives a process; only a machine crash would lose the last writes), while every
 * status write no longer waits for the disk. kwok logs only warnings: at INFO it writes a line
 * for every patch, megabytes at this scale.
 */
const leaderLease = [add('leader-elect-lease-duration', '60s'), add('leader-elect-renew-deadline', '45s'), add('leader-elect-retry-period', '2s')];
const SCALE: Record<string, ComponentArg[]> = {
  'kube-controller-manager': [
    add('kube-api-qps', 500),
    add('kube-api-burst', 1000),
    add('concurrent-daemonset-syncs', 4),
    add('feature-gates', 'StaleControllerConsistencyDaemonSet=false,ControllerManagerReleaseLeaderElectionLockOnExit=true'),
    ...leaderLease,
  ],
  'kube-scheduler': [add('kube-api-qps', 500), add('kube-api-burst', 1000), ...leaderLease],
  etcd: [add('unsafe-no-fsync', 'true')],
  'kwok-controller': [add('v', 'WARN')],
  // Nothing in the cluster watches Events, yet the API server kept a watch cache of them: it
  // decoded each of the ~6 Events a pod start writes a second time, and held thousands in memory.
  // Without the cache a list or watch of Events is served by etcd, with the same answers.
  'kube-apiserver': [add('watch-cache-sizes', 'events#0')],
};

/**
 * What a learner watches, timed as on a real cluster. kwokctl sets the node lifecycle controller's
 * node-monitor-period to 25 s; kube-controller-manager's default (kind's) is 5 s, the delay before
 * a node the kubelet reports NotReady is tainted and its pods marked not Ready. kwokctl's
 * node-monitor-grace-period (3m20s, against 50 s) stays: a simulated node never stops renewing its
 * lease by itself, and at 1,000 nodes a busy machine may delay renewals (README, node-grace-period).
 * node-startup-grace-period (default 1 min: how long a new node may go without its first status
 * before it is marked Unknown) gets the same 3m20s: a real kubelet registers its node with its
 * status, while here kwok writes the first status afterwards, and with a thousand new nodes on a
 * busy machine that took over a minute; the Unknown nodes then had their pods marked not Ready,
 * and Ready counts fell (measured: 390 of 1,000 nodes Unknown at load 15). A node added in a lab
 * gets its status within a second, so a learner sees no difference.
 */
const FIDELITY: Record<string, ComponentArg[]> = {
  'kube-controller-manager': [add('node-monitor-period', '5s'), add('node-startup-grace-period', '3m20s')],
};

/**
 * A quicker start. A new single-member etcd elects itself only after its election timeout:
 * etcd skips all but the last tick of it, and that tick is a random 1 to 10 heartbeats (100 ms
 * each by default), so kube-apiserver waited up to a second for its storage. With 20 ms heartbeats
 * and the smallest election timeout etcd allows (five heartbeats), the wait is 20–100 ms. A single
 * member sends its heartbeats to no one and, as its own quorum, cannot lose its leadership to a
 * busy CPU. What does change: its raft clock ticks 50 times a second instead of 10 (in every idle
 * learner pod too), a request times out after 5.2 s instead of 7 s, and the shortest lease etcd
 * grants is 1 s instead of 2 s (Kubernetes' leases are far longer).
 */
const START: Record<string, ComponentArg[]> = {
  etcd: [add('heartbeat-interval', 20), add('election-timeout', 100)],
};

/** kwokctl's componentsPatches for the embedded engine: access, speed, fidelity and memory. */
export function componentPatches(ports: EnginePorts, clusterDir: string): ComponentPatch[] {
  const sections = [ALWAYS, lockedDown(ports, clusterPki(clusterDir)), SCALE, FIDELITY, START];
  return ENGINE_COMPONENTS.map((name) => ({
    name,
    extraArgs: sections.flatMap((section) => section[name] ?? []),
    extraEnvs: [HALF_HEAP_GROWTH],
  }));
}
