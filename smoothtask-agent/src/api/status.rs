//! The agent's status as the API reports it: version, the mode of each subsystem with the reason
//! for any degradation, eBPF programs attached, lost-event counters and the last rescan. The
//! agent owns an [`AgentStatus`] behind a [`StatusHandle`] and updates it; the API reads
//! snapshots (and fills the kernel part itself from `agent.started` events it sees).

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use serde::{Deserialize, Serialize};

use crate::event::KernelMode;

/// The name of the kernel tracing subsystem in [`AgentStatus::subsystems`].
pub const KERNEL: &str = "kernel";

/// One part of the agent and how it runs (`ebpf`, `disabled`, `polling`, `observe`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subsystem {
    pub name: String,
    pub mode: String,
    /// Why it runs degraded; `null` when it runs as intended.
    pub reason: Option<String>,
}

/// The cgroup rescans that repair the inventory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanStatus {
    pub scans: u64,
    pub last_duration_seconds: f64,
    /// Containers the last scan found.
    pub last_found: u64,
    /// Containers rescans had to add or remove because events missed them, in all.
    pub repaired: u64,
}

/// What the agent says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentStatus {
    pub version: String,
    pub subsystems: Vec<Subsystem>,
    pub ebpf_programs: Vec<String>,
    /// Events lost before reaching the bus, per kind (the kernel's `LOST` counters). The API
    /// adds what it counts itself from `kernel.lost` events and keeps the larger figure.
    pub lost_events: BTreeMap<String, u64>,
    pub scan: Option<ScanStatus>,
}

impl AgentStatus {
    /// An empty status for `version`.
    pub fn new(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            subsystems: Vec::new(),
            ebpf_programs: Vec::new(),
            lost_events: BTreeMap::new(),
            scan: None,
        }
    }

    /// An empty status for this build's version.
    pub fn for_this_build() -> Self {
        Self::new(env!("CARGO_PKG_VERSION"))
    }

    /// Sets (or adds) a subsystem's mode; `reason` when degraded.
    pub fn set_subsystem(&mut self, name: &str, mode: &str, reason: Option<String>) {
        let entry = Subsystem {
            name: name.to_string(),
            mode: mode.to_string(),
            reason,
        };
        match self.subsystems.iter_mut().find(|s| s.name == name) {
            Some(existing) => *existing = entry,
            None => self.subsystems.push(entry),
        }
    }

    /// Records how the kernel is traced (the `kernel` subsystem and the programs attached).
    pub fn set_kernel_mode(&mut self, mode: &KernelMode) {
        match mode {
            KernelMode::Ebpf { programs, skipped } => {
                // Optional programs the kernel could not take: degraded, with the reasons.
                let reason =
                    (!skipped.is_empty()).then(|| format!("skipped: {}", skipped.join("; ")));
                self.set_subsystem(KERNEL, "ebpf", reason);
                self.ebpf_programs = programs.clone();
            }
            KernelMode::Disabled { reason } => {
                self.set_subsystem(KERNEL, "disabled", Some(reason.clone()));
                self.ebpf_programs.clear();
            }
        }
    }

    pub fn subsystem(&self, name: &str) -> Option<&Subsystem> {
        self.subsystems.iter().find(|s| s.name == name)
    }
}

impl Default for AgentStatus {
    fn default() -> Self {
        Self::for_this_build()
    }
}

/// Shared, updatable [`AgentStatus`]. Clones share one status.
#[derive(Clone, Debug, Default)]
pub struct StatusHandle(Arc<RwLock<AgentStatus>>);

impl StatusHandle {
    pub fn new(status: AgentStatus) -> Self {
        Self(Arc::new(RwLock::new(status)))
    }

    /// A copy of the current status.
    pub fn snapshot(&self) -> AgentStatus {
        // A panic while writing leaves a status that is still whole (plain fields).
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes the status in place.
    pub fn update(&self, change: impl FnOnce(&mut AgentStatus)) {
        change(&mut self.0.write().unwrap_or_else(|e| e.into_inner()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_mode_sets_the_kernel_subsystem_once() {
        let handle = StatusHandle::default();
        handle.update(|s| {
            s.set_kernel_mode(&KernelMode::Ebpf {
                programs: vec!["cgroup_mkdir".into()],
                skipped: vec!["oom_mark_victim: no such tracepoint".into()],
            })
        });
        let degraded = handle.snapshot();
        assert_eq!(degraded.ebpf_programs, vec!["cgroup_mkdir"]);
        assert!(
            degraded
                .subsystem(KERNEL)
                .unwrap()
                .reason
                .as_deref()
                .unwrap()
                .contains("oom_mark_victim")
        );
        handle.update(|s| {
            s.set_kernel_mode(&KernelMode::Disabled {
                reason: "no CAP_BPF".into(),
            })
        });
        let status = handle.snapshot();
        assert_eq!(status.subsystems.len(), 1);
        let kernel = status.subsystem(KERNEL).unwrap();
        assert_eq!(kernel.mode, "disabled");
        assert_eq!(kernel.reason.as_deref(), Some("no CAP_BPF"));
        assert!(status.ebpf_programs.is_empty());
        assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    }
}
