//! What the agent changes about itself when it runs in a container: its own CPU quota and memory
//! limit (read from its own cgroup through /proc/self/cgroup and mountinfo; self-contained, not
//! the general `cgroup` module) turned into an [`Adaptation`], and the startup log lines.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Serialize;

use crate::host::HostRoot;

use super::{
    ContainerInfo,
    cgroup_evidence::{CgroupLine, parse_cgroup_file},
    mountinfo::{Mount, parse_mountinfo},
    read,
};

/// A limit that is set, explicitly absent, or could not be read: three different things.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "state", content = "value", rename_all = "lowercase")]
pub enum Limit<T> {
    Limited(T),
    /// v2 `max`, v1 `-1` or the page-rounded `LONG_MAX` sentinel.
    Unlimited,
    /// No file, no permission, or garbage in it.
    Unknown,
}

impl<T> Limit<T> {
    pub fn limited(&self) -> Option<&T> {
        match self {
            Self::Limited(value) => Some(value),
            _ => None,
        }
    }
}

/// A CFS bandwidth limit: `quota_us` of CPU time every `period_us`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CpuQuota {
    pub quota_us: u64,
    pub period_us: u64,
}

impl CpuQuota {
    /// The limit in CPUs (`50000/100000` is 0.5).
    pub fn cores(&self) -> f64 {
        self.quota_us as f64 / self.period_us as f64
    }
}

/// The agent's own limits: the tightest along its cgroup and the ancestors it can see.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct OwnLimits {
    pub memory_bytes: Limit<u64>,
    pub cpu: Limit<CpuQuota>,
}

/// What the agent applies at startup.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Adaptation {
    pub limits: OwnLimits,
    /// Multiply sampling intervals by this: `1 / cores` under a quota below one CPU, capped at
    /// [`MAX_INTERVAL_SCALE`]; 1.0 otherwise.
    pub sampling_interval_scale: f64,
    /// What the agent allows itself for caches and buffers: a quarter of its memory limit; `None`
    /// without a limit (built-in defaults apply).
    pub memory_budget_bytes: Option<u64>,
    /// Keep policy bounds conservative (see `reasons`): in a container whose cgroup view is
    /// namespaced (`/`), under a quota below one CPU, or under a memory limit below
    /// [`SMALL_MEMORY_BYTES`].
    pub conservative_bounds: bool,
    /// Why, for people.
    pub reasons: Vec<String>,
}

impl Adaptation {
    /// A sampling interval scaled for this environment.
    pub fn scaled_interval(&self, base: Duration) -> Duration {
        base.mul_f64(self.sampling_interval_scale)
    }
}

/// The most sampling intervals are stretched.
pub const MAX_INTERVAL_SCALE: f64 = 8.0;
/// A memory limit below this makes policy bounds conservative.
pub const SMALL_MEMORY_BYTES: u64 = 128 * 1024 * 1024;
/// v1 writes "no limit" as `LONG_MAX` rounded down to the page size (9223372036854771712 with
/// 4 KiB pages); anything from 2^62 up is taken as that sentinel.
const V1_UNLIMITED_FROM: u64 = 1 << 62;

/// The adaptation for a detected environment and the limits read from its cgroup.
pub fn adaptation_for(info: &ContainerInfo, limits: OwnLimits) -> Adaptation {
    let mut reasons = Vec::new();
    let cores = limits.cpu.limited().map(CpuQuota::cores);
    let sampling_interval_scale = match cores {
        Some(cores) if cores > 0.0 && cores < 1.0 => {
            reasons.push(format!("CPU quota {cores:.2} CPUs: sampling less often"));
            (1.0 / cores).min(MAX_INTERVAL_SCALE)
        }
        _ => 1.0,
    };
    let memory = limits.memory_bytes.limited().copied();
    let memory_budget_bytes = memory.map(|bytes| bytes / 4);
    if info.is_containerized && info.cgroup_path.as_deref() == Some("/") {
        reasons.push("cgroup view is namespaced: the host's hierarchy is not visible".into());
    }
    if let Some(bytes) = memory.filter(|b| *b < SMALL_MEMORY_BYTES) {
        reasons.push(format!("memory limit {bytes} bytes is small"));
    }
    let conservative_bounds = !reasons.is_empty();
    Adaptation {
        limits,
        sampling_interval_scale,
        memory_budget_bytes,
        conservative_bounds,
        reasons,
    }
}

/// Reads this process's memory limit and CPU quota under `host`: v1 `memory.limit_in_bytes`,
/// `cpu.cfs_quota_us` / `cpu.cfs_period_us` first, then v2 `memory.max` and `cpu.max`.
pub fn own_limits_at(host: &HostRoot) -> OwnLimits {
    let lines = read::read_text(&host.proc_path("self/cgroup"), read::SMALL)
        .map(|text| parse_cgroup_file(&text))
        .unwrap_or_default();
    let mounts = read::read_text(&host.proc_path("self/mountinfo"), read::LARGE)
        .map(|text| parse_mountinfo(&text))
        .unwrap_or_default();
    let v1 = |controller: &str| chain(host, &lines, &mounts, Some(controller));
    let v2 = || chain(host, &lines, &mounts, None);
    let memory_bytes = tightest(v1("memory"), read_v1_memory)
        .or_else(|| tightest(v2(), read_v2_memory))
        .unwrap_or(Limit::Unknown);
    let cpu = tightest(v1("cpu"), read_v1_cpu)
        .or_else(|| tightest(v2(), read_v2_cpu))
        .unwrap_or(Limit::Unknown);
    OwnLimits { memory_bytes, cpu }
}

/// The directories of this process's cgroup and its visible ancestors, deepest first, in the
/// v1 hierarchy of `controller` or (None) the v2 hierarchy.
fn chain(
    host: &HostRoot,
    lines: &[CgroupLine],
    mounts: &[Mount],
    controller: Option<&str>,
) -> Vec<PathBuf> {
    let line = lines.iter().find(|l| match controller {
        Some(name) => l.has_controller(name),
        None => l.is_unified(),
    });
    let Some(line) = line else {
        return Vec::new();
    };
    let mount = mounts.iter().find(|m| {
        let kind = match controller {
            Some(name) => m.fstype == "cgroup" && m.super_options.split(',').any(|o| o == name),
            None => m.fstype == "cgroup2",
        };
        kind && relative(&line.path, &m.root).is_some()
    });
    let Some(mount) = mount else {
        return Vec::new();
    };
    let Some(rel) = relative(&line.path, &mount.root) else {
        return Vec::new();
    };
    let base = host.root_path(&mount.mount_point);
    let comps: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
    (0..=comps.len())
        .rev()
        .map(|n| comps[..n].iter().fold(base.clone(), |dir, c| dir.join(c)))
        .collect()
}

/// `path` below the mount's root, at a component boundary; `..` paths are refused.
fn relative<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    if path.split('/').any(|c| c == "..") {
        return None;
    }
    let root = root.trim_end_matches('/');
    let rest = path.strip_prefix(root)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Values that can be ordered: the tightest limit wins.
trait Tightness: Copy {
    fn tighter_than(&self, other: &Self) -> bool;
}

impl Tightness for u64 {
    fn tighter_than(&self, other: &Self) -> bool {
        self < other
    }
}

impl Tightness for CpuQuota {
    fn tighter_than(&self, other: &Self) -> bool {
        self.cores() < other.cores()
    }
}

/// The tightest limit along `dirs`; `None` when no directory gave an answer.
fn tightest<T: Tightness>(
    dirs: Vec<PathBuf>,
    read: impl Fn(&Path) -> Limit<T>,
) -> Option<Limit<T>> {
    let mut best: Option<Limit<T>> = None;
    for dir in &dirs {
        best = match (best, read(dir)) {
            (best, Limit::Unknown) => best,
            (Some(Limit::Limited(a)), Limit::Limited(b)) => {
                Some(Limit::Limited(if b.tighter_than(&a) { b } else { a }))
            }
            (Some(Limit::Limited(a)), Limit::Unlimited) => Some(Limit::Limited(a)),
            (_, found) => Some(found),
        };
    }
    best
}

fn value(dir: &Path, file: &str) -> Option<String> {
    read::read_value(&dir.join(file))
}

fn read_v1_memory(dir: &Path) -> Limit<u64> {
    match value(dir, "memory.limit_in_bytes").and_then(|v| v.parse::<u64>().ok()) {
        Some(bytes) if bytes >= V1_UNLIMITED_FROM => Limit::Unlimited,
        Some(bytes) => Limit::Limited(bytes),
        None => Limit::Unknown,
    }
}

fn read_v2_memory(dir: &Path) -> Limit<u64> {
    match value(dir, "memory.max").as_deref() {
        Some("max") => Limit::Unlimited,
        Some(v) => v.parse().map_or(Limit::Unknown, Limit::Limited),
        None => Limit::Unknown,
    }
}

fn read_v1_cpu(dir: &Path) -> Limit<CpuQuota> {
    let quota = value(dir, "cpu.cfs_quota_us").and_then(|v| v.parse::<i64>().ok());
    match quota {
        Some(-1) => Limit::Unlimited,
        Some(quota) if quota > 0 => {
            let period = value(dir, "cpu.cfs_period_us").and_then(|v| v.parse::<u64>().ok());
            match period {
                Some(period_us) if period_us > 0 => Limit::Limited(CpuQuota {
                    quota_us: quota.unsigned_abs(),
                    period_us,
                }),
                _ => Limit::Unknown,
            }
        }
        _ => Limit::Unknown,
    }
}

/// `cpu.max`: `max 100000` or `<quota> <period>` (the period may be left out: 100000).
fn read_v2_cpu(dir: &Path) -> Limit<CpuQuota> {
    let Some(text) = value(dir, "cpu.max") else {
        return Limit::Unknown;
    };
    let mut fields = text.split_whitespace();
    let quota = fields.next();
    let period = fields
        .next()
        .map_or(Some(100_000), |p| p.parse::<u64>().ok());
    match (quota, period) {
        (Some("max"), Some(_)) => Limit::Unlimited,
        (Some(quota), Some(period_us)) if period_us > 0 => match quota.parse::<u64>() {
            Ok(quota_us) if quota_us > 0 => Limit::Limited(CpuQuota {
                quota_us,
                period_us,
            }),
            _ => Limit::Unknown,
        },
        _ => Limit::Unknown,
    }
}

/// Logs the detection and adaptation, target `container`, only the lines that have data:
/// `Detected container environment: Docker`, `Container ID: <id>`, `Container cgroup path:
/// <path>`, `Container memory limit: <n> bytes`. Nothing outside a container.
pub fn log_adaptation(info: &ContainerInfo, adaptation: &Adaptation) {
    if !info.is_containerized {
        return;
    }
    tracing::info!(target: "container", "Detected container environment: {}", info.runtime);
    if let Some(id) = &info.container_id {
        tracing::info!(target: "container", "Container ID: {id}");
    }
    if let Some(path) = &info.cgroup_path {
        tracing::info!(target: "container", "Container cgroup path: {path}");
    }
    if let Some(bytes) = adaptation.limits.memory_bytes.limited() {
        tracing::info!(target: "container", "Container memory limit: {bytes} bytes");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, file: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(file), text).unwrap();
    }

    #[test]
    fn v1_sentinel_and_quota() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        write(&dir, "memory.limit_in_bytes", "9223372036854771712\n");
        assert_eq!(read_v1_memory(&dir), Limit::Unlimited);
        write(&dir, "memory.limit_in_bytes", "536870912\n");
        assert_eq!(read_v1_memory(&dir), Limit::Limited(536_870_912));
        write(&dir, "memory.limit_in_bytes", "garbage");
        assert_eq!(read_v1_memory(&dir), Limit::Unknown);
        write(&dir, "cpu.cfs_quota_us", "-1\n");
        assert_eq!(read_v1_cpu(&dir), Limit::Unlimited);
        write(&dir, "cpu.cfs_quota_us", "50000\n");
        assert_eq!(read_v1_cpu(&dir), Limit::Unknown);
        write(&dir, "cpu.cfs_period_us", "100000\n");
        assert_eq!(
            read_v1_cpu(&dir),
            Limit::Limited(CpuQuota {
                quota_us: 50_000,
                period_us: 100_000
            })
        );
    }

    #[test]
    fn v2_max_and_values() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        write(&dir, "memory.max", "max\n");
        assert_eq!(read_v2_memory(&dir), Limit::Unlimited);
        write(&dir, "memory.max", "268435456\n");
        assert_eq!(read_v2_memory(&dir), Limit::Limited(268_435_456));
        write(&dir, "cpu.max", "max 100000\n");
        assert_eq!(read_v2_cpu(&dir), Limit::Unlimited);
        write(&dir, "cpu.max", "150000 100000\n");
        assert_eq!(read_v2_cpu(&dir).limited().map(CpuQuota::cores), Some(1.5));
        write(&dir, "cpu.max", "25000\n");
        assert_eq!(read_v2_cpu(&dir).limited().map(CpuQuota::cores), Some(0.25));
        for bad in ["", "x y", "0 100000", "1 0", "1 x"] {
            write(&dir, "cpu.max", bad);
            assert_eq!(read_v2_cpu(&dir), Limit::Unknown, "{bad:?}");
        }
    }

    #[test]
    fn tightest_limit_wins_and_unknown_is_not_unlimited() {
        let dirs = vec![PathBuf::from("a"), PathBuf::from("b"), PathBuf::from("c")];
        let limits = |dir: &Path| match dir.to_str() {
            Some("a") => Limit::Unlimited,
            Some("b") => Limit::Limited(300u64),
            _ => Limit::Limited(200),
        };
        assert_eq!(tightest(dirs.clone(), limits), Some(Limit::Limited(200)));
        assert_eq!(tightest(dirs.clone(), |_| Limit::<u64>::Unknown), None);
        assert_eq!(
            tightest(dirs, |_| Limit::<u64>::Unlimited),
            Some(Limit::Unlimited)
        );
    }

    #[test]
    fn relative_paths_respect_component_boundaries() {
        assert_eq!(relative("/docker/abc", "/docker/abc"), Some(""));
        assert_eq!(relative("/docker/abc/init", "/docker/abc"), Some("/init"));
        assert_eq!(relative("/docker/abcd", "/docker/abc"), None);
        assert_eq!(relative("/a/b", "/"), Some("/a/b"));
        assert_eq!(relative("/", "/"), Some("/"));
        assert_eq!(relative("/../x", "/"), None);
    }

    #[test]
    fn adaptation_scales_and_budgets() {
        let info = ContainerInfo {
            runtime: crate::runtime::ContainerRuntime::Docker,
            is_containerized: true,
            container_id: None,
            cgroup_path: Some("/docker/x".into()),
            orchestrator: None,
            evidence: Vec::new(),
        };
        let limits = OwnLimits {
            memory_bytes: Limit::Limited(64 * 1024 * 1024),
            cpu: Limit::Limited(CpuQuota {
                quota_us: 25_000,
                period_us: 100_000,
            }),
        };
        let a = adaptation_for(&info, limits);
        assert_eq!(a.sampling_interval_scale, 4.0);
        assert_eq!(
            a.scaled_interval(Duration::from_secs(1)),
            Duration::from_secs(4)
        );
        assert_eq!(a.memory_budget_bytes, Some(16 * 1024 * 1024));
        assert!(a.conservative_bounds);
        let tiny = OwnLimits {
            memory_bytes: Limit::Unlimited,
            cpu: Limit::Limited(CpuQuota {
                quota_us: 1_000,
                period_us: 100_000,
            }),
        };
        assert_eq!(
            adaptation_for(&info, tiny).sampling_interval_scale,
            MAX_INTERVAL_SCALE
        );
        let free = OwnLimits {
            memory_bytes: Limit::Unlimited,
            cpu: Limit::Unknown,
        };
        let host = ContainerInfo {
            is_containerized: false,
            runtime: crate::runtime::ContainerRuntime::None,
            cgroup_path: None,
            ..info
        };
        let a = adaptation_for(&host, free);
        assert_eq!(a.sampling_interval_scale, 1.0);
        assert_eq!(a.memory_budget_bytes, None);
        assert!(!a.conservative_bounds);
    }
}
