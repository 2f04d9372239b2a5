//! The one-shot commands of `smoothtaskd`: `--container-info`, `--cgroup-info`, `containers`.
//! Each builds its output as a string from a [`HostRoot`], so it is testable on fixture trees.

use std::{fmt::Write as _, time::SystemTime};

use serde::Serialize;

use crate::{
    cgroup::{CgroupError, CgroupPaths, Hierarchies},
    detect,
    host::HostRoot,
    inventory::{ContainerRecord, HierarchyLabels, Inventory, scan_hierarchies},
    metrics::{ContainerMetrics, collect_cgroup_metrics},
    runtime::PodIdentity,
};

/// `--container-info [--json]`.
pub fn container_info(host: &HostRoot, json: bool) -> Result<String, serde_json::Error> {
    let info = detect::get_container_info_at(host);
    if json {
        serde_json::to_string_pretty(&info).map(|s| s + "\n")
    } else {
        Ok(detect::render_human(&info))
    }
}

/// `--cgroup-info [--json]`.
pub fn cgroup_info(host: &HostRoot, json: bool) -> Result<String, CommandError> {
    let hierarchies = Hierarchies::read(host)?;
    if json {
        Ok(serde_json::to_string_pretty(&hierarchies)? + "\n")
    } else {
        Ok(hierarchies.render_human())
    }
}

/// One container in `containers --json`.
#[derive(Debug, Serialize)]
pub struct ContainerListing {
    pub runtime: String,
    pub id: String,
    pub name: Option<String>,
    pub cgroup_path: Option<String>,
    pub pod: Option<PodIdentity>,
    pub pids: Vec<u32>,
    pub metrics: ContainerMetrics,
}

/// Every container on the host with its limits and usage, from one scan of the cgroup
/// filesystems.
pub fn list_containers(host: &HostRoot) -> Result<Vec<ContainerListing>, CommandError> {
    let hierarchies = Hierarchies::read(host)?;
    let mut inventory = Inventory::new(HierarchyLabels::from_hierarchies(&hierarchies));
    inventory.reconcile(&scan_hierarchies(host, &hierarchies), SystemTime::now());
    Ok(inventory
        .containers()
        .map(|c| listing(host, &hierarchies, c))
        .collect())
}

fn listing(host: &HostRoot, hierarchies: &Hierarchies, c: &ContainerRecord) -> ContainerListing {
    listing_with(c, container_metrics(host, hierarchies, c))
}

/// The metrics of a container's cgroup (the runtimes known here use the same path in every
/// hierarchy).
pub(crate) fn container_metrics(
    host: &HostRoot,
    hierarchies: &Hierarchies,
    c: &ContainerRecord,
) -> ContainerMetrics {
    let paths = CgroupPaths::uniform(c.cgroup_path().unwrap_or("/").to_string());
    collect_cgroup_metrics(host, hierarchies, &paths, c.pids.first().copied())
}

/// A container's listing with `metrics` (their runtime and id filled in from the record).
pub(crate) fn listing_with(c: &ContainerRecord, mut metrics: ContainerMetrics) -> ContainerListing {
    metrics.runtime = c.runtime.as_str().to_string();
    metrics.container_id = Some(c.id.clone());
    ContainerListing {
        runtime: c.runtime.as_str().to_string(),
        id: c.id.clone(),
        name: c.name.clone(),
        cgroup_path: Some(c.cgroup_path().unwrap_or("/").to_string()),
        pod: c.pod.clone(),
        pids: c.pids.iter().copied().collect(),
        metrics,
    }
}

/// `containers [--json]`.
pub fn containers(host: &HostRoot, json: bool) -> Result<String, CommandError> {
    let list = list_containers(host)?;
    if json {
        return Ok(serde_json::to_string_pretty(&list)? + "\n");
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<11} {:<14} {:<12} {:>12} {:>12} {:>7} {:>15} {:>5}",
        "RUNTIME", "ID", "NAME", "MEM LIMIT", "MEM USAGE", "SHARES", "QUOTA/PERIOD", "PIDS"
    );
    for c in &list {
        let m = &c.metrics;
        let limit = match (&m.memory_limit_bytes, &m.memory.limit) {
            (Some(b), _) => b.to_string(),
            (None, Some(crate::metrics::Reading::Value(_))) => "unlimited".into(),
            _ => "-".into(),
        };
        let quota = match (m.cpu_quota, m.cpu_period) {
            (Some(q), Some(p)) => format!("{q}/{p}"),
            (None, Some(p)) => format!("max/{p}"),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:<11} {:<14} {:<12} {:>12} {:>12} {:>7} {:>15} {:>5}",
            c.runtime,
            c.id.chars().take(12).collect::<String>(),
            c.name.as_deref().unwrap_or("-"),
            limit,
            opt(m.memory_usage_bytes),
            opt(m.cpu_shares),
            quota,
            c.pids.len()
        );
    }
    let _ = writeln!(out, "{} containers", list.len());
    Ok(out)
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error("cannot serialize the output: {0}")]
    Json(#[from] serde_json::Error),
}
