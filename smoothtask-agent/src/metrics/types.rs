//! The shapes of [`ContainerMetrics`]: the seed's flat fields plus detailed memory, CPU, pids,
//! pressure and network parts, where a limit is a value, "unlimited" or unreadable.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::net::InterfaceStats;
use crate::cgroup::{CpuMax, Limit, MaxValue, Psi};

/// A value read from a file that exists: the value, or why it could not be read or parsed.
/// (A file that does not exist is `None` around this.) In JSON the value appears as itself
/// (`"unlimited"`, `{"bytes": 1024}`), a failure as `{"unreadable": "<error>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reading<T> {
    Value(T),
    Unreadable { unreadable: String },
}

impl<T> Reading<T> {
    /// The value, `None` when unreadable.
    pub fn value(&self) -> Option<&T> {
        match self {
            Reading::Value(v) => Some(v),
            Reading::Unreadable { .. } => None,
        }
    }

    pub fn is_unreadable(&self) -> bool {
        matches!(self, Reading::Unreadable { .. })
    }
}

/// A file that exists but could not be read or parsed during a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableFile {
    pub path: PathBuf,
    pub error: String,
}

/// Memory controller figures. v2 files: `memory.{current,peak,max,high,low,min,swap.max,
/// swap.current,events}`; v1: `memory.{usage_in_bytes,max_usage_in_bytes,limit_in_bytes,
/// soft_limit_in_bytes,memsw.limit_in_bytes,memsw.usage_in_bytes,oom_control}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryMetrics {
    pub usage_bytes: Option<u64>,
    /// High-water mark (v2 `memory.peak`, v1 `memory.max_usage_in_bytes`).
    pub peak_bytes: Option<u64>,
    /// Hard limit (v2 `memory.max`, v1 `memory.limit_in_bytes`).
    pub limit: Option<Reading<Limit>>,
    /// v2 `memory.high` (throttling threshold).
    pub high: Option<Reading<Limit>>,
    /// v2 `memory.low` (best-effort protection; `Bytes(0)` = none).
    pub low: Option<Reading<Limit>>,
    /// v2 `memory.min` (hard protection; `Bytes(0)` = none).
    pub min: Option<Reading<Limit>>,
    /// v1 `memory.soft_limit_in_bytes`.
    pub soft_limit: Option<Reading<Limit>>,
    /// v2 `memory.swap.max`: swap alone.
    pub swap_limit: Option<Reading<Limit>>,
    /// v1 `memory.memsw.limit_in_bytes`: memory plus swap together.
    pub memory_and_swap_limit: Option<Reading<Limit>>,
    /// v2 `memory.swap.current`; v1 `memsw.usage - usage`.
    pub swap_usage_bytes: Option<u64>,
    /// OOM kills in this cgroup (v2 `memory.events` / v1 `memory.oom_control` `oom_kill`).
    pub oom_kills: Option<u64>,
}

/// CPU controller figures. Times are nanoseconds whatever unit the file uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuMetrics {
    /// Bandwidth limit (v2 `cpu.max`, v1 `cpu.cfs_quota_us` + `cpu.cfs_period_us`).
    pub max: Option<Reading<CpuMax>>,
    /// v2 `cpu.weight` (1..=10000, default 100).
    pub weight: Option<u64>,
    /// v1 `cpu.shares` (2..=262144, default 1024).
    pub shares: Option<u64>,
    /// The weight on the v2 scale (100 = default) whichever version the host has: `weight`,
    /// or `shares` converted as the kernel does (`round(shares * 100 / 1024)`).
    pub normalized_weight: Option<u64>,
    /// Total CPU time (v2 `cpu.stat` `usage_usec`, v1 `cpuacct.usage`).
    pub usage_ns: Option<u64>,
    /// v2 `cpu.stat` `user_usec`.
    pub user_ns: Option<u64>,
    /// v2 `cpu.stat` `system_usec`.
    pub system_ns: Option<u64>,
    /// Enforcement periods elapsed (`cpu.stat` `nr_periods`).
    pub nr_periods: Option<u64>,
    /// Periods in which the group was throttled (`nr_throttled`).
    pub nr_throttled: Option<u64>,
    /// Time throttled (v2 `throttled_usec`, v1 `throttled_time`).
    pub throttled_ns: Option<u64>,
}

/// pids controller figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsMetrics {
    pub current: Option<u64>,
    pub max: Option<Reading<MaxValue>>,
}

/// Pressure stall information of the cgroup (v2 `*.pressure`; on hybrid hosts from the
/// unified hierarchy, which has them even without controllers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PressureMetrics {
    pub cpu: Option<Psi>,
    pub memory: Option<Psi>,
    pub io: Option<Psi>,
}

/// Metrics of one container (or any cgroup).
///
/// The first eight fields are the seed's, kept for existing users: `memory_limit_bytes` and
/// `cpu_quota` are `None` both when unlimited and when unknown; the detailed parts tell the two
/// apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerMetrics {
    /// Lowercase runtime name as in self-detection (`docker`, `podman`, ...), set by the caller;
    /// `unknown` when collected without identity.
    pub runtime: String,
    pub container_id: Option<String>,
    /// The hard memory limit in bytes; `None` when unlimited or unknown.
    pub memory_limit_bytes: Option<u64>,
    pub memory_usage_bytes: Option<u64>,
    /// v1 `cpu.shares`; on v2 the shares the kernel derives from `cpu.weight`.
    pub cpu_shares: Option<u64>,
    /// CFS quota in microseconds per period; `None` when unlimited or unknown.
    pub cpu_quota: Option<i64>,
    /// CFS period in microseconds.
    pub cpu_period: Option<u64>,
    /// Interface names in the container's network namespace.
    pub network_interfaces: Vec<String>,
    pub memory: MemoryMetrics,
    pub cpu: CpuMetrics,
    pub pids: PidsMetrics,
    pub pressure: PressureMetrics,
    pub network: Vec<InterfaceStats>,
    /// Files that exist but could not be read or parsed in this pass.
    pub unreadable: Vec<UnreadableFile>,
}

impl Default for ContainerMetrics {
    fn default() -> Self {
        ContainerMetrics {
            runtime: "unknown".to_string(),
            container_id: None,
            memory_limit_bytes: None,
            memory_usage_bytes: None,
            cpu_shares: None,
            cpu_quota: None,
            cpu_period: None,
            network_interfaces: Vec::new(),
            memory: MemoryMetrics::default(),
            cpu: CpuMetrics::default(),
            pids: PidsMetrics::default(),
            pressure: PressureMetrics::default(),
            network: Vec::new(),
            unreadable: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_serialize_as_their_value_or_an_error() {
        let v: Vec<Reading<Limit>> = vec![
            Reading::Value(Limit::Unlimited),
            Reading::Value(Limit::Bytes(1024)),
            Reading::Unreadable {
                unreadable: "cannot parse x".into(),
            },
        ];
        let json = serde_json::to_string(&v).expect("json");
        assert_eq!(
            json,
            r#"["unlimited",{"bytes":1024},{"unreadable":"cannot parse x"}]"#
        );
        let back: Vec<Reading<Limit>> = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, v);
        assert_eq!(v[1].value(), Some(&Limit::Bytes(1024)));
        assert!(v[2].is_unreadable());
    }

    #[test]
    fn legacy_fields_are_in_the_json() {
        let json = serde_json::to_value(ContainerMetrics::default()).expect("json");
        for key in [
            "runtime",
            "container_id",
            "memory_limit_bytes",
            "memory_usage_bytes",
            "cpu_shares",
            "cpu_quota",
            "cpu_period",
            "network_interfaces",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        assert_eq!(json["runtime"], "unknown");
    }
}
