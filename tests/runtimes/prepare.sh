#!/usr/bin/env bash
# Prepares what the privileged tests use on a fresh Debian 12 machine (container runtimes,
# capsh, Prometheus):
#  - installs missing packages through apt (only when SMOOTHTASK_ALLOW_APT=1 or CI=true),
#  - starts containerd and dockerd when they are not running (recording their PIDs, so
#    teardown.sh stops only what this script started),
#  - makes a busybox root filesystem and imports it as the local image of docker and podman
#    (no registry is reachable),
#  - debootstraps a minimal Debian bookworm and imports it as smoothtask-debian:bookworm, the
#    base of the production image the deployment tests build (kept as a tar, so only the first
#    run on a machine downloads it).
# Everything it creates lives under $STATE (default: <workspace>/target/runtimes).
# Prints one line per runtime: "runtime <name>: ready" or "runtime <name>: missing: <why>".
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
STATE="${SMOOTHTASK_RUNTIME_STATE:-$here/../../target/runtimes}"
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
log() { echo "runtimes: $*" >&2; }

PACKAGES=(docker.io containerd runc podman conmon containernetworking-plugins iptables catatonit lxc busybox-static libcap2-bin prometheus debootstrap)
DOCKER=/usr/bin/docker   # Debian's client, matching Debian's dockerd (not any other docker on PATH)
CTR=(ctr --connect-timeout 1s)

if [ "$(id -u)" != 0 ]; then
  echo "runtime all: missing: not root"
  exit 0
fi

# --- packages --------------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "${SMOOTHTASK_ALLOW_APT:-}" = 1 ] || [ "${CI:-}" = true ]; then
    log "installing ${missing[*]}"
    apt-get update -qq >"$STATE/apt.log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$STATE/apt.log" 2>&1 \
      || log "apt-get install failed; see $STATE/apt.log"
  else
    log "missing packages: ${missing[*]} (set SMOOTHTASK_ALLOW_APT=1 to install them)"
  fi
fi

# --- podman configuration (ours, through CONTAINERS_CONF; the machine's stays untouched) -------
cat >"$STATE/containers.conf" <<'CONF'
[containers]
# This host has no CAP_SYS_RESOURCE: podman's default rlimits (1048576) cannot be set.
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF

# --- parent cgroups the runtimes create (teardown.sh removes those that were not here) -------
# docker: /docker; podman: /libpod_parent; ctr: /default and /k8s.io; kubelet-shaped tests:
# /kubepods; lxc: /lxc.pivot; the runc tests: /system.slice (only when the host has none).
RUNTIME_PARENTS="docker libpod_parent default k8s.io kubepods lxc.pivot system.slice"
if [ ! -f "$STATE/created-parents" ]; then
  : >"$STATE/created-parents"
  for name in $RUNTIME_PARENTS; do
    for mount in /sys/fs/cgroup/*/; do
      [ -f "$mount/cgroup.procs" ] || continue
      [ -e "$mount$name" ] || echo "$mount$name" >>"$STATE/created-parents"
    done
  done
fi

# --- daemons ---------------------------------------------------------------------------------
start_daemon() { # name, readiness command..., -- daemon command...
  local name="$1"; shift
  local ready=()
  while [ "$1" != "--" ]; do ready+=("$1"); shift; done
  shift
  if "${ready[@]}" >/dev/null 2>&1; then
    log "$name already running; using it"
    return 0
  fi
  log "starting $name"
  setsid "$@" >"$STATE/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/$name.pid"
  for _ in $(seq 1 150); do
    "${ready[@]}" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  log "$name did not become ready; see $STATE/$name.log"
  return 1
}

if command -v containerd >/dev/null; then
  start_daemon containerd "${CTR[@]}" version -- containerd
fi
# dockerd's default network is a bridge this script creates (smoothtask0, 10.213.77.1/24) and
# teardown.sh deletes. No iptables rules, no masquerading, no ip_forward: a published port
# (-p, the deployment tests) reaches the container through docker-proxy, dockerd's userland
# proxy, and nothing is left in the host's network configuration. The runtime tests use
# --network none.
BRIDGE=smoothtask0
BRIDGE_ADDR=10.213.77.1/24
if command -v dockerd >/dev/null; then
  if ! "$DOCKER" info >/dev/null 2>&1 && ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge && echo "$BRIDGE" >"$STATE/bridge.created" \
      && ip addr add "$BRIDGE_ADDR" dev "$BRIDGE" && ip link set "$BRIDGE" up \
      || log "cannot create bridge $BRIDGE"
  fi
  start_daemon dockerd "$DOCKER" info -- dockerd --bridge="$BRIDGE" --iptables=false --ip-masq=false \
    --ip-forward=false --userland-proxy=true \
    --containerd=/run/containerd/containerd.sock --pidfile="$STATE/dockerd.self.pid"
fi

# --- busybox root filesystem and images -------------------------------------------------------
rootfs="$STATE/rootfs"
if [ -x /bin/busybox ] && [ ! -x "$rootfs/bin/busybox" ]; then
  log "making a busybox root filesystem in $rootfs"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{bin,proc,sys,dev,etc,tmp,root,run,usr/lib,usr/lib64,smoothtask}
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  # Merged-/usr links so the host's dynamic loader and libraries can be bind-mounted in.
  ln -s usr/lib "$rootfs/lib"
  ln -s usr/lib64 "$rootfs/lib64"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\n' >"$rootfs/etc/group"
  # Mount point for the host's systemd-detect-virt (runc mounts onto a read-only rootfs).
  mkdir -p "$rootfs/sdv" && : >"$rootfs/sdv/systemd-detect-virt"
  tar -C "$rootfs" -cf "$STATE/rootfs.tar" .
fi
if [ -f "$STATE/rootfs.tar" ]; then
  if "$DOCKER" info >/dev/null 2>&1 && ! "$DOCKER" image inspect smoothtask-busybox:local >/dev/null 2>&1; then
    "$DOCKER" import -c 'CMD ["/bin/sh"]' "$STATE/rootfs.tar" smoothtask-busybox:local >/dev/null
  fi
  if command -v podman >/dev/null && ! CONTAINERS_CONF="$STATE/containers.conf" podman image exists localhost/smoothtask-busybox:local 2>/dev/null; then
    CONTAINERS_CONF="$STATE/containers.conf" podman import --change 'CMD ["/bin/sh"]' "$STATE/rootfs.tar" localhost/smoothtask-busybox:local >/dev/null
  fi
fi

# --- Debian base image for the production Dockerfile ------------------------------------------
# debootstrap (variant minbase) from the mirror apt uses; the tar is kept under $STATE, so a
# second run only imports it. Users with a registry build FROM debian:bookworm-slim instead.
BASE_IMAGE=smoothtask-debian:bookworm
base_tar="$STATE/debian-bookworm.tar"
apt_mirror() {
  local uri
  uri="$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n' | grep -v -e security -e '^$' | head -n1)"
  [ -n "$uri" ] || uri="$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\)[[:space:]]\+bookworm[[:space:]].*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n1)"
  echo "${uri:-http://deb.debian.org/debian}"
}
if [ ! -f "$base_tar" ] && command -v debootstrap >/dev/null; then
  mirror="$(apt_mirror)"
  log "debootstrapping Debian bookworm (minbase) from $mirror"
  rm -rf "$STATE/debian-rootfs"
  if debootstrap --variant=minbase --include=libcap2-bin bookworm "$STATE/debian-rootfs" "$mirror" >"$STATE/debootstrap.log" 2>&1; then
    rm -rf "$STATE/debian-rootfs"/var/cache/apt/archives/*.deb "$STATE/debian-rootfs"/var/lib/apt/lists/*
    tar --numeric-owner --xattrs -C "$STATE/debian-rootfs" -cf "$base_tar.part" . && mv "$base_tar.part" "$base_tar"
  else
    log "debootstrap failed; see $STATE/debootstrap.log"
  fi
  rm -rf "$STATE/debian-rootfs"
fi
if [ -f "$base_tar" ] && "$DOCKER" info >/dev/null 2>&1 && ! "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  "$DOCKER" import -c 'CMD ["/bin/bash"]' "$base_tar" "$BASE_IMAGE" >/dev/null
fi

# --- report ----------------------------------------------------------------------------------
"$DOCKER" image inspect smoothtask-busybox:local >/dev/null 2>&1 && echo "runtime docker: ready" || echo "runtime docker: missing: dockerd not answering or image not imported (see $STATE/dockerd.log)"
CONTAINERS_CONF="$STATE/containers.conf" podman image exists localhost/smoothtask-busybox:local 2>/dev/null && echo "runtime podman: ready" || echo "runtime podman: missing: podman or its image"
"${CTR[@]}" version >/dev/null 2>&1 && echo "runtime containerd: ready" || echo "runtime containerd: missing: containerd not answering (see $STATE/containerd.log)"
if ! "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "runtime docker-image-base: missing: $BASE_IMAGE not imported (see $STATE/debootstrap.log)"
elif ! "$DOCKER" network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' bridge 2>/dev/null | grep -q .; then
  echo "runtime docker-image-base: missing: dockerd has no default bridge network (started by someone else with --bridge=none?), so -p cannot publish a port"
else
  echo "runtime docker-image-base: ready"
fi
command -v runc >/dev/null && echo "runtime runc: ready" || echo "runtime runc: missing: runc not installed"
command -v lxc-start >/dev/null && [ -x /bin/busybox ] && echo "runtime lxc: ready" || echo "runtime lxc: missing: lxc or busybox-static not installed"
echo "$STATE" >"$STATE/.prepared"
