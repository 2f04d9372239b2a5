#!/usr/bin/env bash
# Stops the daemons prepare.sh started (by the PIDs it recorded; never by name), removes the
# images it imported and deletes the bridge it made for dockerd. Containers (and images the
# tests build) are removed by the tests themselves.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
STATE="${SMOOTHTASK_RUNTIME_STATE:-$here/../../target/runtimes}"
[ -d "$STATE" ] || exit 0
log() { echo "runtimes: $*" >&2; }

stop_pid() { # name
  local pidfile="$STATE/$1.pid"
  [ -f "$pidfile" ] || return 0
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$pidfile"
}

if [ -f "$STATE/dockerd.pid" ]; then
  /usr/bin/docker image rm -f smoothtask-busybox:local smoothtask-debian:bookworm >/dev/null 2>&1
  # BuildKit's cache of the deployment tests' image builds (the engine is ours).
  /usr/bin/docker builder prune -a -f >/dev/null 2>&1
fi
CONTAINERS_CONF="$STATE/containers.conf" podman image rm -f localhost/smoothtask-busybox:local >/dev/null 2>&1
stop_pid dockerd
stop_pid containerd

# The bridge prepare.sh made for dockerd's default network (dockerd leaves it on exit); only
# once dockerd is gone, and only the one prepare.sh created.
if [ -f "$STATE/bridge.created" ] && [ ! -f "$STATE/dockerd.pid" ]; then
  bridge="$(cat "$STATE/bridge.created")"
  ip link show "$bridge" >/dev/null 2>&1 && { ip link del "$bridge" || log "cannot delete bridge $bridge"; }
  rm -f "$STATE/bridge.created"
fi

# Parent cgroups that runtimes created during the tests (recorded as absent by prepare.sh),
# deepest first; a cgroup still in use is left alone.
if [ -f "$STATE/created-parents" ]; then
  while read -r dir; do
    [ -d "$dir" ] || continue
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
    [ -d "$dir" ] && log "left $dir (still in use)"
  done <"$STATE/created-parents"
  rm -f "$STATE/created-parents"
fi
exit 0
