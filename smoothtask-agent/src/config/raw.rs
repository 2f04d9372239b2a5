//! The config file as written: serde and JSON Schema types with the built-in defaults. Nothing
//! here is checked beyond types; `validate` turns a [`RawConfig`] into a [`super::Config`].
//!
//! Integers are `i64` so that a negative or huge value reaches validation and is refused with
//! the range it must be in, rather than as a type error.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{EventsOutput, PolicyMode, Priority};

/// Intervals in seconds: 1 s to a day.
pub(crate) const MAX_INTERVAL_SEC: i64 = 86_400;
/// cgroup v2 `cpu.weight` bounds.
pub(crate) const CPU_WEIGHT_MIN: i64 = 1;
pub(crate) const CPU_WEIGHT_MAX: i64 = 10_000;

/// SmoothTask configuration (`/etc/smoothtask/smoothtask.yml`). Every key is optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(title = "SmoothTask configuration")]
pub(crate) struct RawConfig {
    /// Containers on this host: discovery, per-container metrics, adapting to the agent's own container.
    pub container: RawContainer,
    /// Host-wide sampling.
    pub metrics: RawMetrics,
    /// Resource policy: observe or enforce, bounds, and container classes.
    pub policy: RawPolicy,
    /// The live set of containers.
    pub inventory: RawInventory,
    /// Kernel programs (cgroup lifecycle and pressure events).
    pub ebpf: RawEbpf,
    /// Pressure detection: PSI triggers, reclaim stalls, limits.
    pub pressure: RawPressure,
    /// The HTTP API.
    pub api: RawApi,
    /// The event log output and the in-memory history.
    pub events: RawEvents,
    /// Logging (stderr).
    pub log: RawLog,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawContainer {
    /// Discover and follow the containers on this host.
    pub enabled: bool,
    /// Per-container metrics sampling.
    pub metrics: RawContainerMetrics,
    /// Legacy spelling of `container.metrics.interval_sec`; giving both with different values is an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_INTERVAL_SEC))]
    pub metrics_interval_sec: Option<i64>,
    /// Seconds between re-reading the agent's own container limits and re-adapting to them.
    #[schemars(range(min = 1, max = MAX_INTERVAL_SEC))]
    pub adaptation_interval_sec: i64,
}

impl Default for RawContainer {
    fn default() -> Self {
        Self {
            enabled: true,
            metrics: RawContainerMetrics::default(),
            metrics_interval_sec: None,
            adaptation_interval_sec: 300,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawContainerMetrics {
    /// Sample every container's cgroup metrics.
    pub enabled: bool,
    /// Seconds between samples.
    #[schemars(range(min = 1, max = MAX_INTERVAL_SEC))]
    pub interval_sec: i64,
}

impl Default for RawContainerMetrics {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_sec: 60,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawMetrics {
    /// Host-wide CPU, memory and pressure.
    pub system: RawSystemMetrics,
    /// Per-process sampling.
    pub process: RawProcessMetrics,
    /// Legacy spelling of `metrics.system.interval_sec`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_INTERVAL_SEC))]
    pub system_interval_sec: Option<i64>,
    /// Legacy spelling of `metrics.process.interval_sec`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_INTERVAL_SEC))]
    pub process_interval_sec: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawSystemMetrics {
    /// Seconds between host-wide samples.
    #[schemars(range(min = 1, max = MAX_INTERVAL_SEC))]
    pub interval_sec: i64,
}

impl Default for RawSystemMetrics {
    fn default() -> Self {
        Self { interval_sec: 10 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawProcessMetrics {
    /// Seconds between per-process samples.
    #[schemars(range(min = 1, max = MAX_INTERVAL_SEC))]
    pub interval_sec: i64,
}

impl Default for RawProcessMetrics {
    fn default() -> Self {
        Self { interval_sec: 30 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawPolicy {
    /// `observe` computes and publishes actions without writing; `enforce` writes cgroup files.
    pub mode: PolicyMode,
    /// Global cpu.weight bounds `[min, max]` (cgroup v2 accepts 1 to 10000; v1 cpu.shares are converted). Every class stays within them.
    #[schemars(inner(range(min = CPU_WEIGHT_MIN, max = CPU_WEIGHT_MAX)))]
    pub cpu_weight_range: [i64; 2],
    /// Raise memory protection (v2 memory.low/min, v1 memory.soft_limit_in_bytes) of protected classes under pressure.
    pub memory_protection: bool,
    /// Seconds a container stays in a state before the policy may change it again.
    #[schemars(range(min = 0, max = 3600))]
    pub dwell_sec: i64,
    /// At most this many actions per container per minute.
    #[schemars(range(min = 1, max = 600))]
    pub max_actions_per_min: i64,
    /// Where enforce mode journals original cgroup values before its first write (restored on stop and after a crash).
    pub journal_path: PathBuf,
    /// Container classes, first match wins. A class without `match` matches every container.
    pub classes: Vec<RawClass>,
}

impl Default for RawPolicy {
    fn default() -> Self {
        Self {
            mode: PolicyMode::Observe,
            cpu_weight_range: [10, 500],
            memory_protection: true,
            dwell_sec: 30,
            max_actions_per_min: 6,
            journal_path: PathBuf::from("/var/lib/smoothtask/journal.json"),
            classes: default_classes(),
        }
    }
}

fn default_classes() -> Vec<RawClass> {
    let label = |value: &str| RawSelector {
        pod_label: Some(format!("smoothtask.io/class={value}")),
        ..RawSelector::default()
    };
    let qos = |qos: QosName| RawSelector {
        qos: Some(qos),
        ..RawSelector::default()
    };
    vec![
        RawClass {
            name: "latency-critical".into(),
            priority: Priority::LatencyCritical,
            selectors: vec![label("latency-critical"), qos(QosName::Guaranteed)],
            cpu_weight: Some([200, 500]),
            ..RawClass::default()
        },
        RawClass {
            name: "batch".into(),
            priority: Priority::Batch,
            selectors: vec![label("batch"), qos(QosName::Besteffort)],
            cpu_weight: Some([10, 100]),
            ..RawClass::default()
        },
        RawClass {
            name: "normal".into(),
            priority: Priority::Normal,
            selectors: Vec::new(),
            cpu_weight: Some([50, 200]),
            ..RawClass::default()
        },
    ]
}

/// A container class: which containers, how they are treated, and their bounds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(transform = name_required)]
pub(crate) struct RawClass {
    /// Unique name, shown in events and the API.
    #[schemars(length(min = 1))]
    pub name: String,
    /// `latency-critical` classes are protected under pressure, `batch` classes give way.
    pub priority: Priority,
    /// Selectors: the class matches a container that any selector matches; a selector matches when all its keys do. Empty or absent: every container.
    #[serde(rename = "match")]
    pub selectors: Vec<RawSelector>,
    /// cpu.weight bounds `[min, max]` for this class, within `policy.cpu_weight_range` (absent: that range).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(inner(range(min = CPU_WEIGHT_MIN, max = CPU_WEIGHT_MAX)))]
    pub cpu_weight: Option<[i64; 2]>,
    /// memory.min to set when protecting (v2); absent: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub memory_min_bytes: Option<i64>,
    /// memory.low (v2) or memory.soft_limit_in_bytes (v1) to set when protecting; absent: the container's usage at the time.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub memory_low_bytes: Option<i64>,
    /// memory.high (v2) to set on an offender of this class under pressure; absent: never set.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub memory_high_bytes: Option<i64>,
}

/// A class must have a name (validation says so too, with the location).
fn name_required(schema: &mut schemars::Schema) {
    schema.insert("required".into(), serde_json::json!(["name"]));
    if let Some(name) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("name"))
        .and_then(|n| n.as_object_mut())
    {
        name.remove("default");
    }
}

/// Which containers: every key given must match. Globs take `*`, `?` and `[...]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawSelector {
    /// Container runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeName>,
    /// Glob on the container name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Glob on the container id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Glob on the cgroup path (`*` also matches `/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_path: Option<String>,
    /// Kubernetes QoS class of the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<QosName>,
    /// Pod label, as `key=value` or `key` (present with any value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_label: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RuntimeName {
    Docker,
    Podman,
    Containerd,
    CriO,
    Lxc,
    SystemdNspawn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum QosName {
    Guaranteed,
    Burstable,
    Besteffort,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawInventory {
    /// Seconds between full rescans of the cgroup hierarchies (events keep the inventory current; rescans repair drift).
    #[schemars(range(min = 1, max = MAX_INTERVAL_SEC))]
    pub rescan_interval_sec: i64,
}

impl Default for RawInventory {
    fn default() -> Self {
        Self {
            rescan_interval_sec: 30,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawEbpf {
    /// Load the eBPF programs; without them the agent falls back to inotify and rescans.
    pub enabled: bool,
    /// Seconds between reads of the kernel's lost-event counters.
    #[schemars(range(min = 1, max = 3600))]
    pub counter_interval_sec: i64,
}

impl Default for RawEbpf {
    fn default() -> Self {
        Self {
            enabled: true,
            counter_interval_sec: 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawPressure {
    /// Pressure stall information triggers (/proc/pressure, per-cgroup *.pressure).
    pub psi: RawPsi,
    /// A memory reclaim stall longer than this many microseconds is pressure.
    #[schemars(range(min = 1, max = 10_000_000))]
    pub reclaim_stall_threshold_us: i64,
    /// Memory usage above this fraction of the limit is pressure (enter threshold).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub memory_limit_near_ratio: f64,
    /// Pressure from the memory limit ends below this fraction (exit threshold, below the enter one).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub memory_limit_exit_ratio: f64,
    /// A container throttled in more than this fraction of its CPU periods is under CPU pressure.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub cpu_throttled_ratio: f64,
    /// Seconds between polls of memory events and usage when PSI is not available.
    #[schemars(range(min = 1, max = 3600))]
    pub poll_interval_sec: i64,
}

impl Default for RawPressure {
    fn default() -> Self {
        Self {
            psi: RawPsi::default(),
            reclaim_stall_threshold_us: 10_000,
            memory_limit_near_ratio: 0.9,
            memory_limit_exit_ratio: 0.8,
            cpu_throttled_ratio: 0.25,
            poll_interval_sec: 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawPsi {
    /// Use PSI triggers where the kernel has them.
    pub enabled: bool,
    /// Stall time in microseconds within the window that fires a trigger.
    #[schemars(range(min = 1, max = 10_000_000))]
    pub stall_us: i64,
    /// Trigger window in seconds (the kernel accepts 1 to 10).
    #[schemars(range(min = 1, max = 10))]
    pub window_sec: i64,
}

impl Default for RawPsi {
    fn default() -> Self {
        Self {
            enabled: true,
            stall_us: 100_000,
            window_sec: 2,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawApi {
    /// Serve the HTTP API.
    pub enabled: bool,
    /// Address and port to listen on. Off loopback a bearer token is required.
    pub listen: String,
    /// Bearer token (prefer `token_file` or SMOOTHTASK_API__TOKEN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// File holding the bearer token (read at startup and on reload).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
}

impl Default for RawApi {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "127.0.0.1:8080".into(),
            token: None,
            token_file: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawEvents {
    /// Where the event log goes: `stdout` (NDJSON), `file` (NDJSON with rotation) or `none`.
    pub output: EventsOutput,
    /// The event log file, when `output` is `file`.
    pub file: RawEventsFile,
    /// Events kept in memory for `GET /api/events?since=` (0 keeps none).
    #[schemars(range(min = 0, max = 1_000_000))]
    pub history: i64,
    /// Events queued per stream subscriber before it is told it lagged.
    #[schemars(range(min = 1, max = 1_000_000))]
    pub subscriber_queue: i64,
}

impl Default for RawEvents {
    fn default() -> Self {
        Self {
            output: EventsOutput::Stdout,
            file: RawEventsFile::default(),
            history: 10_000,
            subscriber_queue: 1024,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawEventsFile {
    /// Path of the current log file; rotated ones get `.1`, `.2`, ...
    pub path: PathBuf,
    /// Rotate when the file reaches this many bytes.
    #[schemars(range(min = 4096))]
    pub max_bytes: i64,
    /// Rotated files kept.
    #[schemars(range(min = 0, max = 1000))]
    pub keep: i64,
}

impl Default for RawEventsFile {
    fn default() -> Self {
        Self {
            path: PathBuf::from("/var/log/smoothtask/events.ndjson"),
            max_bytes: 100 * 1024 * 1024,
            keep: 5,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawLog {
    /// Log filter for stderr: a level (`error`, `warn`, `info`, `debug`, `trace`, `off`) or directives like `info,smoothtask_agent=debug`. RUST_LOG, when set, wins.
    pub level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            level: "info".into(),
        }
    }
}
