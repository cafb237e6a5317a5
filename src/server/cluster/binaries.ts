/**
 * The Kubernetes binaries the embedded engine runs: built from Go modules (the default, and the
 * only way on a machine without internet), or downloaded from the official releases where that is
 * allowed. Kept in a cache outside the repository; a second setup finds them and builds nothing.
 */
import { spawn } from 'node:child_process';
import { access, chmod, constants, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { arch } from 'node:os';
import { cacheDir } from '../paths.ts';
import { VERSIONS } from '../versions.ts';
import { EnvironmentError } from '../errors.ts';
import { withProgress } from '../progress.ts';

/** Every binary the embedded engine needs. */
export const BINARY_NAMES = [
  'etcd',
  'etcdctl',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'kwok',
  'kwokctl',
] as const;
export type BinaryName = (typeof BINARY_NAMES)[number];

/** Absolute paths of every binary, by name. */
export type BinaryPaths = Record<BinaryName, string>;

/** How binaries may be obtained when missing: `build` (Go modules), `download`, or `none`. */
export type BinarySource = 'build' | 'download' | 'none';

/** The cache folder for this exact set of versions. `DAEMONSET_LAB_BIN_DIR` points elsewhere. */
export function binaryDir(): string {
  return (
    process.env.DAEMONSET_LAB_BIN_DIR ??
    join(
      cacheDir(),
      'bin',
      `kubernetes-${VERSIONS.kubernetes}_etcd-${VERSIONS.etcd}_kwok-${VERSIONS.kwok}`,
    )
  );
}

/** Paths of every binary in {@link binaryDir}, whether or not they exist yet. */
export function binaryPaths(dir = binaryDir()): BinaryPaths {
  return Object.fromEntries(BINARY_NAMES.map((name) => [name, join(dir, name)])) as BinaryPaths;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binaries that are not in the cache yet. */
export async function missingBinaries(dir = binaryDir()): Promise<BinaryName[]> {
  const paths = binaryPaths(dir);
  const missing: BinaryName[] = [];
  for (const name of BINARY_NAMES) if (!(await isExecutable(paths[name]))) missing.push(name);
  return missing;
}

/** Finds a program on PATH; undefined when absent. */
export async function findOnPath(program: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && (await isExecutable(join(dir, program)))) return join(dir, program);
  }
  return undefined;
}

/**
 * Decides how missing binaries may be obtained here. Downloading is never attempted when CI=true:
 * CI must prove that the Go-module build works on its own.
 */
export async function chooseBinarySource(): Promise<BinarySource> {
  const requested = process.env.DAEMONSET_LAB_BINARY_SOURCE;
  if (requested === 'build' || requested === 'download' || requested === 'none') {
    if (requested === 'download' && process.env.CI === 'true') return 'none';
    return requested;
  }
  if (await findOnPath('go')) return 'build';
  if (process.env.CI !== 'true') return 'download';
  return 'none';
}

/** Why missing binaries cannot be obtained here (when {@link chooseBinarySource} says `none`). */
export function missingBinariesReason(missing: readonly BinaryName[]): string {
  const why = process.env.DAEMONSET_LAB_BINARY_SOURCE === 'none'
    ? 'DAEMONSET_LAB_BINARY_SOURCE=none forbids building and downloading'
    : `Go is not installed${process.env.CI === 'true' ? ' and downloads are off in CI' : ''}`;
  return `the Kubernetes binaries are missing (${missing.join(', ')}) and there is no way to get them here: ${why}`;
}

/** The ways to get binaries, for the error shown when none works. */
export function waysToGetBinaries(): string {
  return [
    'Ways to get them:',
    `  1. Install Go ≥ 1.26 and run \`npm run setup\`: it builds every binary from Go modules (tens of minutes the first time, cached in ${cacheDir()}).`,
    '  2. On a machine with internet access (not in CI): `DAEMONSET_LAB_BINARY_SOURCE=download npm run setup` downloads the official release binaries.',
    `  3. Put your own ${BINARY_NAMES.join(', ')} of Kubernetes ${VERSIONS.kubernetes} in one folder and set DAEMONSET_LAB_BIN_DIR to it.`,
  ].join('\n');
}

/** A group of binaries obtained together (one `go build` links several at once). */
interface BinaryGroup {
  readonly id: string;
  readonly binaries: readonly BinaryName[];
  build(dir: string, setDetail: (detail: string) => void): Promise<void>;
  downloadUrls(goArch: string): ReadonlyArray<{ name: BinaryName; url: string; tarMember?: string }>;
}

/**
 * Ensures every binary is in the cache, obtaining missing groups with progress output.
 * Returns their paths. Throws an {@link EnvironmentError} listing the ways when it cannot.
 */
export async function ensureBinaries(): Promise<BinaryPaths> {
  const dir = binaryDir();
  const missing = await missingBinaries(dir);
  if (missing.length === 0) return binaryPaths(dir);
  if (process.env.DAEMONSET_LAB_BIN_DIR) {
    throw new EnvironmentError(
      `DAEMONSET_LAB_BIN_DIR=${dir} lacks ${missing.join(', ')}.`,
      waysToGetBinaries(),
    );
  }
  const source = await chooseBinarySource();
  if (source === 'none') {
    const reason = missingBinariesReason(missing);
    throw new EnvironmentError(`${reason[0]!.toUpperCase()}${reason.slice(1)}.`, waysToGetBinaries());
  }
  await mkdir(dir, { recursive: true });
  const goArch = arch() === 'arm64' ? 'arm64' : 'amd64';
  const groups = BINARY_GROUPS.filter((group) => group.binaries.some((b) => missing.includes(b)));
  for (const [index, group] of groups.entries()) {
    const label = `[${index + 1}/${groups.length}] ${source === 'build' ? 'Building' : 'Downloading'} ${group.binaries.join(', ')}`;
    await withProgress(label, async (setDetail) => {
      if (source === 'build') await group.build(dir, setDetail);
      else await downloadGroup(group, dir, goArch, setDetail);
    });
  }
  const stillMissing = await missingBinaries(dir);
  if (stillMissing.length > 0) {
    throw new EnvironmentError(`After setup, ${stillMissing.join(', ')} are still missing from ${dir}.`, waysToGetBinaries());
  }
  return binaryPaths(dir);
}

/** Environment for every `go` command: the installed toolchain only, no cgo, static binaries. */
/** The environment every Go build of ours runs with: the local toolchain, static binaries, modules resolved as needed. */
export function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
}

/**
 * Runs `go` with its output in a log file; the last line becomes the progress detail.
 * On failure the error quotes the end of the log.
 */
async function runGo(
  args: string[],
  cwd: string,
  logFile: string,
  setDetail: (d: string) => void,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<string> {
  await mkdir(cwd, { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  log.write(`$ go ${args.join(' ')}\n`);
  const tail: string[] = [];
  let stdout = '';
  const code = await new Promise<number | null>((resolvePromise, reject) => {
    const child = spawn('go', args, { cwd, env: { ...goEnv(), ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      log.write(chunk);
    });
    // Progress comes from stderr, where `go build -v` names each package as it compiles it.
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        setDetail(line.trim());
      }
    };
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', resolvePromise);
  });
  await new Promise((r) => log.end(r));
  if (code !== 0) {
    throw new EnvironmentError(
      `go ${args.slice(0, 2).join(' ')} failed (exit ${code}) in ${cwd}:\n${tail.join('\n')}`,
      `Read ${logFile}; fix the cause (disk space, module proxy access) and run \`npm run setup\` again.`,
    );
  }
  return stdout;
}

function buildDir(name: string): string {
  return join(cacheDir(), 'build', name);
}

/** `-X` flags that make the built binaries report their real version (`kubectl version`). */
function kubernetesVersionLdflags(version: string): string {
  const [major, minor] = version.replace(/^v/, '').split('.');
  const stamp = (pkg: string) =>
    [
      `-X ${pkg}.gitVersion=${version}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
    ].join(' ');
  return `-s -w ${stamp('k8s.io/component-base/version')} ${stamp('k8s.io/client-go/pkg/version')}`;
}

/**
 * Writes the wrapper module that builds k8s.io/kubernetes outside its repository. Kubernetes
 * points its staging modules at ./staging, which a module download does not have, so each one is
 * replaced by its published v0.X.Y. The list is read from Kubernetes' own go.mod, never guessed.
 */
async function writeKubernetesWrapper(
  dir: string,
  commands: readonly string[],
  logFile: string,
  setDetail: (d: string) => void,
): Promise<void> {
  const version = VERSIONS.kubernetes;
  const info = JSON.parse(
    await runGo(['mod', 'download', '-json', `k8s.io/kubernetes@${version}`], dir, logFile, setDetail),
  ) as { GoMod: string };
  const upstream = await readFile(info.GoMod, 'utf8');
  const staging = [...upstream.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s*=>\s*\.\/staging\//gm)].map((m) => m[1]!);
  if (staging.length < 20) throw new Error(`Found only ${staging.length} staging modules in ${info.GoMod}`);
  const godebug = upstream.match(/^godebug .*$/m)?.[0] ?? '';
  const goLine = upstream.match(/^go .*$/m)?.[0] ?? 'go 1.26.0';
  const stagingVersion = version.replace(/^v1\./, 'v0.');
  const goMod = [
    'module daemonset-lab/build/kubernetes',
    '',
    goLine,
    '',
    godebug,
    '',
    `require k8s.io/kubernetes ${version}`,
    '',
    'replace (',
    ...staging.map((module) => `\t${module} => ${module} ${stagingVersion}`),
    ')',
    '',
  ].join('\n');
  await writeFile(join(dir, 'go.mod'), goMod);
  await writeFile(
    join(dir, 'tools.go'),
    [
      '//go:build tools',
      '',
      '// Package tools pins the commands this wrapper module builds.',
      'package tools',
      '',
      'import (',
      ...commands.map((cmd) => `\t_ "k8s.io/kubernetes/cmd/${cmd}"`),
      ')',
      '',
    ].join('\n'),
  );
  await runGo(['mod', 'tidy'], dir, logFile, setDetail);
}

const KUBERNETES_COMMANDS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'] as const;

/** Builds into a temporary folder and renames, so an interrupted build never leaves half a binary. */
async function buildInto(
  targetDir: string,
  names: readonly string[],
  build: (outDir: string) => Promise<void>,
): Promise<void> {
  const outDir = join(targetDir, `.partial-${process.pid}`);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  try {
    await build(outDir);
    for (const name of names) await rename(join(outDir, name), join(targetDir, name));
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/**
 * Builds Kubernetes commands from one wrapper module in its own work folder (groups never share a
 * go.mod, so the control plane and the node binaries can be built independently; the Go build
 * cache is shared, so the second group reuses every package the first compiled).
 */
async function buildKubernetesCommands(
  workName: string,
  commands: readonly string[],
  dir: string,
  setDetail: (d: string) => void,
): Promise<void> {
  const work = buildDir(`${workName}-${VERSIONS.kubernetes}`);
  const logFile = join(work, 'build.log');
  await mkdir(work, { recursive: true });
  await writeKubernetesWrapper(work, commands, logFile, setDetail);
  await buildInto(dir, commands, async (outDir) => {
    await runGo(
      [
        'build',
        '-v',
        '-trimpath',
        '-tags',
        'selinux,notest',
        '-ldflags',
        kubernetesVersionLdflags(VERSIONS.kubernetes),
        '-o',
        `${outDir}/`,
        ...commands.map((cmd) => `k8s.io/kubernetes/cmd/${cmd}`),
      ],
      work,
      logFile,
      setDetail,
    );
  });
}

const BINARY_GROUPS: readonly BinaryGroup[] = [
  {
    id: 'kubernetes',
    binaries: KUBERNETES_COMMANDS,
    async build(dir, setDetail) {
      await buildKubernetesCommands('kubernetes', KUBERNETES_COMMANDS, dir, setDetail);
    },
    downloadUrls(goArch) {
      return KUBERNETES_COMMANDS.map((name) => ({
        name,
        url: `https://dl.k8s.io/release/${VERSIONS.kubernetes}/bin/linux/${goArch}/${name}`,
      }));
    },
  },
  {
    id: 'etcd',
    binaries: ['etcd', 'etcdctl'],
    async build(dir, setDetail) {
      const work = buildDir(`etcd-${VERSIONS.etcd}`);
      const logFile = join(work, 'build.log');
      await mkdir(work, { recursive: true });
      // etcd's server module root is its main package; the wrapper pins server and etcdctl together.
      await writeFile(
        join(work, 'go.mod'),
        `module daemonset-lab/build/etcd\n\ngo 1.26.0\n\nrequire (\n\tgo.etcd.io/etcd/server/v3 ${VERSIONS.etcd}\n\tgo.etcd.io/etcd/etcdctl/v3 ${VERSIONS.etcd}\n)\n`,
      );
      await writeFile(
        join(work, 'tools.go'),
        '//go:build tools\n\n// Package tools pins the commands this wrapper module builds.\npackage tools\n\nimport (\n\t_ "go.etcd.io/etcd/etcdctl/v3"\n\t_ "go.etcd.io/etcd/server/v3"\n)\n',
      );
      await runGo(['mod', 'tidy'], work, logFile, setDetail);
      await buildInto(dir, this.binaries, async (outDir) => {
        await runGo(['build', '-v', '-trimpath', '-ldflags', '-s -w', '-o', join(outDir, 'etcd'), 'go.etcd.io/etcd/server/v3'], work, logFile, setDetail);
        await runGo(['build', '-v', '-trimpath', '-ldflags', '-s -w', '-o', join(outDir, 'etcdctl'), 'go.etcd.io/etcd/etcdctl/v3'], work, logFile, setDetail);
      });
    },
    downloadUrls(goArch) {
      const archive = `https://github.com/etcd-io/etcd/releases/download/${VERSIONS.etcd}/etcd-${VERSIONS.etcd}-linux-${goArch}.tar.gz`;
      return [
        { name: 'etcd', url: archive, tarMember: `etcd-${VERSIONS.etcd}-linux-${goArch}/etcd` },
        { name: 'etcdctl', url: archive, tarMember: `etcd-${VERSIONS.etcd}-linux-${goArch}/etcdctl` },
      ];
    },
  },
  {
    id: 'kwok',
    binaries: ['kwok', 'kwokctl'],
    async build(dir, setDetail) {
      const work = buildDir(`kwok-${VERSIONS.kwok}`);
      await mkdir(work, { recursive: true });
      // GOBIN is the partial folder, so the build never touches the user's ~/go/bin.
      await buildInto(dir, this.binaries, async (outDir) => {
        await runGo(
          ['install', '-v', '-trimpath', '-ldflags', '-s -w', ...this.binaries.map((b) => `sigs.k8s.io/kwok/cmd/${b}@${VERSIONS.kwok}`)],
          work,
          join(work, 'build.log'),
          setDetail,
          { GOBIN: outDir },
        );
      });
    },
    downloadUrls(goArch) {
      return this.binaries.map((name) => ({
        name,
        url: `https://github.com/kubernetes-sigs/kwok/releases/download/${VERSIONS.kwok}/${name}-linux-${goArch}`,
      }));
    },
  },
];

async function downloadGroup(group: BinaryGroup, dir: string, goArch: string, setDetail: (d: string) => void): Promise<void> {
  for (const { name, url, tarMember } of group.downloadUrls(goArch)) {
    setDetail(url);
    const response = await fetch(url);
    if (!response.ok) {
      throw new EnvironmentError(`Downloading ${url} failed: HTTP ${response.status}.`, waysToGetBinaries());
    }
    const body = Buffer.from(await response.arrayBuffer());
    const target = join(dir, name);
    if (tarMember) {
      const archivePath = `${target}.tar.gz`;
      await writeFile(archivePath, body);
      await new Promise<void>((resolvePromise, reject) => {
        const tar = spawn('tar', ['-xzf', archivePath, '-C', dir, '--strip-components=1', tarMember]);
        tar.on('error', reject);
        tar.on('close', (code) => (code === 0 ? resolvePromise() : reject(new Error(`tar exited ${code}`))));
      });
      await rm(archivePath, { force: true });
    } else {
      await writeFile(target, body);
    }
    await chmod(target, 0o755);
  }
}

/**
 * The node binaries only the kind engine needs (its node image runs real kubelets). An optional
 * set: `npm start` and `npm run setup` never build them; the kind node image build asks for them.
 */
export const NODE_BINARY_NAMES = ['kubelet', 'kubeadm', 'kube-proxy', 'coredns', `etcd-${VERSIONS.kindEtcd}`] as const;
export type NodeBinaryName = (typeof NODE_BINARY_NAMES)[number];

const NODE_KUBERNETES_COMMANDS = ['kubelet', 'kubeadm', 'kube-proxy'] as const;

/** Paths of the node binaries (next to the others in {@link binaryDir}). */
export function nodeBinaryPaths(dir = binaryDir()): Record<NodeBinaryName, string> {
  return Object.fromEntries(NODE_BINARY_NAMES.map((name) => [name, join(dir, name)])) as Record<NodeBinaryName, string>;
}

/** The node binaries that are not in the cache yet. */
export async function missingNodeBinaries(dir = binaryDir()): Promise<NodeBinaryName[]> {
  const paths = nodeBinaryPaths(dir);
  const missing: NodeBinaryName[] = [];
  for (const name of NODE_BINARY_NAMES) if (!(await isExecutable(paths[name]))) missing.push(name);
  return missing;
}

/**
 * Ensures kubelet, kubeadm, kube-proxy and CoreDNS (the cluster DNS image kubeadm deploys) are
 * cached, building them from Go modules with progress (a few minutes when the control-plane
 * binaries were built before: most packages are shared).
 * They are only ever built, never downloaded: the node image must hold what we can rebuild offline.
 */
export async function ensureNodeBinaries(): Promise<Record<NodeBinaryName, string>> {
  const dir = binaryDir();
  const missing = await missingNodeBinaries(dir);
  if (missing.length === 0) return nodeBinaryPaths(dir);
  if (process.env.DAEMONSET_LAB_BIN_DIR) {
    throw new EnvironmentError(`DAEMONSET_LAB_BIN_DIR=${dir} lacks ${missing.join(', ')}.`, `Put kubelet, kubeadm and kube-proxy of Kubernetes ${VERSIONS.kubernetes} there too, or unset DAEMONSET_LAB_BIN_DIR to build them.`);
  }
  if (!(await findOnPath('go'))) {
    throw new EnvironmentError(`The kind node image needs ${missing.join(', ')}, and Go is not installed to build them.`, 'Install Go ≥ 1.26, or use --provider embedded.');
  }
  await mkdir(dir, { recursive: true });
  const kubernetesNode = NODE_KUBERNETES_COMMANDS.filter((name) => missing.includes(name));
  if (kubernetesNode.length > 0) {
    await withProgress(`Building ${NODE_KUBERNETES_COMMANDS.join(', ')} (for the kind node image)`, (setDetail) =>
      buildKubernetesCommands('kubernetes-node', NODE_KUBERNETES_COMMANDS, dir, setDetail),
    );
  }
  if (missing.includes(`etcd-${VERSIONS.kindEtcd}`)) {
    await withProgress(`Building etcd ${VERSIONS.kindEtcd} (for the kind node image)`, (setDetail) => buildEtcdServer(VERSIONS.kindEtcd, dir, setDetail));
  }
  if (missing.includes('coredns')) {
    await withProgress(`Building CoreDNS ${VERSIONS.coredns} (for the kind node image)`, (setDetail) => buildCoreDns(VERSIONS.coredns, dir, setDetail));
  }
  const stillMissing = await missingNodeBinaries(dir);
  if (stillMissing.length > 0) throw new EnvironmentError(`After the build, ${stillMissing.join(', ')} are still missing from ${dir}.`, 'Read the build log in the cache folder and run `npm run cluster -- up --provider kind` again.');
  return nodeBinaryPaths(dir);
}

/**
 * `go install`s module commands into `dir` atomically (built in a partial folder, then renamed),
 * never touching the user's ~/go/bin. `names` are the binaries the packages produce.
 */
export async function goInstallInto(
  dir: string,
  names: readonly string[],
  packages: readonly string[],
  workName: string,
  setDetail: (d: string) => void,
): Promise<void> {
  const work = buildDir(workName);
  await mkdir(dir, { recursive: true });
  await buildInto(dir, names, async (outDir) => {
    await runGo(['install', '-v', '-trimpath', '-ldflags', '-s -w', ...packages], work, join(work, 'build.log'), setDetail, { GOBIN: outDir });
  });
}

/**
 * CoreDNS plugins left out of the kind node image's CoreDNS, and why: they talk to cloud or
 * tracing services a lab cluster has no use for, and their SDKs (AWS, Azure, Google Cloud,
 * Datadog, Nomad) were most of what a full build compiled (about 12 minutes on a new 2-core
 * machine). A Corefile naming one of them fails to load; kubeadm's Corefile names none.
 */
export const COREDNS_PLUGINS_LEFT_OUT = ['route53', 'azure', 'clouddns', 'trace', 'nomad'] as const;

/**
 * CoreDNS's plugins in its own order (plugin.cfg of v1.14.2: `name:package`), less
 * COREDNS_PLUGINS_LEFT_OUT. A package without a slash is under github.com/coredns/coredns/plugin/.
 */
const COREDNS_PLUGINS = [
  'root', 'metadata', 'geoip', 'cancel', 'tls', 'quic', 'grpc_server', 'https', 'https3', 'timeouts', 'multisocket', 'reload',
  'nsid', 'bufsize', 'bind', 'debug', 'trace', 'ready', 'health', 'pprof', 'prometheus:metrics', 'errors', 'log', 'dnstap', 'local',
  'dns64', 'any', 'chaos', 'loadbalance', 'tsig', 'cache', 'rewrite', 'acl', 'header', 'dnssec', 'autopath', 'minimal', 'template',
  'transfer', 'hosts', 'route53', 'azure', 'clouddns', 'k8s_external', 'kubernetes', 'file', 'auto', 'secondary', 'etcd', 'loop',
  'forward', 'grpc', 'erratic', 'whoami', 'on:github.com/coredns/caddy/onevent', 'sign', 'view', 'nomad',
] as const;

/** The wrapper module's main.go: coremain with the chosen plugins (what CoreDNS's own main does with all of them). */
export function coreDnsMain(): string {
  const leftOut = new Set<string>(COREDNS_PLUGINS_LEFT_OUT);
  const imports = COREDNS_PLUGINS.map((entry) => entry.split(':') as [string, string?])
    .filter(([name]) => !leftOut.has(name))
    .map(([name, pkg]) => `\t_ "${(pkg ?? name).includes('/') ? pkg : `github.com/coredns/coredns/plugin/${pkg ?? name}`}"`);
  return `// CoreDNS with the plugins of plugin.cfg less ${COREDNS_PLUGINS_LEFT_OUT.join(', ')} (see binaries.ts).\npackage main\n\nimport (\n\t"github.com/coredns/coredns/coremain"\n${imports.join('\n')}\n)\n\nfunc main() {\n\tcoremain.Run()\n}\n`;
}

/** Builds `coredns` through a wrapper module whose main imports CoreDNS's plugins less the ones left out. */
async function buildCoreDns(version: string, dir: string, setDetail: (d: string) => void): Promise<void> {
  const work = buildDir(`coredns-${version}-lean`);
  const logFile = join(work, 'build.log');
  await mkdir(work, { recursive: true });
  await writeFile(join(work, 'go.mod'), `module daemonset-lab/build/coredns\n\ngo 1.26.0\n\nrequire github.com/coredns/coredns ${version}\n`);
  await writeFile(join(work, 'main.go'), coreDnsMain());
  await runGo(['mod', 'tidy'], work, logFile, setDetail);
  await buildInto(dir, ['coredns'], async (outDir) => {
    await runGo(['build', '-v', '-trimpath', '-ldflags', '-s -w', '-o', join(outDir, 'coredns'), '.'], work, logFile, setDetail);
  });
}

/**
 * Builds etcd's server alone as `etcd-<version>`, through a wrapper module (etcd's own go.mod
 * replaces its sibling modules with folders a module download lacks).
 */
async function buildEtcdServer(version: string, dir: string, setDetail: (d: string) => void): Promise<void> {
  const work = buildDir(`etcd-server-${version}`);
  const logFile = join(work, 'build.log');
  await mkdir(work, { recursive: true });
  await writeFile(join(work, 'go.mod'), `module daemonset-lab/build/etcd-server\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 ${version}\n`);
  await writeFile(join(work, 'tools.go'), '//go:build tools\n\n// Package tools pins the command this wrapper module builds.\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n');
  await runGo(['mod', 'tidy'], work, logFile, setDetail);
  await buildInto(dir, [`etcd-${version}`], async (outDir) => {
    await runGo(['build', '-v', '-trimpath', '-ldflags', '-s -w', '-o', join(outDir, `etcd-${version}`), 'go.etcd.io/etcd/server/v3'], work, logFile, setDetail);
  });
}
