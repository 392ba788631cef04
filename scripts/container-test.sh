#!/usr/bin/env bash
# Build and try feedbridge's container image with Podman, where no Docker engine or image
# registry is reachable: the base image is made locally from Debian packages (debootstrap),
# and the Dockerfile's `ARG BASE` points the build at it.
#
#   scripts/container-test.sh setup         install podman & co, make the local base image
#   scripts/container-test.sh build         setup, then build localhost/feedbridge:test
#   scripts/container-test.sh test          build, then run tests/test_container.py
#   scripts/container-test.sh podman ARGS   podman with this script's storage and flags
#   scripts/container-test.sh clean         remove all podman state this script made
#
# Needs root (debootstrap, mounts) on Debian. State lives in $FEEDBRIDGE_PODMAN_DIR
# (default /var/tmp/feedbridge-podman), so the base image is made once (about 40 s).
# Where Docker works, none of this is needed: `docker build -t feedbridge .`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${FEEDBRIDGE_PODMAN_DIR:-/var/tmp/feedbridge-podman}
BASE_IMAGE=localhost/feedbridge-base:bookworm
IMAGE=${FEEDBRIDGE_IMAGE:-localhost/feedbridge:test}
CA=/etc/ssl/certs/ca-certificates.crt

log() { printf 'container-test: %s\n' "$*" >&2; }

# podman with all state under $W; storage passed as flags, not environment (conmon's
# clean-up otherwise stalls ~20 s per container); runc, since crun refuses hybrid cgroups.
pm() {
  CONTAINERS_CONF="$W/containers.conf" podman --root "$W/storage" --runroot "$W/runroot" \
    --tmpdir "$W/tmp" --storage-driver overlay --runtime runc "$@"
}

install_tools() {
  local missing=()
  for tool in podman runc debootstrap newuidmap; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    log "installing podman runc debootstrap uidmap (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends podman runc debootstrap uidmap \
      fuse-overlayfs >/dev/null
  fi
}

write_conf() {
  mkdir -p "$W/storage" "$W/runroot" "$W/tmp"
  # podman's default ulimits are higher than root may set on these machines
  cat >"$W/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
EOF
}

mirror() {
  local m=""
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z $m && -f /etc/apt/sources.list ]]; then
    m=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' \
      /etc/apt/sources.list)
  fi
  [[ -n $m ]] || { log "no Debian mirror found in /etc/apt"; exit 1; }
  printf '%s\n' "$m"
}

make_base() {
  if pm image exists "$BASE_IMAGE"; then
    return
  fi
  local rootfs="$W/rootfs"
  log "making $BASE_IMAGE with debootstrap (Debian bookworm, python3)"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$(mirror)" >"$W/debootstrap.log" 2>&1 ||
    { tail -20 "$W/debootstrap.log" >&2; exit 1; }
  mount -t proc proc "$rootfs/proc"
  trap 'umount "'"$rootfs"'/proc" 2>/dev/null || true' EXIT
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  chroot "$rootfs" sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      python3 python3-venv python3-pip ca-certificates >/dev/null && apt-get clean \
      && rm -rf /var/lib/apt/lists/*'
  umount "$rootfs/proc"
  trap - EXIT
  : >"$rootfs/etc/resolv.conf"
  tar -C "$rootfs" -c . | pm import - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

setup() {
  install_tools
  write_conf
  make_base
}

build() {
  setup
  log "building $IMAGE from $ROOT"
  # the host's CA bundle must be visible to pip inside the build; docker format keeps
  # the HEALTHCHECK (the OCI format has no field for it)
  pm build --format docker --network host -v "$CA:$CA:ro" --build-arg "BASE=$BASE_IMAGE" \
    -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT"
}

case "${1:-}" in
  setup) setup ;;
  build) build ;;
  test)
    build
    cd "$ROOT"
    FEEDBRIDGE_CONTAINER_TEST=1 FEEDBRIDGE_PODMAN_DIR="$W" FEEDBRIDGE_IMAGE="$IMAGE" \
      python3 -m pytest -q tests/test_container.py
    ;;
  podman)
    shift
    write_conf
    pm "$@"
    ;;
  clean)
    if [[ -d $W ]]; then
      pm system reset --force >/dev/null 2>&1 || true
      rm -rf "$W"
    fi
    ;;
  *)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
