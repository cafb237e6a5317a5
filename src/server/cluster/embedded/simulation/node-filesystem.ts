/**
 * The simulated node's filesystem, for hostPath volumes: the paths a kind node (a Debian container
 * running containerd and the kubelet) has, so that `type: Directory` or `type: File` on a path the
 * node lacks fails as the kubelet reports it.
 */
import type { V1Pod } from '@kubernetes/client-node';

type Kind = 'directory' | 'file' | 'socket' | 'char';

/** Directories of a kind node; every parent of a listed path is a directory too. */
const DIRECTORIES = [
  '/', '/bin', '/boot', '/dev', '/dev/shm', '/dev/pts', '/etc', '/etc/kubernetes', '/etc/kubernetes/manifests', '/etc/kubernetes/pki',
  '/etc/cni/net.d', '/etc/containerd', '/etc/ssl/certs', '/etc/default', '/etc/systemd', '/home', '/kind', '/lib', '/lib/modules', '/lib64', '/media', '/mnt',
  '/opt', '/opt/cni/bin', '/proc', '/root', '/run', '/run/containerd', '/run/systemd', '/run/xtables.lock', '/sbin', '/srv', '/sys', '/sys/fs/cgroup',
  '/sys/fs/bpf', '/sys/kernel/debug', '/tmp', '/usr', '/usr/bin', '/usr/lib', '/usr/local', '/usr/local/bin', '/usr/sbin', '/usr/share', '/var', '/var/lib',
  '/var/lib/kubelet', '/var/lib/kubelet/pods', '/var/lib/kubelet/plugins', '/var/lib/kubelet/plugins_registry', '/var/lib/kubelet/pod-resources',
  '/var/lib/containerd', '/var/lib/etcd', '/var/log', '/var/log/pods', '/var/log/containers', '/var/log/journal', '/var/run', '/var/tmp', '/var/local',
];

const FILES: Record<string, Kind> = {
  '/etc/hostname': 'file', '/etc/hosts': 'file', '/etc/resolv.conf': 'file', '/etc/os-release': 'file', '/etc/machine-id': 'file', '/etc/passwd': 'file',
  '/etc/group': 'file', '/etc/localtime': 'file', '/etc/fstab': 'file', '/etc/containerd/config.toml': 'file', '/var/lib/kubelet/config.yaml': 'file',
  '/var/lib/kubelet/kubeadm-flags.env': 'file', '/etc/kubernetes/kubelet.conf': 'file', '/var/log/dpkg.log': 'file', '/var/log/alternatives.log': 'file',
  '/run/containerd/containerd.sock': 'socket', '/var/run/containerd/containerd.sock': 'socket', '/run/systemd/journal/socket': 'socket',
  '/dev/null': 'char', '/dev/zero': 'char', '/dev/random': 'char', '/dev/urandom': 'char', '/dev/tty': 'char', '/dev/kmsg': 'char', '/dev/fuse': 'char',
  '/run/xtables.lock': 'file',
};

/** What exists at a path on the node; undefined when nothing does. */
export function nodePathKind(path: string): Kind | undefined {
  const normalized = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (FILES[normalized]) return FILES[normalized];
  if (DIRECTORIES.some((dir) => dir === normalized || dir.startsWith(`${normalized}/`))) return 'directory';
  // /proc and /sys hold whatever the kernel exposes: accept anything below them.
  if (/^\/(proc|sys)\//.test(normalized)) return 'directory';
  return undefined;
}

const EXPECTED: Record<string, { kind: Kind; words: string }> = {
  Directory: { kind: 'directory', words: 'a directory' },
  File: { kind: 'file', words: 'a file' },
  Socket: { kind: 'socket', words: 'a socket file' },
  CharDevice: { kind: 'char', words: 'a character device' },
  BlockDevice: { kind: 'char', words: 'a block device' },
};

/**
 * The kubelet's FailedMount message for the first hostPath volume whose type check fails, e.g.
 * `MountVolume.SetUp failed for volume "data" : hostPath type check failed: /data is not a directory`.
 */
export function hostPathProblem(pod: V1Pod): string | undefined {
  for (const volume of pod.spec?.volumes ?? []) {
    const hostPath = volume.hostPath;
    const expected = hostPath?.type ? EXPECTED[hostPath.type] : undefined;
    if (!hostPath || !expected) continue;
    const kind = nodePathKind(hostPath.path);
    const blockDevice = hostPath.type === 'BlockDevice';
    if (kind !== expected.kind || blockDevice) {
      return `MountVolume.SetUp failed for volume "${volume.name}" : hostPath type check failed: ${hostPath.path} is not ${expected.words}`;
    }
  }
  return undefined;
}
