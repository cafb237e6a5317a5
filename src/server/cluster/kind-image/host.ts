/**
 * What a host needs before kind can run its nodes under Podman, checked before kind is asked to
 * create anything, so a missing piece is named with its fix instead of failing deep inside
 * `podman run` ("error setting rlimit type 7", "statfs /lib/modules", "cgroups in hybrid mode").
 * `.ci/run` sets these up on a CI machine; on a laptop the user does, following the fix.
 * The facts are gathered by one shell command through the runner, so tests can state them.
 */
import type { CommandRunner } from '../providers/provider.ts';

/** One missing piece of the host set-up and the command or edit that provides it. */
export interface HostProblem {
  readonly missing: string;
  readonly fix: string;
}

/** What the host says about itself. */
export interface PodmanHostFacts {
  /** Hard RLIMIT_NOFILE and RLIMIT_NPROC (bounded by pid_max) of this user. */
  readonly hardNofile: number;
  readonly hardNproc: number;
  readonly libModules: boolean;
  /** cgroup v1 controllers plus a cgroup2 tree at /sys/fs/cgroup/unified. */
  readonly hybridCgroups: boolean;
  /** Podman's OCI runtime (crun, runc). */
  readonly runtime: string;
  /** The hard limits containers.conf files set in default_ulimits, the last file winning. */
  readonly defaultUlimits: ReadonlyMap<string, number>;
}

/** Where the Podman settings go (a drop-in, so an existing containers.conf is left alone). */
export const PODMAN_DROP_IN = '/etc/containers/containers.conf.d/50-daemonset-lab.conf';

const FACTS_SCRIPT = [
  'echo "nofile $(ulimit -Hn)"',
  'echo "nproc $(ulimit -Hu)"',
  'echo "pidmax $(cat /proc/sys/kernel/pid_max)"',
  'test -d /lib/modules && echo "modules yes" || echo "modules no"',
  'if [ -e /sys/fs/cgroup/unified/cgroup.procs ] && [ ! -e /sys/fs/cgroup/cgroup.controllers ]; then echo "hybrid yes"; else echo "hybrid no"; fi',
  "echo \"runtime $(podman info --format '{{.Host.OCIRuntime.Name}}' 2>/dev/null)\"",
  'for f in /usr/share/containers/containers.conf /etc/containers/containers.conf /etc/containers/containers.conf.d/*.conf; do [ -f "$f" ] && grep -h "^[[:space:]]*default_ulimits" "$f" | sed "s/^/ulimits /"; done',
  'true',
].join('\n');

const toLimit = (text: string | undefined) => (text === undefined || text === '' ? 0 : text === 'unlimited' ? Infinity : Number(text));

/** Parses the facts script's output ("key value" lines). */
export function parseHostFacts(output: string): PodmanHostFacts {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const value = (key: string) => lines.find((l) => l.startsWith(`${key} `))?.slice(key.length + 1).trim();
  const defaultUlimits = new Map<string, number>();
  for (const line of lines.filter((l) => l.startsWith('ulimits '))) {
    defaultUlimits.clear();
    for (const [, name, hard] of line.matchAll(/"(\w+)=\d+:(\d+)"/g)) defaultUlimits.set(name!, Number(hard));
  }
  return {
    hardNofile: toLimit(value('nofile')),
    hardNproc: Math.min(toLimit(value('nproc')), toLimit(value('pidmax')) || Infinity),
    libModules: value('modules') === 'yes',
    hybridCgroups: value('hybrid') === 'yes',
    runtime: value('runtime') ?? '',
    defaultUlimits,
  };
}

/** Asks the host (one shell command). */
export async function podmanHostFacts(runner: CommandRunner): Promise<PodmanHostFacts> {
  return parseHostFacts((await runner.run('bash', ['-c', FACTS_SCRIPT])).stdout);
}

/**
 * Everything missing for kind's Podman nodes; empty when the host is ready.
 * - kind mounts /lib/modules into every node;
 * - Podman (as root) gives containers RLIMIT_NOFILE 1048576 unless containers.conf says otherwise,
 *   and where the host's hard limits are lower every privileged container fails to start;
 * - crun refuses a hybrid cgroup layout, runc runs it.
 */
export function podmanHostProblems(facts: PodmanHostFacts): HostProblem[] {
  const problems: HostProblem[] = [];
  if (!facts.libModules) problems.push({ missing: '/lib/modules (kind mounts it into every node)', fix: 'mkdir -p /lib/modules' });
  const fits = (name: 'nofile' | 'nproc', hard: number) => {
    const configured = facts.defaultUlimits.get(name);
    return configured !== undefined && configured <= hard;
  };
  if (facts.hardNofile < 1_048_576 && !(fits('nofile', facts.hardNofile) && fits('nproc', facts.hardNproc))) {
    const nofile = facts.hardNofile;
    const nproc = Math.min(facts.hardNproc, 32768);
    problems.push({
      missing: `Podman default ulimits that fit this host (it allows at most nofile=${facts.hardNofile}, nproc=${facts.hardNproc}; Podman asks for more)`,
      fix: `put in ${PODMAN_DROP_IN}:\n  [containers]\n  default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
    });
  }
  if (facts.hybridCgroups && facts.runtime === 'crun') {
    problems.push({
      missing: "an OCI runtime for this host's hybrid cgroup layout (Podman uses crun, which refuses it)",
      fix: `apt-get install runc, and put in ${PODMAN_DROP_IN}:\n  [engine]\n  runtime = "runc"`,
    });
  }
  return problems;
}
