#!/bin/bash
# Builds the DaemonSet Lab kind node image offline, from Debian packages and binaries built from Go
# modules. Called by node-image.ts, which decides the inputs and the cache folder:
#   WORK          empty work folder (deleted by the caller afterwards)
#   DEB_CACHE     folder kept between builds: downloaded .deb files and finished root file systems
#                 (a tarball per package list, so a rebuild for changed node files skips debootstrap)
#   MIRROR SUITE  the Debian mirror and suite (the machine's own apt source)
#   BIN_DIR       kubelet kubeadm kube-proxy kubectl kube-apiserver kube-controller-manager
#                 kube-scheduler etcd (from the binaries build) and coredns
#   ETCD_BINARY   the etcd server binary in BIN_DIR for the etcd image
#   K8S_VERSION ETCD_IMAGE_TAG COREDNS_VERSION PAUSE_VERSION
#   IMAGE         the tag to create; it appears only when every step has succeeded
# Each step prints "==> <step>" so the caller can show progress.
set -o errexit -o nounset -o pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
step() { echo "==> $*"; }

NODE_PACKAGES=systemd,systemd-sysv,dbus,containerd,runc,iptables,nftables,iproute2,containernetworking-plugins,conntrack,ethtool,socat,ebtables,kmod,procps,ca-certificates,libseccomp2,catatonit,busybox-static
BASE_PACKAGES=iptables,iproute2,conntrack,procps,nginx-light,prometheus-node-exporter,ca-certificates
# A private image store, so the component images never appear in the user's Podman store under
# names such as docker.io/library/nginx:1.19. Podman wants its runroot path short.
RUNROOT="$(mktemp -d /tmp/dsl-podman-XXXXXX)"
STORE=(--root "$WORK/storage" --runroot "$RUNROOT" --storage-driver overlay)
cleanup() {
  podman "${STORE[@]}" rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$RUNROOT"
}
trap cleanup EXIT

debootstrap_into() { # target packages
  local tarball
  tarball="$DEB_CACHE/rootfs-$SUITE-$(echo "$MIRROR $2" | sha256sum | cut -c1-16).tar"
  mkdir -p "$DEB_CACHE" "$1"
  if [[ ! -f "$tarball" ]]; then
    debootstrap --variant=minbase --cache-dir="$DEB_CACHE" --include="$2" "$SUITE" "$1" "$MIRROR" >"$1.log" 2>&1 ||
      { tail -20 "$1.log" >&2; exit 1; }
    # Trim what a container never uses (apt lists, docs, man pages): a smaller image copies faster.
    rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb \
      "$1"/usr/share/doc "$1"/usr/share/man "$1"/usr/share/info
    tar -C "$1" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
  else
    tar -C "$1" -xf "$tarball"
  fi
}

step "Debian $SUITE root file systems (debootstrap)"
debootstrap_into "$WORK/node" "$NODE_PACKAGES"
debootstrap_into "$WORK/base" "$BASE_PACKAGES"

step 'Component and stand-in images (podman build, in a private image store)'
ctx="$WORK/context"
mkdir -p "$ctx"
cp "$HERE"/images/* "$ctx/"
for binary in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl coredns; do cp "$BIN_DIR/$binary" "$ctx/"; done
# The pod network daemon's NetworkPolicy enforcer: our own Go source, standard library only.
(cd "$HERE/network-policy" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$ctx/network-policy" .)
cp "$BIN_DIR/$ETCD_BINARY" "$ctx/etcd"
cp "$WORK/node/usr/bin/catatonit" "$ctx/catatonit"
cp "$WORK/node/bin/busybox" "$ctx/busybox"
tar -C "$WORK/base" -c . | podman "${STORE[@]}" import - localhost/daemonset-lab/debian-base:build >/dev/null
build() { # tag containerfile [build-arg]
  podman "${STORE[@]}" build --quiet --network none --pull=never -t "$1" -f "$ctx/$2" ${3:+--build-arg "$3"} "$ctx" >/dev/null
}
for component in kube-apiserver kube-controller-manager kube-scheduler; do
  build "registry.k8s.io/$component:$K8S_VERSION" Containerfile.static "BINARY=$component"
done
build "registry.k8s.io/etcd:$ETCD_IMAGE_TAG" Containerfile.static BINARY=etcd
build "registry.k8s.io/kube-proxy:$K8S_VERSION" Containerfile.kube-proxy
build "registry.k8s.io/pause:$PAUSE_VERSION" Containerfile.pause
build "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" Containerfile.coredns
# The pod network daemon, under the name of the kindnetd image it stands in for.
build docker.io/kindest/kindnetd:v20260528-9350166c Containerfile.pod-network
# The lab images, under the names the labs use (stand-ins; see README "The kind engine").
STANDINS=(docker.io/library/busybox:1.36 docker.io/library/nginx:1.19 docker.io/fluent/fluentd:v1.14-1 docker.io/prom/node-exporter:v1.8.2)
build docker.io/library/busybox:1.36 Containerfile.busybox
for tag in 1.37 latest; do podman "${STORE[@]}" tag docker.io/library/busybox:1.36 "docker.io/library/busybox:$tag"; STANDINS+=("docker.io/library/busybox:$tag"); done
build docker.io/library/nginx:1.19 Containerfile.nginx
for tag in 1.19.10 1.20 1.20.0 1.20.2 1.21 1.25 1.27 1.29 stable latest; do podman "${STORE[@]}" tag docker.io/library/nginx:1.19 "docker.io/library/nginx:$tag"; STANDINS+=("docker.io/library/nginx:$tag"); done
build docker.io/fluent/fluentd:v1.14-1 Containerfile.fluentd
build docker.io/prom/node-exporter:v1.8.2 Containerfile.node-exporter
mkdir -p "$WORK/node/kind/images"
podman "${STORE[@]}" save --quiet -m --format docker-archive -o "$WORK/node/kind/images/images.tar" \
  "registry.k8s.io/kube-apiserver:$K8S_VERSION" "registry.k8s.io/kube-controller-manager:$K8S_VERSION" \
  "registry.k8s.io/kube-scheduler:$K8S_VERSION" "registry.k8s.io/kube-proxy:$K8S_VERSION" \
  "registry.k8s.io/etcd:$ETCD_IMAGE_TAG" "registry.k8s.io/pause:$PAUSE_VERSION" \
  "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" docker.io/kindest/kindnetd:v20260528-9350166c "${STANDINS[@]}"

step 'Node file system (kubelet, kubeadm, kubectl, systemd units, containerd configuration)'
for binary in kubelet kubeadm kubectl; do install -m 0755 "$BIN_DIR/$binary" "$WORK/node/usr/bin/$binary"; done
cp -a "$HERE/node/." "$WORK/node/"
echo "$K8S_VERSION" >"$WORK/node/kind/version"
chroot "$WORK/node" systemctl enable containerd kubelet >/dev/null 2>&1
# Units a node container has no use for (and that fail or slow the boot inside one).
chroot "$WORK/node" systemctl mask systemd-udevd.service systemd-udevd-kernel.socket systemd-udevd-control.socket \
  systemd-modules-load.service systemd-resolved.service getty.target console-getty.service >/dev/null 2>&1
echo 'ReadKMsg=no' >>"$WORK/node/etc/systemd/journald.conf"

step 'Preloading the images into the node'"'"'s containerd'
# containerd of the node itself, in a private mount namespace so nothing stays mounted.
unshare --mount --fork -- /bin/bash -euc '
  root=$1
  mount -t proc proc "$root/proc"
  mount -t tmpfs tmpfs "$root/run"
  printf "version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n" >"$root/run/build.toml"
  chroot "$root" /usr/bin/containerd --config /run/build.toml --address /run/build.sock >"$root/../containerd.log" 2>&1 &
  containerd=$!
  for _ in $(seq 50); do [ -S "$root/run/build.sock" ] && break; sleep 0.2; done
  chroot "$root" /usr/bin/ctr --address /run/build.sock --namespace k8s.io images import --no-unpack --digests /kind/images/images.tar
  kill "$containerd"; wait "$containerd" || true
' _ "$WORK/node"
rm -f "$WORK/node/kind/images/images.tar"

step "Importing the node image $IMAGE"
tar -C "$WORK/node" -c . | podman import \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
  --change 'STOPSIGNAL SIGRTMIN+3' --change 'ENV container=podman' \
  - "$IMAGE" >/dev/null
