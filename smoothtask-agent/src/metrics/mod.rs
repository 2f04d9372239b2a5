//! `ContainerMetrics` for one cgroup from cgroup files and `/proc/<pid>/net/dev`: the seed's
//! fields plus memory, CPU, pids, PSI and per-interface network detail, on v1, v2 and hybrid.
//!
//! [`collect_cgroup_metrics`] does one naive pass; [`MetricsReader`] keeps the resolved files
//! (optionally open, re-read with `pread`) for repeated passes over many containers.

mod cpu;
mod memory;
mod net;
mod reader;
mod types;

pub use net::{InterfaceStats, parse_net_dev};
pub use reader::{MetricsReader, ReadMode, Selection};
pub use types::{
    ContainerMetrics, CpuMetrics, MemoryMetrics, PidsMetrics, PressureMetrics, Reading,
    UnreadableFile,
};

use crate::{
    cgroup::{
        CgroupError, CgroupPaths, CpuMax, Hierarchies, Limit, MaxValue, kernel_weight_to_shares,
        parse_psi, parse_u64,
    },
    host::HostRoot,
};
use reader::{NetProcess, Pass, Slot};

/// Metrics of the cgroup at `paths` (one path for every hierarchy, or per hierarchy from
/// `/proc/<pid>/cgroup`), network counters from `member_pid`'s namespace when given. Runtime
/// and container id are left for the caller to fill. Missing files are `None`; nothing panics.
pub fn collect_cgroup_metrics(
    host: &HostRoot,
    hierarchies: &Hierarchies,
    paths: &CgroupPaths,
    member_pid: Option<u32>,
) -> ContainerMetrics {
    MetricsReader::new(
        host,
        hierarchies,
        paths,
        member_pid,
        Selection::ALL,
        ReadMode::OneShot,
    )
    .collect()
}

/// Metrics of the cgroup this process is in (its own container when containerized), with its
/// own network interfaces. The building block of the seed's `collect_container_metrics()`,
/// which adds runtime and container id from self-detection.
pub fn collect_self_metrics(host: &HostRoot) -> ContainerMetrics {
    let failed = |e: CgroupError| ContainerMetrics {
        unreadable: vec![UnreadableFile {
            path: e.path().to_path_buf(),
            error: e.to_string(),
        }],
        ..ContainerMetrics::default()
    };
    let hierarchies = match Hierarchies::read(host) {
        Ok(h) => h,
        Err(e) => return failed(e),
    };
    let paths = match CgroupPaths::for_self(host) {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    MetricsReader::build(
        host,
        &hierarchies,
        &paths,
        Some(NetProcess::SelfProcess),
        Selection::ALL,
        ReadMode::OneShot,
    )
    .collect()
}

/// The agent's own container's metrics with its runtime and id from self-detection (the
/// seed's name). On a host: the agent's own cgroup, runtime `none`.
pub fn collect_container_metrics() -> ContainerMetrics {
    let host = HostRoot::live();
    let info = crate::detect::get_container_info_at(&host);
    let mut metrics = collect_self_metrics(&host);
    metrics.runtime = info.runtime.as_str().to_string();
    metrics.container_id = info.container_id;
    metrics
}

/// One pass over a reader's files into a [`ContainerMetrics`].
fn build(pass: &mut Pass<'_>) -> ContainerMetrics {
    let memory = memory::collect(pass);
    let cpu = cpu::collect(pass);
    let pids = PidsMetrics {
        current: pass.value(Slot::PidsCurrent, parse_u64),
        max: pass.reading(Slot::PidsMax, MaxValue::parse),
    };
    let pressure = PressureMetrics {
        cpu: pass.value(Slot::CpuPressure, parse_psi),
        memory: pass.value(Slot::MemoryPressure, parse_psi),
        io: pass.value(Slot::IoPressure, parse_psi),
    };
    let network = pass.value(Slot::NetDev, parse_net_dev).unwrap_or_default();
    let limit = memory.limit.as_ref().and_then(Reading::value).copied();
    let cpu_max = cpu.max.as_ref().and_then(Reading::value).copied();
    ContainerMetrics {
        memory_limit_bytes: limit.and_then(Limit::bytes),
        memory_usage_bytes: memory.usage_bytes,
        cpu_shares: cpu.shares.or(cpu.weight.map(kernel_weight_to_shares)),
        cpu_quota: cpu_max
            .and_then(|m: CpuMax| m.quota_us.value())
            .and_then(|q| i64::try_from(q).ok()),
        cpu_period: cpu_max.map(|m| m.period_us),
        network_interfaces: network.iter().map(|i| i.name.clone()).collect(),
        memory,
        cpu,
        pids,
        pressure,
        network,
        unreadable: std::mem::take(&mut pass.unreadable),
        ..ContainerMetrics::default()
    }
}
