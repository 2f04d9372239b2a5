#!/usr/bin/env bash
# Stops the daemons prepare.sh started (by the PIDs it recorded; never by name) and removes
# the images it imported. Containers are removed by the tests themselves.
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
  /usr/bin/docker image rm -f smoothtask-busybox:local >/dev/null 2>&1
fi
CONTAINERS_CONF="$STATE/containers.conf" podman image rm -f localhost/smoothtask-busybox:local >/dev/null 2>&1
stop_pid dockerd
stop_pid containerd

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
