//! The privilege gate: a privileged test either runs or says exactly why it skipped. Where the
//! environment asks for privileged tests (`SMOOTHTASK_REQUIRE_PRIVILEGED=1`, set by CI), a skip
//! is a failure.

use std::path::Path;

/// What a test needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Root (cgroup directories are root-owned).
    Root,
    /// CAP_BPF (or CAP_SYS_ADMIN) and CAP_PERFMON to load and attach tracepoint programs.
    Ebpf,
    /// A cgroup v1 memory hierarchy at /sys/fs/cgroup/memory.
    V1Memory,
    /// A cgroup v2 hierarchy at /sys/fs/cgroup/unified (hybrid) or /sys/fs/cgroup.
    V2,
}

pub const REQUIRE_ENV: &str = "SMOOTHTASK_REQUIRE_PRIVILEGED";

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

fn has_cap(caps: u64, cap: u32) -> bool {
    caps & (1u64 << cap) != 0
}

fn missing(req: Requirement) -> Option<String> {
    match req {
        Requirement::Root => {
            // SAFETY: no arguments, cannot fail.
            (unsafe { libc::geteuid() } != 0).then(|| "not running as root".to_string())
        }
        Requirement::Ebpf => {
            let caps = effective_caps();
            let bpf = has_cap(caps, CAP_BPF) || has_cap(caps, CAP_SYS_ADMIN);
            let perfmon = has_cap(caps, CAP_PERFMON) || has_cap(caps, CAP_SYS_ADMIN);
            if smoothtask_agent::kernel::is_stub_build() {
                Some("the agent was built with SMOOTHTASK_EBPF_STUB=1 (no eBPF programs)".into())
            } else if !bpf || !perfmon {
                Some(format!(
                    "missing capabilities to load eBPF (CAP_BPF: {bpf}, CAP_PERFMON: {perfmon})"
                ))
            } else {
                None
            }
        }
        Requirement::V1Memory => (!Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists())
            .then(|| "no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory".to_string()),
        Requirement::V2 => v2_root()
            .is_none()
            .then(|| "no cgroup v2 hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup".into()),
    }
}

/// The cgroup v2 mount point on this host's usual layouts.
pub fn v2_root() -> Option<&'static Path> {
    ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("cgroup.subtree_control").exists() || p.join("cgroup.threads").exists())
}

/// Returns true when the test may run. Otherwise prints `skipped: <reason>` and returns false,
/// or panics when `SMOOTHTASK_REQUIRE_PRIVILEGED=1`.
pub fn require(test: &str, requirements: &[Requirement]) -> bool {
    let reasons: Vec<String> = requirements.iter().filter_map(|&r| missing(r)).collect();
    if reasons.is_empty() {
        return true;
    }
    let reason = reasons.join("; ");
    if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
        panic!("{test}: privileged test cannot run ({REQUIRE_ENV}=1 forbids skipping): {reason}");
    }
    println!("skipped: {test}: {reason}");
    false
}
