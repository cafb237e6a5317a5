/**
 * Pinned versions of every upstream tool. One Kubernetes minor everywhere: the embedded engine's
 * binaries and kind's node image are the same release, so both engines behave alike.
 */
export const VERSIONS = {
  /** kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, and kind's node image. */
  kubernetes: 'v1.36.1',
  /** etcd 3.5.x: Debian's 3.4 lacks what current kube-apiserver needs (RequestWatchProgress). */
  etcd: 'v3.5.35',
  kwok: 'v0.8.0',
  kind: 'v0.32.0',
  /** etcd as kubeadm v1.36 deploys it (SupportedEtcdVersion 3.6.8-0); built for the kind node image. */
  kindEtcd: 'v3.6.8',
  /** CoreDNS as kubeadm v1.36 deploys it (its CoreDNSVersion); built for the kind node image. */
  coredns: 'v1.14.2',
  /** The pause image kubeadm v1.36 names (its PauseVersion); containerd's sandbox image in kind nodes. */
  pause: '3.10.2',
} as const;

/** kind v0.32.0's default node image for Kubernetes v1.36.1, pinned by digest. */
export const KIND_NODE_IMAGE =
  'kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5';
