//! The facts a result needs to be read fairly: kernel, cores, memory, cgroup layout.

use serde::Serialize;
use smoothtask_agent::{cgroup::Hierarchies, host::HostRoot};

#[derive(Debug, Serialize)]
pub struct Machine {
    pub kernel: String,
    pub cores: usize,
    pub memory_bytes: Option<u64>,
    pub cgroup_layout: String,
    pub nofile_limit: Option<u64>,
}

pub fn facts() -> Machine {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let memory_bytes = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024);
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out pointer.
    let nofile = (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0)
        .then_some(limit.rlim_cur);
    Machine {
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_bytes,
        cgroup_layout: Hierarchies::read(&HostRoot::live())
            .map(|h| format!("{:?}", h.layout).to_lowercase())
            .unwrap_or_else(|e| format!("unknown ({e})")),
        nofile_limit: nofile,
    }
}
