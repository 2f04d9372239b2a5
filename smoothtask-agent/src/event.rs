//! The agent's events: what every source produces, every consumer receives, and the NDJSON
//! schema of the log stream (documented in ARCHITECTURE.md).

use std::time::SystemTime;

use serde::{Serialize, Serializer};

use crate::runtime::{ContainerRuntime, PodIdentity};

/// Bumped when a field changes meaning or disappears; adding fields does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// Where an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A kernel record from the eBPF ring buffer.
    Ebpf,
    /// The agent itself (startup, counters, health).
    Agent,
    /// A scan of the cgroup filesystems (startup discovery and drift repair).
    Rescan,
    /// A PSI trigger the kernel fired.
    Psi,
    /// The periodic metrics sampler.
    Sampler,
    /// The policy engine's decisions.
    Policy,
    /// The no-eBPF fallback: inotify on the cgroup filesystems.
    Inotify,
}

/// One published event. Field order is the NDJSON field order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub schema: u32,
    /// Increasing per agent run, assigned at publication.
    pub id: u64,
    /// Wall-clock time of the fact (RFC 3339, nanoseconds, UTC).
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// CLOCK_MONOTONIC nanoseconds of the fact (kernel timestamp for kernel events).
    pub mono_ns: u64,
    pub source: Source,
    #[serde(flatten)]
    pub body: EventBody,
}

impl Event {
    /// The stable kind name, e.g. `cgroup.mkdir`.
    pub fn kind(&self) -> &'static str {
        self.body.kind()
    }

    /// One NDJSON line without the newline.
    pub fn to_json(&self) -> String {
        // Serializing plain data to a String cannot fail.
        serde_json::to_string(self)
            .unwrap_or_else(|e| format!(r#"{{"kind":"agent.serialize_error","message":"{e}"}}"#))
    }
}

pub(crate) fn rfc3339<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_nanos(*time))
}

/// A cgroup as the kernel named it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupRef {
    /// Kernel cgroup id: the inode number of the cgroup directory.
    pub id: u64,
    /// Kernel hierarchy id: 0 for cgroup v2, v1 hierarchies from 1.
    pub hierarchy_id: u32,
    /// The hierarchy's name (`memory`, `cpu,cpuacct`, `name=systemd`, `unified`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hierarchy: Option<String>,
    /// Depth below the hierarchy root.
    pub level: u32,
    /// Path relative to the hierarchy root, e.g. `/docker/<id>`.
    pub path: String,
    /// The kernel's path was longer than a record holds; `path` is its beginning.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub path_truncated: bool,
}

/// The container an event concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContainerRef {
    pub runtime: ContainerRuntime,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodIdentity>,
}

/// A container as announced when it appears or goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContainerSummary {
    #[serde(flatten)]
    pub container: ContainerRef,
    /// Its cgroup path (relative to the hierarchy roots).
    pub cgroup_path: Option<String>,
    /// Kernel cgroup ids per hierarchy label.
    pub cgroup_ids: std::collections::BTreeMap<String, u64>,
}

/// Which reclaim stalled: a cgroup's own limit (memcg) or the host running short (direct).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReclaimKind {
    Memcg,
    Direct,
}

/// A task stalled in memory reclaim (one stall, or short stalls aggregated in the kernel).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReclaimStall {
    pub reclaim: ReclaimKind,
    /// The stalled process (for an aggregate: the most recent one).
    pub pid: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub tid: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comm: String,
    /// Time spent in reclaim (for an aggregate: the sum).
    pub duration_ns: u64,
    pub nr_reclaimed: u64,
    /// Stalls in this event: 1, or how many short stalls the kernel aggregated.
    pub count: u64,
    /// Short stalls (below the threshold) summed in the kernel since the previous report.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub aggregated: bool,
    #[serde(flatten)]
    pub target: MemoryTarget,
}

/// An OOM kill: the victim the kernel chose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OomKill {
    pub pid: u32,
    pub comm: String,
    pub uid: u32,
    pub oom_score_adj: i32,
    pub total_vm_pages: u64,
    pub anon_rss_kb: u64,
    pub file_rss_kb: u64,
    pub shmem_rss_kb: u64,
    #[serde(flatten)]
    pub target: MemoryTarget,
}

/// Where a memory event belongs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemoryTarget {
    /// The kernel's cgroup v2 id of the task in the kernel program.
    pub cgroup_id: u64,
    /// The task's cgroup in the hierarchy that holds the memory controller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerRef>,
    /// How the container was found: `cgroup_id`, `proc` (/proc/<pid>/cgroup) or
    /// `oom_kill_counter` (the victim was gone; its container's oom_kill count rose).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributed_by: Option<&'static str>,
}

/// A PSI trigger fired: tasks stalled on `resource` at least `stall_us` within `window_us`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PressureThreshold {
    /// `system` (/proc/pressure) or `container` (its cgroup's pressure file).
    pub scope: &'static str,
    /// `memory`, `cpu` or `io`.
    pub resource: &'static str,
    /// `some` or `full`.
    pub stall_kind: &'static str,
    pub stall_us: u64,
    pub window_us: u64,
    /// The file's `some avg10` and `total` when it fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg10: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_us: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerRef>,
}

/// A decision of the policy engine and what became of it: a cgroup file of a container, its
/// value before and after, the mode, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyActionEvent {
    pub container: ContainerRef,
    /// The configured class that selected the container.
    pub class: String,
    /// The knob in cgroup v2 terms (`cpu.weight`, `memory.low`, `memory.high`, ...).
    pub knob: &'static str,
    /// The file written (or that would be), e.g. `.../cpu.shares` on cgroup v1; `null` when it
    /// could not be resolved (see `error`).
    pub file: Option<String>,
    /// The file's content before, as the kernel showed it.
    pub before: Option<String>,
    /// The content written (enforce) or that would be (observe), in the file's own units.
    pub after: String,
    /// `observe` (computed and published, not written) or `enforce`.
    pub mode: &'static str,
    /// Whether the value was written to the cgroup file.
    pub written: bool,
    /// Why an enforce-mode write did not happen (permission, vanished cgroup, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub reason: String,
    /// The id of the event that caused it (none for relief after quiet time).
    pub cause_event_id: Option<u64>,
}

/// A journalled original value put back (or not) by the actuator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyRestoredEvent {
    /// `stop` (SIGTERM/SIGINT), `startup` (left by a crash), `observe` (enforcement off) or
    /// `reload` (new classes or bounds).
    pub trigger: &'static str,
    /// The container (`<runtime>/<id>`) the journal recorded.
    pub container: String,
    pub file: String,
    pub value: String,
    /// `restored`, `vanished` (the cgroup is gone) or `failed`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// How the agent traces the kernel, as announced at startup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum KernelMode {
    /// eBPF programs loaded and attached; optional ones skipped with their reasons.
    Ebpf {
        programs: Vec<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        skipped: Vec<String>,
    },
    /// No kernel tracing, and why.
    Disabled { reason: String },
}

/// Per-kind counters from the kernel's per-CPU maps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindCount {
    pub kind: &'static str,
    pub count: u64,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind")]
pub enum EventBody {
    #[serde(rename = "agent.started")]
    AgentStarted {
        version: String,
        kernel: KernelMode,
        /// Where cgroup lifecycle comes from: `ebpf`, `inotify` (the fallback) or `rescan`
        /// (periodic scans only).
        cgroup_lifecycle: &'static str,
    },
    #[serde(rename = "cgroup.mkdir")]
    CgroupMkdir {
        cgroup: CgroupRef,
        #[serde(skip_serializing_if = "Option::is_none")]
        container: Option<ContainerRef>,
    },
    #[serde(rename = "cgroup.rmdir")]
    CgroupRmdir {
        cgroup: CgroupRef,
        #[serde(skip_serializing_if = "Option::is_none")]
        container: Option<ContainerRef>,
    },
    #[serde(rename = "cgroup.attach")]
    CgroupAttach {
        cgroup: CgroupRef,
        pid: u32,
        comm: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        container: Option<ContainerRef>,
    },
    /// A container appeared (its first cgroup), from a kernel event or a scan.
    #[serde(rename = "container.added")]
    ContainerAdded {
        container: ContainerSummary,
        /// True when a rescan found what events had missed.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        repaired: bool,
    },
    /// A container went (its last cgroup), from a kernel event or a scan.
    #[serde(rename = "container.removed")]
    ContainerRemoved {
        container: ContainerSummary,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        repaired: bool,
    },
    #[serde(rename = "memory.reclaim_stall")]
    MemoryReclaimStall(ReclaimStall),
    #[serde(rename = "memory.direct_reclaim")]
    MemoryDirectReclaim(ReclaimStall),
    #[serde(rename = "memory.oom_kill")]
    MemoryOomKill(OomKill),
    #[serde(rename = "pressure.threshold")]
    PressureThreshold(PressureThreshold),
    #[serde(rename = "memory.limit_near")]
    MemoryLimitNear(crate::sampler::LimitNear),
    #[serde(rename = "policy.action")]
    PolicyAction(PolicyActionEvent),
    #[serde(rename = "policy.restored")]
    PolicyRestored(PolicyRestoredEvent),
    /// Something needs a person's attention (raised once per cause), e.g. the policy cannot
    /// write cgroup files.
    #[serde(rename = "health.alert")]
    HealthAlert {
        subsystem: &'static str,
        message: String,
    },
    #[serde(rename = "cpu.throttled")]
    CpuThrottled(crate::sampler::CpuThrottled),
    /// SIGHUP: the configuration was loaded again and applied.
    #[serde(rename = "config.reloaded")]
    ConfigReloaded {
        /// Where the configuration came from (file and how it was chosen, or built-in).
        from: String,
        policy_mode: &'static str,
    },
    /// SIGHUP: the new configuration was refused; the running one stays.
    #[serde(rename = "config.rejected")]
    ConfigRejected { message: String },
    /// Kernel records lost since the previous report (ring buffer full), per kind.
    #[serde(rename = "kernel.lost")]
    KernelLost { lost: Vec<KindCount>, total: u64 },
    /// Ring buffer bytes the agent could not decode since the previous report.
    #[serde(rename = "kernel.decode_error")]
    KernelDecodeError { count: u64, last_error: String },
}

impl EventBody {
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::AgentStarted { .. } => "agent.started",
            EventBody::CgroupMkdir { .. } => "cgroup.mkdir",
            EventBody::CgroupRmdir { .. } => "cgroup.rmdir",
            EventBody::CgroupAttach { .. } => "cgroup.attach",
            EventBody::ContainerAdded { .. } => "container.added",
            EventBody::MemoryReclaimStall(_) => "memory.reclaim_stall",
            EventBody::MemoryDirectReclaim(_) => "memory.direct_reclaim",
            EventBody::MemoryOomKill(_) => "memory.oom_kill",
            EventBody::PressureThreshold(_) => "pressure.threshold",
            EventBody::MemoryLimitNear(_) => "memory.limit_near",
            EventBody::PolicyAction(_) => "policy.action",
            EventBody::PolicyRestored(_) => "policy.restored",
            EventBody::HealthAlert { .. } => "health.alert",
            EventBody::ConfigReloaded { .. } => "config.reloaded",
            EventBody::ConfigRejected { .. } => "config.rejected",
            EventBody::CpuThrottled(_) => "cpu.throttled",
            EventBody::ContainerRemoved { .. } => "container.removed",
            EventBody::KernelLost { .. } => "kernel.lost",
            EventBody::KernelDecodeError { .. } => "kernel.decode_error",
        }
    }

    /// The cgroup the event concerns, if any.
    pub fn cgroup(&self) -> Option<&CgroupRef> {
        match self {
            EventBody::CgroupMkdir { cgroup, .. }
            | EventBody::CgroupRmdir { cgroup, .. }
            | EventBody::CgroupAttach { cgroup, .. } => Some(cgroup),
            _ => None,
        }
    }

    pub fn cgroup_mut(&mut self) -> Option<&mut CgroupRef> {
        match self {
            EventBody::CgroupMkdir { cgroup, .. }
            | EventBody::CgroupRmdir { cgroup, .. }
            | EventBody::CgroupAttach { cgroup, .. } => Some(cgroup),
            _ => None,
        }
    }

    /// The container the event concerns, if any.
    pub fn container(&self) -> Option<&ContainerRef> {
        match self {
            EventBody::CgroupMkdir { container, .. }
            | EventBody::CgroupRmdir { container, .. }
            | EventBody::CgroupAttach { container, .. } => container.as_ref(),
            EventBody::ContainerAdded { container, .. }
            | EventBody::ContainerRemoved { container, .. } => Some(&container.container),
            EventBody::PressureThreshold(p) => p.container.as_ref(),
            EventBody::MemoryLimitNear(n) => Some(&n.container),
            EventBody::PolicyAction(a) => Some(&a.container),
            EventBody::CpuThrottled(c) => Some(&c.container),
            _ => self.memory_target().and_then(|t| t.container.as_ref()),
        }
    }

    /// The pid a memory event is about, and where it belongs.
    pub fn memory_target(&self) -> Option<&MemoryTarget> {
        match self {
            EventBody::MemoryReclaimStall(s) | EventBody::MemoryDirectReclaim(s) => Some(&s.target),
            EventBody::MemoryOomKill(k) => Some(&k.target),
            _ => None,
        }
    }

    pub fn memory_target_mut(&mut self) -> Option<(u32, &mut MemoryTarget)> {
        match self {
            EventBody::MemoryReclaimStall(s) | EventBody::MemoryDirectReclaim(s) => {
                Some((s.pid, &mut s.target))
            }
            EventBody::MemoryOomKill(k) => Some((k.pid, &mut k.target)),
            _ => None,
        }
    }

    fn container_slot(&mut self) -> Option<&mut Option<ContainerRef>> {
        match self {
            EventBody::CgroupMkdir { container, .. }
            | EventBody::CgroupRmdir { container, .. }
            | EventBody::CgroupAttach { container, .. } => Some(container),
            _ => None,
        }
    }

    /// Attributes a cgroup event to its container.
    pub fn set_container(&mut self, container: ContainerRef) {
        if let Some(slot) = self.container_slot() {
            *slot = Some(container);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn mkdir_event_serializes_to_the_documented_ndjson_shape() {
        let event = Event {
            schema: SCHEMA_VERSION,
            id: 7,
            time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
            mono_ns: 42,
            source: Source::Ebpf,
            body: EventBody::CgroupMkdir {
                cgroup: CgroupRef {
                    id: 12345,
                    hierarchy_id: 5,
                    hierarchy: Some("memory".into()),
                    level: 1,
                    path: "/demo".into(),
                    path_truncated: false,
                },
                container: None,
            },
        };
        assert_eq!(event.kind(), "cgroup.mkdir");
        assert_eq!(
            event.to_json(),
            r#"{"schema":1,"id":7,"time":"2023-11-14T22:13:20.123456789Z","mono_ns":42,"source":"ebpf","kind":"cgroup.mkdir","cgroup":{"id":12345,"hierarchy_id":5,"hierarchy":"memory","level":1,"path":"/demo"}}"#
        );
    }

    #[test]
    fn kind_names_match_serialized_tags() {
        let bodies = [
            EventBody::AgentStarted {
                version: "0".into(),
                kernel: KernelMode::Disabled { reason: "x".into() },
                cgroup_lifecycle: "rescan",
            },
            EventBody::KernelLost {
                lost: vec![],
                total: 0,
            },
            EventBody::KernelDecodeError {
                count: 1,
                last_error: "e".into(),
            },
        ];
        for body in bodies {
            let value = serde_json::to_value(&body).unwrap();
            assert_eq!(value["kind"], body.kind());
        }
    }
}
