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
