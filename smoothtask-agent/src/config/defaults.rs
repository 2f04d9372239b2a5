//! The built-in defaults as commented YAML (`smoothtaskd --print-default-config`). Tests check
//! that this text parses back to exactly the defaults and mentions every key.

/// The defaults as a commented YAML config file. Loading it gives `Config::default()`.
pub fn default_config_yaml() -> String {
    DEFAULT_CONFIG_YAML.to_string()
}

const DEFAULT_CONFIG_YAML: &str = r#"# SmoothTask configuration: the built-in defaults.
#
# The agent runs on these defaults without any file. It reads --config PATH, else
# $SMOOTHTASK_CONFIG, else /etc/smoothtask/smoothtask.yml if it exists. Every key is optional;
# a key with no value (or null) takes its default. Any key can be overridden from the
# environment: SMOOTHTASK_<SECTION>__<KEY>, e.g. SMOOTHTASK_POLICY__MODE=enforce or
# SMOOTHTASK_CONTAINER__METRICS__INTERVAL_SEC=30. Check a file with
# `smoothtaskd check-config FILE`. JSON Schema: schema/smoothtask.schema.json.

container:
  # Discover and follow the containers on this host.
  enabled: true
  metrics:
    # Sample every container's cgroup metrics (limits, usage, throttling, pressure).
    enabled: true
    # Seconds between samples (1 to 86400).
    interval_sec: 60
  # Legacy spelling of container.metrics.interval_sec, still accepted; giving both with
  # different values is an error:
  # metrics_interval_sec: 60
  # Seconds between re-reading the agent's own container limits and adapting to them.
  adaptation_interval_sec: 300

metrics:
  system:
    # Seconds between host-wide CPU, memory and pressure samples.
    interval_sec: 10
  process:
    # Seconds between per-process samples.
    interval_sec: 30
  # Legacy spellings of the two keys above, still accepted:
  # system_interval_sec: 10
  # process_interval_sec: 30

policy:
  # observe: compute, log and publish actions, write nothing (dry run).
  # enforce: write cgroup files; originals are journalled and restored on stop.
  mode: observe
  # Global cpu.weight bounds [min, max]; cgroup v2 accepts 1 to 10000 (v1 cpu.shares are
  # converted). Every class stays within them.
  cpu_weight_range: [10, 500]
  # Raise memory protection (v2 memory.low/min, v1 memory.soft_limit_in_bytes) of protected
  # classes under pressure.
  memory_protection: true
  # Seconds a container stays in a state before the policy may change it again (0 to 3600).
  dwell_sec: 30
  # At most this many actions per container per minute (1 to 600).
  max_actions_per_min: 6
  # Where enforce mode journals original cgroup values before its first write.
  journal_path: /var/lib/smoothtask/journal.json
  # Container classes, first match wins. A class matches a container that any of its `match`
  # selectors matches; a selector matches when all its keys do (runtime, name, id, cgroup_path,
  # qos, pod_label; name, id and cgroup_path are globs). A class without `match` matches every
  # container. When you do not write `classes`, these built-in ones apply, their cpu_weight
  # narrowed to policy.cpu_weight_range.
  classes:
    - # Unique name, shown in events and the API.
      name: latency-critical
      # latency-critical (protected), normal, or batch (gives way under pressure).
      priority: latency-critical
      match:
        - pod_label: smoothtask.io/class=latency-critical
        - qos: guaranteed
        # Other selector keys:
        # - runtime: docker            # docker, podman, containerd, cri-o, lxc, systemd-nspawn
        #   name: "web-*"              # glob on the container name
        #   id: "3f2a*"                # glob on the container id
        #   cgroup_path: "/kubepods*"  # glob on the cgroup path
      # cpu.weight bounds [min, max] for this class (absent: policy.cpu_weight_range).
      cpu_weight: [200, 500]
      # memory.min to set when protecting (null: none).
      memory_min_bytes: null
      # memory.low (v2) or memory.soft_limit_in_bytes (v1) when protecting (null: current usage).
      memory_low_bytes: null
      # memory.high (v2) to set on an offender of this class under pressure (null: never).
      memory_high_bytes: null
    - name: batch
      priority: batch
      match:
        - pod_label: smoothtask.io/class=batch
        - qos: besteffort
      cpu_weight: [10, 100]
    - name: normal
      priority: normal
      cpu_weight: [50, 200]

inventory:
  # Seconds between full rescans of the cgroup hierarchies; kernel events keep the inventory
  # current, rescans repair drift.
  rescan_interval_sec: 30

ebpf:
  # Load the eBPF programs; without them the agent falls back to inotify and rescans.
  enabled: true
  # Seconds between reads of the kernel's lost-event counters (1 to 3600).
  counter_interval_sec: 1

pressure:
  psi:
    # Use pressure stall information triggers where the kernel has them.
    enabled: true
    # Microseconds of stall within the window that fire a trigger.
    stall_us: 100000
    # Trigger window in seconds (1 to 10).
    window_sec: 2
  # A memory reclaim stall longer than this many microseconds is pressure.
  reclaim_stall_threshold_us: 10000
  # Memory usage above this fraction of the limit is pressure (enter threshold).
  memory_limit_near_ratio: 0.9
  # ... and ends below this fraction (exit threshold, below the enter one).
  memory_limit_exit_ratio: 0.8
  # A container throttled in more than this fraction of its CPU periods is under CPU pressure.
  cpu_throttled_ratio: 0.25
  # Seconds between polls of memory events and usage when PSI is not available.
  poll_interval_sec: 1

api:
  # Serve the HTTP API.
  enabled: true
  # Address and port. Off loopback (e.g. 0.0.0.0:8080) a bearer token is required.
  listen: 127.0.0.1:8080
  # Bearer token; prefer token_file or SMOOTHTASK_API__TOKEN. Give one of the two, not both.
  token: null
  # File holding the bearer token (read at startup and on reload).
  token_file: null

events:
  # Event log: stdout (NDJSON), file (NDJSON with size-based rotation) or none.
  output: stdout
  file:
    # The current log file; rotated ones get .1, .2, ...
    path: /var/log/smoothtask/events.ndjson
    # Rotate at this many bytes (at least 4096).
    max_bytes: 104857600
    # Rotated files kept (0 to 1000).
    keep: 5
  # Events kept in memory for GET /api/events?since=<id> (0 keeps none).
  history: 10000
  # Events queued per stream subscriber before it is told it lagged.
  subscriber_queue: 1024

log:
  # Log filter for stderr: error, warn, info, debug, trace, off, or directives such as
  # "info,smoothtask_agent=debug". RUST_LOG, when set, wins.
  level: info
"#;
