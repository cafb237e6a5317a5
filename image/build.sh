#!/usr/bin/env bash
# Builds the learner image with Podman, from the committed tree, without any registry:
#   image/build.sh [TAG]        (default tag: the package.json version)
# 1. a Debian bookworm base from debootstrap, imported once as localhost/daemonset-lab-base:bookworm;
# 2. a build context: `git archive HEAD`, node_modules (npm install), dist (astro build of that
#    tree, inside the context), the server bundled into one file (image/bundle-server.ts), the
#    Kubernetes binaries (npm run setup) and Node 24 (the `node` devDependency);
# 3. podman build -f image/Containerfile, labelled with image/source-id.sh (what it was built from).
# Takes minutes (not part of npm test); a release workflow would push the result.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG="${1:-$(node -p "require('./package.json').version")}"
BASE=localhost/daemonset-lab-base:bookworm
IMAGE="localhost/daemonset-lab:$TAG"
command -v podman >/dev/null || { echo "✗ Podman is required (apt-get install podman)"; exit 2; }

if ! podman image exists "$BASE"; then
  command -v debootstrap >/dev/null || { echo "✗ debootstrap is required for the base (apt-get install debootstrap)"; exit 2; }
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  echo "▸ Debian bookworm base (debootstrap, minbase)"
  debootstrap --variant=minbase --include=ca-certificates,bash,procps bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
fi

echo "▸ Build context"
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
# npm test runs this beside other tests that use node_modules and dist/: install only when
# node_modules does not match the lock file, and build the site inside the context, from the
# committed sources, never into the repository's dist/.
npm ls --depth=0 >/dev/null 2>&1 || npm install --no-audit --no-fund >/dev/null
npm run -s setup
mkdir -p "$context/app" "$context/bin"
git archive HEAD | tar -x -C "$context/app"
# Without the caches that tests running meanwhile write into node_modules (vitest's, Vite's,
# Astro's): a file that vanishes while it is copied would fail the copy.
tar -C . --exclude=node_modules/.vitest-cache --exclude=node_modules/.vite --exclude=node_modules/.vite-temp --exclude=node_modules/.astro \
  --exclude=node_modules/.cache -cf - node_modules | tar -C "$context/app" -xf -
(cd "$context/app" && NODE_ENV=production ASTRO_TELEMETRY_DISABLED=1 node_modules/.bin/node node_modules/astro/bin/astro.mjs build >/dev/null)
# The pods run the server as one bundled file: it loads in half the time of its 1,200 modules.
(cd "$context/app" && node_modules/.bin/node image/bundle-server.ts .)
# The `node` package is Node 24 itself (about 190 MB), which the image has as /usr/local/bin/node.
rm -rf "$context/app/node_modules/node" "$context/app/node_modules/.bin/node"
cp "$(node_modules/.bin/node -p "require('node:path').join(require.resolve('node/package.json'), '..', 'bin', 'node')")" "$context/node"
bin_dir="$(node_modules/.bin/node --input-type=module -e "import { binaryDir } from './src/server/cluster/binaries.ts'; console.log(binaryDir())" 2>/dev/null || true)"
if [ -z "$bin_dir" ] || [ ! -d "$bin_dir" ]; then
  bin_dir="$(ls -d "${DAEMONSET_LAB_CACHE:-$HOME/.cache/daemonset-lab}"/bin/kubernetes-* | tail -1)"
fi
# The embedded engine's binaries only (the cache also holds the kind node image's kubelet,
# kubeadm, kube-proxy, CoreDNS and a second etcd: hundreds of MB a learner pod never runs).
for binary in $(node_modules/.bin/node --input-type=module -e "import { binaryPaths } from './src/server/cluster/binaries.ts'; console.log(Object.keys(binaryPaths()).join(' '))" 2>/dev/null); do
  cp -a "$bin_dir/$binary" "$context/bin/"
done
[ -x "$context/bin/kube-apiserver" ] || { echo "✗ no kube-apiserver in $bin_dir"; exit 2; }

SOURCE_ID="$(bash image/source-id.sh)"
echo "▸ podman build $IMAGE (source $SOURCE_ID)"
podman build --pull=never --label "dev.daemonset-lab.source=$SOURCE_ID" -f image/Containerfile -t "$IMAGE" "$context"
podman image inspect "$IMAGE" --format "{{.Id}} {{.Size}}"
