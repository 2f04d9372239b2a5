//! Names shared by the eBPF object and the loader: maps, programs and the hooks they attach to.

/// The ring buffer every record goes through.
pub const EVENTS_MAP: &str = "EVENTS";
/// Per-CPU `u64` counters indexed by kind id: records the kernel could not reserve.
pub const LOST_MAP: &str = "LOST";
/// Per-CPU `u64` counters indexed by kind id: records sent with a field the kernel could not read.
pub const PARTIAL_MAP: &str = "PARTIAL";

/// Ring buffer size in bytes (a power-of-two multiple of the page size).
pub const EVENTS_BYTES: u32 = 4 * 1024 * 1024;

/// A classic tracepoint program: its name in the object, and the tracepoint it attaches to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracepointProgram {
    pub program: &'static str,
    pub category: &'static str,
    pub name: &'static str,
}

/// Cgroup lifecycle programs (`smoothtask-ebpf/src/cgroup.rs`).
pub const CGROUP_PROGRAMS: [TracepointProgram; 3] = [
    TracepointProgram {
        program: "cgroup_mkdir",
        category: "cgroup",
        name: "cgroup_mkdir",
    },
    TracepointProgram {
        program: "cgroup_rmdir",
        category: "cgroup",
        name: "cgroup_rmdir",
    },
    TracepointProgram {
        program: "cgroup_attach_task",
        category: "cgroup",
        name: "cgroup_attach_task",
    },
];

/// Reclaims in progress, keyed by thread id (`ReclaimStart`).
pub const RECLAIM_START_MAP: &str = "RECLAIM_START";
/// Per-CPU totals of stalls shorter than the threshold (`StallKey` -> `StallTotals`).
pub const SHORT_STALLS_MAP: &str = "SHORT_STALLS";
/// Global: stalls at least this long (ns) are sent one by one; shorter ones are aggregated.
pub const STALL_THRESHOLD_GLOBAL: &str = "STALL_THRESHOLD_NS";

/// Memory pressure programs (`smoothtask-ebpf/src/memory.rs`): cold paths only.
pub const MEMORY_PROGRAMS: [TracepointProgram; 5] = [
    TracepointProgram {
        program: "memcg_reclaim_begin",
        category: "vmscan",
        name: "mm_vmscan_memcg_reclaim_begin",
    },
    TracepointProgram {
        program: "memcg_reclaim_end",
        category: "vmscan",
        name: "mm_vmscan_memcg_reclaim_end",
    },
    TracepointProgram {
        program: "direct_reclaim_begin",
        category: "vmscan",
        name: "mm_vmscan_direct_reclaim_begin",
    },
    TracepointProgram {
        program: "direct_reclaim_end",
        category: "vmscan",
        name: "mm_vmscan_direct_reclaim_end",
    },
    TracepointProgram {
        program: "oom_mark_victim",
        category: "oom",
        name: "mark_victim",
    },
];
