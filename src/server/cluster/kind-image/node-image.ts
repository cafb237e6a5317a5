/**
 * The kind node image, built offline when the official kindest/node cannot be pulled: a Debian
 * root file system from the machine's own apt mirror, Debian's containerd, runc and CNI plugins,
 * kubelet/kubeadm/kubectl built from Go modules, and every image a node runs (control plane,
 * etcd, CoreDNS, pause, kube-proxy, the pod network, stand-ins for the labs' images) preloaded.
 *
 * The image's tag is a digest of every input (versions and the files of this folder), so it is
 * rebuilt only when one changes; the tag appears only when the whole build succeeded.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../../errors.ts';
import { cacheDir } from '../../paths.ts';
import { withProgress } from '../../progress.ts';
import { VERSIONS } from '../../versions.ts';
import { binaryDir, coreDnsMain, ensureBinaries, ensureNodeBinaries, findOnPath } from '../binaries.ts';
import type { CommandRunner } from '../providers/provider.ts';

/** The repository (in the local Podman store) of the node images this module builds. */
export const NODE_IMAGE_REPOSITORY = 'localhost/daemonset-lab/kind-node';

/** The Debian release the node image is built from (its package names are chosen for it). */
const DEBIAN_SUITE = 'bookworm';

/** etcd's image tag as kubeadm names it ("3.6.8-0"). */
const ETCD_IMAGE_TAG = `${VERSIONS.kindEtcd.replace(/^v/, '')}-0`;

const HERE = fileURLToPath(new URL('.', import.meta.url));

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
}

/**
 * The node image tag for the current inputs: the Kubernetes version, then a digest of the other
 * versions, of CoreDNS's plugin set and of every file the build uses (scripts, Containerfiles,
 * node files).
 */
export async function nodeImageTag(): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ ...VERSIONS, suite: DEBIAN_SUITE }));
  // How CoreDNS is built (its plugins) is an input too.
  hash.update(coreDnsMain());
  for (const file of await filesUnder(HERE)) {
    if (file.endsWith('.ts')) continue;
    hash.update(relative(HERE, file));
    hash.update(await readFile(file));
  }
  return `${NODE_IMAGE_REPOSITORY}:${VERSIONS.kubernetes}-${hash.digest('hex').slice(0, 12)}`;
}

/** Whether the local Podman store already holds this image. */
export async function nodeImagePresent(runner: CommandRunner, image: string): Promise<boolean> {
  return (await runner.run('podman', ['image', 'exists', image])).code === 0;
}

/**
 * The Debian mirror apt uses on this machine (deb822 `URIs:` or one-line `deb` entries), so the
 * build reaches the same mirror apt-get does. `DAEMONSET_LAB_DEBIAN_MIRROR` overrides it.
 */
export async function debianMirror(): Promise<string> {
  if (process.env.DAEMONSET_LAB_DEBIAN_MIRROR) return process.env.DAEMONSET_LAB_DEBIAN_MIRROR;
  const sources: string[] = [];
  for (const file of ['/etc/apt/sources.list', ...(await readdir('/etc/apt/sources.list.d').catch(() => [])).map((f) => join('/etc/apt/sources.list.d', f))]) {
    sources.push(await readFile(file, 'utf8').catch(() => ''));
  }
  const text = sources.join('\n');
  const uri = [...text.matchAll(/^URIs:\s*(\S+)/gm), ...text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)]
    .map((m) => m[1]!)
    .find((u) => /\/debian\/?$/.test(u));
  return uri ?? 'http://deb.debian.org/debian';
}

/** What the build needs from the host, each with the fix; empty when everything is there. */
export async function nodeImageBuildProblems(): Promise<Array<{ missing: string; fix: string }>> {
  const problems: Array<{ missing: string; fix: string }> = [];
  if (process.getuid?.() !== 0) problems.push({ missing: 'root (debootstrap and chroot need it)', fix: 'run the first `up --provider kind` as root, or build the image on a machine where you are' });
  for (const [program, fix] of [
    ['debootstrap', 'apt-get install debootstrap'],
    ['podman', 'apt-get install podman'],
    ['unshare', 'apt-get install util-linux'],
    ['go', 'install Go ≥ 1.26'],
  ] as const) {
    if (!(await findOnPath(program))) problems.push({ missing: `${program} is not installed`, fix });
  }
  return problems;
}

/** Runs the build script, showing each "==> step" line as the progress detail; output goes to a log. */
async function runBuildScript(env: Record<string, string>, logFile: string, setDetail: (d: string) => void): Promise<void> {
  const log = createWriteStream(logFile);
  const tail: string[] = [];
  const code = await new Promise<number | null>((resolvePromise, reject) => {
    const child = spawn('bash', [join(HERE, 'build-node-image.sh')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      for (const line of chunk.toString().split('\n').filter((l) => l.trim())) {
        tail.push(line);
        if (tail.length > 15) tail.shift();
        if (line.startsWith('==> ')) setDetail(line.slice(4));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', resolvePromise);
  });
  await new Promise((r) => log.end(r));
  if (code !== 0) {
    throw new EnvironmentError(`Building the kind node image failed (exit ${code}):\n${tail.join('\n')}`, `Read ${logFile}, fix the cause and run \`npm run cluster -- up --provider kind\` again.`);
  }
}

/**
 * Returns the node image for the current inputs, building it when the local store lacks it
 * (minutes: the binaries it needs, two Debian root file systems, a dozen images).
 */
export async function ensureNodeImage(runner: CommandRunner): Promise<string> {
  const image = await nodeImageTag();
  if (await nodeImagePresent(runner, image)) return image;
  const problems = await nodeImageBuildProblems();
  if (problems.length > 0) {
    throw new EnvironmentError(
      `The kind node image ${image} is not built yet, and this machine cannot build it: ${problems.map((p) => p.missing).join('; ')}.`,
      problems.map((p) => `${p.missing}: ${p.fix}`).join('\n'),
    );
  }
  await ensureBinaries();
  await ensureNodeBinaries();
  const root = join(cacheDir(), 'kind-image');
  const work = join(root, `work-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    await withProgress(`Building the kind node image ${image}`, async (setDetail) =>
      runBuildScript(
        {
          WORK: work,
          DEB_CACHE: join(root, 'debs'),
          MIRROR: await debianMirror(),
          SUITE: DEBIAN_SUITE,
          BIN_DIR: binaryDir(),
          K8S_VERSION: VERSIONS.kubernetes,
          ETCD_IMAGE_TAG,
          ETCD_BINARY: `etcd-${VERSIONS.kindEtcd}`,
          COREDNS_VERSION: VERSIONS.coredns,
          PAUSE_VERSION: VERSIONS.pause,
          IMAGE: image,
        },
        join(root, 'build.log'),
        setDetail,
      ),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await removeOlderNodeImages(runner, image);
  return image;
}

/**
 * Removes node images built from older inputs (each is about 1 GB). One a cluster still runs on
 * stays: Podman refuses to remove an image that containers use.
 */
async function removeOlderNodeImages(runner: CommandRunner, keep: string): Promise<void> {
  const listed = await runner.run('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}', NODE_IMAGE_REPOSITORY]);
  for (const image of listed.stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith(`${NODE_IMAGE_REPOSITORY}:`) && l !== keep)) {
    await runner.run('podman', ['rmi', image]);
  }
}
