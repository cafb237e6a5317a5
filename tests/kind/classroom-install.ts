/**
 * The classroom hub installed on the kind cluster with its Helm chart, as an instructor would on
 * any cluster, where no image registry is reachable:
 * 1. the learner image (image/build.sh) and a PostgreSQL image from Debian's package
 *    (image/build-postgresql.sh) are built with Podman when missing (the learner image also when
 *    it was built from other sources: image/source-id.sh), and loaded into the worker nodes'
 *    containerd (`kind load image-archive`) when the nodes do not have that build yet;
 * 2. PostgreSQL's volume is a local PersistentVolume on one worker, in a folder owned by
 *    PostgreSQL's uid (the in-tree hostPath provisioner makes root-owned folders that a
 *    non-root database cannot write, which a real cluster's provisioner does not);
 * 3. `helm install` with the hub's Service as a NodePort, waiting for the hub and PostgreSQL to be
 *    Ready;
 * 4. a TCP forwarder on 127.0.0.1 to that NodePort, so the browser opens the hub on a loopback
 *    address (a secure context, as an HTTPS Ingress would be) at the chart's `hub.publicUrl`.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../src/server/paths.ts';
import { kindCommand } from '../../src/server/cluster/providers/kind.ts';
import { CLUSTER_NAME, WORKER_NAMES } from '../../src/server/cluster/topology.ts';
import { helm } from '../hub/helm.ts';
import { freePort } from '../support/free-port.ts';
import { kubectl, type KindClusterInfo } from './kind-cluster.ts';

const run = promisify(execFile);

/** The learner image the chart runs (image/build.sh tags it with the package version). */
export const LEARNER_IMAGE = { repository: 'localhost/daemonset-lab', tag: '0.1.0' } as const;
/** The PostgreSQL image built from Debian's package (image/build-postgresql.sh). */
export const POSTGRES_IMAGE = 'localhost/daemonset-lab/postgresql:15';
/** The worker that holds PostgreSQL's volume. */
const DATABASE_NODE = WORKER_NAMES[WORKER_NAMES.length - 1]!;
const DATABASE_DIR = '/var/local/classroom-postgresql';
const DATABASE_UID = 999;
const STORAGE_CLASS = 'classroom-local';

/** A class the chart defines (values.yaml `classrooms:`). */
export interface ClassroomSettings {
  readonly id: string;
  readonly joinCode: string;
  readonly instructorCode: string;
  readonly labs: readonly string[];
  readonly capacity: number;
  readonly warmPool: number;
}

/** The installed hub: where the browser opens it, and how to remove it. */
export interface ClassroomInstall {
  readonly namespace: string;
  readonly release: string;
  /** http://127.0.0.1:<port>, the chart's hub.publicUrl. */
  readonly hubUrl: string;
  uninstall(): Promise<void>;
}

/** Runs a command with its output on stderr (long builds show progress); throws on failure. */
async function runVisible(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const code = await new Promise<number>((resolve) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', process.stderr, process.stderr] });
    child.on('close', (exit) => resolve(exit ?? 1));
  });
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed with exit code ${code} (its output is above)`);
}

async function podmanImageId(image: string): Promise<string | undefined> {
  return run('podman', ['image', 'inspect', image, '--format', '{{.Id}}']).then(({ stdout }) => stdout.trim(), () => undefined);
}

/**
 * The id (config digest) of the image a node's containerd has under `image`'s name, so an image
 * rebuilt under the same tag is loaded again.
 */
async function nodeImageId(node: string, image: string): Promise<string | undefined> {
  const { stdout } = await run('podman', ['exec', node, 'ctr', '-n', 'k8s.io', 'images', 'ls', `name==${image}`]);
  const manifestDigest = stdout.split('\n')[1]?.trim().split(/\s+/)[2];
  if (!manifestDigest) return undefined;
  const manifest = await run('podman', ['exec', node, 'ctr', '-n', 'k8s.io', 'content', 'get', manifestDigest]);
  const config = (JSON.parse(manifest.stdout) as { config?: { digest?: string } }).config?.digest;
  return config?.replace(/^sha256:/, '');
}

/** The `dev.daemonset-lab.source` label of a Podman image (image/build.sh sets it), if any. */
async function podmanImageSource(image: string): Promise<string | undefined> {
  return run('podman', ['image', 'inspect', image, '--format', '{{index .Labels "dev.daemonset-lab.source"}}']).then(({ stdout }) => stdout.trim() || undefined, () => undefined);
}

/** Builds `image` with `script` unless Podman has it (built from `source`, when given); returns its id. */
async function buildImage(image: string, script: string, source?: string): Promise<string> {
  const current = (await podmanImageId(image)) !== undefined && (source === undefined || (await podmanImageSource(image)) === source);
  if (!current) await runVisible('bash', [join(REPO_ROOT, script)]);
  const id = await podmanImageId(image);
  if (!id) throw new Error(`${script} did not produce ${image}`);
  return id;
}

/** What image/source-id.sh says the learner image is built from now. */
async function learnerImageSource(): Promise<string> {
  return (await run('bash', [join(REPO_ROOT, 'image/source-id.sh')])).stdout.trim();
}

/**
 * Builds the classroom's images in Podman when missing or stale: the learner image (it must hold
 * this commit's hub and workspace server) and PostgreSQL's. `npm test` calls this while the other
 * projects' tests run, so the kind phase only loads them into the nodes.
 */
export async function buildClassroomImages(): Promise<void> {
  await buildImage(`${LEARNER_IMAGE.repository}:${LEARNER_IMAGE.tag}`, 'image/build.sh', await learnerImageSource());
  await buildImage(POSTGRES_IMAGE, 'image/build-postgresql.sh');
}

/** Builds `image` when missing or stale (see buildImage), then loads it into the workers that lack this build of it. */
async function provideImage(image: string, script: string, source?: string): Promise<void> {
  const id = await buildImage(image, script, source);
  const missing: string[] = [];
  for (const node of WORKER_NAMES) if ((await nodeImageId(node, image)) !== id) missing.push(node);
  if (missing.length === 0) return;
  const dir = await mkdtemp(join(tmpdir(), 'classroom-image-'));
  try {
    const archive = join(dir, 'image.tar');
    await runVisible('podman', ['save', '--quiet', '--format', 'docker-archive', '-o', archive, image]);
    await runVisible(kindCommand(), ['load', 'image-archive', archive, '--name', CLUSTER_NAME, '--nodes', missing.join(',')], { ...process.env, KIND_EXPERIMENTAL_PROVIDER: 'podman' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A StorageClass and a local PersistentVolume for PostgreSQL's claim, in a folder it owns. */
async function provideDatabaseVolume(info: KindClusterInfo): Promise<void> {
  await run('podman', ['exec', DATABASE_NODE, 'sh', '-c', `rm -rf ${DATABASE_DIR} && install -d -o ${DATABASE_UID} -g ${DATABASE_UID} -m 0700 ${DATABASE_DIR}`]);
  const manifests = [
    { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: STORAGE_CLASS }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer' },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'classroom-postgresql' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: STORAGE_CLASS,
        local: { path: DATABASE_DIR },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [DATABASE_NODE] }] }] } },
      },
    },
  ];
  const applied = await kubectl(info, ['apply', '-f', '-'], manifests.map((m) => stringify(m)).join('---\n'));
  if (applied.code !== 0) throw new Error(`kubectl apply of PostgreSQL's volume failed: ${applied.stderr}`);
}

/** Forwards 127.0.0.1:<port> to the hub's NodePort on a worker; `close` ends its connections too. */
async function forwardToNodePort(nodeIp: string, nodePort: number, port: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(nodePort, nodeIp);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return {
    // server.close() waits for open connections (the browser's keep-alive, SSE): end them first.
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      sockets.forEach((socket) => socket.destroy());
    }),
  };
}

async function jsonPath(info: KindClusterInfo, args: readonly string[]): Promise<string> {
  const answer = await kubectl(info, args);
  if (answer.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${answer.stderr}`);
  return answer.stdout.trim();
}

/** Installs the chart with `classrooms` into `namespace`; resolves once the hub and PostgreSQL are Ready. */
export async function installClassroom(info: KindClusterInfo, classrooms: readonly ClassroomSettings[], namespace = 'classroom', release = 'lab'): Promise<ClassroomInstall> {
  await provideImage(`${LEARNER_IMAGE.repository}:${LEARNER_IMAGE.tag}`, 'image/build.sh', await learnerImageSource());
  await provideImage(POSTGRES_IMAGE, 'image/build-postgresql.sh');
  await provideDatabaseVolume(info);
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  const values = {
    image: { ...LEARNER_IMAGE, pullPolicy: 'IfNotPresent' },
    hub: { publicUrl: hubUrl, service: { type: 'NodePort', port: 80 } },
    postgresql: { image: POSTGRES_IMAGE, storage: '1Gi', storageClassName: STORAGE_CLASS },
    classrooms: classrooms.map((classroom) => ({ title: `Class ${classroom.id}`, ...classroom })),
  };
  const dir = await mkdtemp(join(tmpdir(), 'classroom-values-'));
  const valuesFile = join(dir, 'values.yaml');
  await writeFile(valuesFile, stringify(values));
  const installed = await helm(['install', release, join(REPO_ROOT, 'chart/daemonset-lab-hub'), '--kubeconfig', info.kubeconfig, '--kube-context', info.context, '-n', namespace, '--create-namespace', '-f', valuesFile, '--wait', '--timeout', '6m']);
  await rm(dir, { recursive: true, force: true });
  if (installed.code !== 0) {
    const pods = await kubectl(info, ['-n', namespace, 'get', 'pods', '-o', 'wide']);
    throw new Error(`helm install failed: ${installed.stderr}\n${pods.stdout}`);
  }
  const nodePort = Number(await jsonPath(info, ['-n', namespace, 'get', 'service', `${release}-hub`, '-o', 'jsonpath={.spec.ports[0].nodePort}']));
  const nodeIp = await jsonPath(info, ['get', 'node', WORKER_NAMES[0]!, '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}']);
  const forwarder = await forwardToNodePort(nodeIp, nodePort, port);
  return {
    namespace,
    release,
    hubUrl,
    async uninstall() {
      await forwarder.close();
      await helm(['uninstall', release, '--kubeconfig', info.kubeconfig, '--kube-context', info.context, '-n', namespace, '--wait']);
      await kubectl(info, ['delete', 'namespace', namespace, '--wait=true', '--timeout=120s']);
      await kubectl(info, ['delete', 'persistentvolume', 'classroom-postgresql', '--ignore-not-found']);
    },
  };
}

/** What one pod uses, read from its cgroup on its node (no metrics-server on this cluster). */
export interface PodUsage {
  /** Memory in use minus inactive file cache: the kubelet's working set. */
  readonly workingSetBytes: number;
  /** Average CPU over the sample, in cores. */
  readonly cpuCores: number;
}

/** Samples a pod's cgroup (v1 layout, as on these nodes) over `sampleMs`. */
export async function podUsage(info: KindClusterInfo, namespace: string, pod: string, sampleMs = 20_000): Promise<PodUsage> {
  const uid = (await jsonPath(info, ['-n', namespace, 'get', 'pod', pod, '-o', 'jsonpath={.metadata.uid}'])).replaceAll('-', '_');
  const node = await jsonPath(info, ['-n', namespace, 'get', 'pod', pod, '-o', 'jsonpath={.spec.nodeName}']);
  const read = async (controller: string, file: string) => {
    const { stdout } = await run('podman', ['exec', node, 'sh', '-c', `cat "$(find /sys/fs/cgroup/${controller}/kubelet.slice -maxdepth 3 -type d -name '*pod${uid}.slice' | head -1)/${file}"`]);
    return stdout;
  };
  const cpuBefore = Number(await read('cpuacct', 'cpuacct.usage'));
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const cpuAfter = Number(await read('cpuacct', 'cpuacct.usage'));
  const usage = Number(await read('memory', 'memory.usage_in_bytes'));
  const inactiveFile = Number(/^total_inactive_file (\d+)$/m.exec(await read('memory', 'memory.stat'))?.[1] ?? 0);
  return { workingSetBytes: usage - inactiveFile, cpuCores: (cpuAfter - cpuBefore) / (sampleMs * 1e6) };
}
