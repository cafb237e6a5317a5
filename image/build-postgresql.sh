#!/usr/bin/env bash
# Builds the PostgreSQL image the Helm chart can run where no registry is reachable, from Debian's
# postgresql package (bookworm: PostgreSQL 15), with Podman, as root:
#   image/build-postgresql.sh [IMAGE]     (default localhost/daemonset-lab/postgresql:15)
# It keeps the official image's contract the chart relies on (POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB, PGDATA; uid/gid 999; pg_isready; socket in /var/run/postgresql): see
# image/postgresql/entrypoint. A release would use docker.io/library/postgres instead.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${1:-localhost/daemonset-lab/postgresql:15}"
MIRROR="${DAEMONSET_LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
command -v podman >/dev/null || { echo "✗ Podman is required (apt-get install podman)"; exit 2; }
command -v debootstrap >/dev/null || { echo "✗ debootstrap is required (apt-get install debootstrap)"; exit 2; }
[[ $(id -u) == 0 ]] || { echo "✗ run as root (debootstrap and chroot need it)"; exit 2; }
debs="${DAEMONSET_LAB_CACHE:-$HOME/.cache/daemonset-lab}/kind-image/debs"
mkdir -p "$debs"
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
echo "▸ Debian bookworm with postgresql (debootstrap, minbase)"
debootstrap --variant=minbase --cache-dir="$debs" --include=postgresql,locales bookworm "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 ||
  { tail -20 "$rootfs.log" >&2; exit 1; }
# The official image's ids, which the chart's securityContext names (runAsUser 999, fsGroup 999).
chroot "$rootfs" groupmod -g 999 postgres
chroot "$rootfs" usermod -u 999 -g 999 postgres
chroot "$rootfs" bash -c 'chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql /etc/postgresql 2>/dev/null || true'
# Debian's package makes a cluster of its own in /var/lib/postgresql/15/main: the entrypoint makes one in PGDATA.
rm -rf "$rootfs"/var/lib/postgresql/* "$rootfs"/etc/postgresql/*
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/info
install -m 0755 image/postgresql/entrypoint "$rootfs/usr/local/bin/postgres-entrypoint"
# pg_isready and psql on PATH, as in the official image.
ln -sf "$(cd "$rootfs" && ls -d usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_isready" "$rootfs/usr/local/bin/pg_isready"
ln -sf "$(cd "$rootfs" && ls -d usr/lib/postgresql/*/bin | sort -V | tail -1)/psql" "$rootfs/usr/local/bin/psql"
for link in "$rootfs"/usr/local/bin/pg_isready "$rootfs"/usr/local/bin/psql; do ln -sf "/$(readlink "$link")" "$link"; done
echo "▸ podman import $IMAGE"
tar -C "$rootfs" -c . | podman import \
  --change 'ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]' --change 'USER 999:999' \
  --change 'ENV LANG=C.UTF-8' --change 'STOPSIGNAL SIGINT' --change 'EXPOSE 5432' - "$IMAGE" >/dev/null
podman image inspect "$IMAGE" --format "{{.Id}} {{.Size}}"
