//! Memory pressure records: memcg reclaim stalls, host-wide direct reclaim and OOM victims
//! (mirrored by `smoothtask-ebpf/src/memory.rs`).

use crate::header::{DecodeError, RecordHeader, pod_bytes, read_pod};
use crate::kind::EventKind;

/// Field offsets of the memory tracepoints' raw records (from
/// `/sys/kernel/tracing/events/{vmscan,oom}/<name>/format`); checked by the agent before
/// attaching.
pub mod layout {
    /// `mm_vmscan_{memcg,direct}_reclaim_begin`: `int order`.
    pub const BEGIN_ORDER: usize = 8;
    /// `unsigned long gfp_flags`.
    pub const BEGIN_GFP_FLAGS: usize = 16;
    /// `mm_vmscan_{memcg,direct}_reclaim_end`: `unsigned long nr_reclaimed`.
    pub const END_NR_RECLAIMED: usize = 8;
    /// `oom:mark_victim`: `int pid`.
    pub const VICTIM_PID: usize = 8;
    /// `__data_loc char[] comm`.
    pub const VICTIM_COMM: usize = 12;
    /// `unsigned long total_vm` (pages).
    pub const VICTIM_TOTAL_VM: usize = 16;
    /// `unsigned long anon_rss` (kB).
    pub const VICTIM_ANON_RSS: usize = 24;
    /// `unsigned long file_rss` (kB).
    pub const VICTIM_FILE_RSS: usize = 32;
    /// `unsigned long shmem_rss` (kB).
    pub const VICTIM_SHMEM_RSS: usize = 40;
    /// `uid_t uid`.
    pub const VICTIM_UID: usize = 48;
    /// `short oom_score_adj`.
    pub const VICTIM_OOM_SCORE_ADJ: usize = 64;
}

/// Which reclaim a stall was: per-memcg (a cgroup's limit) or host-wide direct reclaim.
pub const RECLAIM_MEMCG: u32 = 0;
pub const RECLAIM_DIRECT: u32 = 1;

/// A reclaim in progress: written at `*_reclaim_begin`, keyed by thread id.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReclaimStart {
    pub timestamp_ns: u64,
    pub order: i32,
    pub reclaim: u32,
}

/// One memory pressure record. Reclaim records carry the stalled task; OOM records carry the
/// victim (`pid`, `comm`, rss fields) while `cgroup_id` is the cgroup of the task that
/// triggered the kill.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRecord {
    pub header: RecordHeader,
    /// Process (tgid) of the stalled task, or the OOM victim's pid.
    pub pid: u32,
    /// Thread id of the stalled task (0 for OOM records).
    pub tid: u32,
    /// `bpf_get_current_cgroup_id()`: the current task's cgroup v2 id (the root's id on hosts
    /// without cgroup v2).
    pub cgroup_id: u64,
    /// Reclaim: time between begin and end.
    pub duration_ns: u64,
    /// Reclaim: pages reclaimed.
    pub nr_reclaimed: u64,
    /// Reclaim: allocation order.
    pub order: i32,
    /// `RECLAIM_MEMCG` or `RECLAIM_DIRECT`.
    pub reclaim: u32,
    pub gfp_flags: u64,
    /// OOM: victim's virtual memory in pages and rss in kB.
    pub total_vm: u64,
    pub anon_rss_kb: u64,
    pub file_rss_kb: u64,
    pub shmem_rss_kb: u64,
    pub uid: u32,
    pub oom_score_adj: i32,
    pub comm: [u8; 16],
}

const _: () =
    assert!(core::mem::size_of::<MemoryRecord>() == 16 + 8 + 8 + 8 + 8 + 8 + 8 + 32 + 8 + 16);
const _: () = assert!(core::mem::size_of::<ReclaimStart>() == 16);

impl MemoryRecord {
    pub const SIZE: usize = core::mem::size_of::<Self>();

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let record: Self = read_pod(bytes)?;
        match EventKind::from_id(record.header.kind) {
            Some(
                EventKind::MemoryReclaimStall
                | EventKind::MemoryDirectReclaim
                | EventKind::MemoryOomKill,
            ) => Ok(record),
            Some(_) => Err(DecodeError::WrongKind(record.header.kind)),
            None => Err(DecodeError::UnknownKind(record.header.kind)),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        pod_bytes(self)
    }

    pub fn comm_bytes(&self) -> &[u8] {
        let end = self
            .comm
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.comm.len());
        &self.comm[..end]
    }
}

/// Key of the in-kernel aggregate of stalls shorter than the threshold.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StallKey {
    pub cgroup_id: u64,
    /// `RECLAIM_MEMCG` or `RECLAIM_DIRECT`.
    pub reclaim: u32,
    pub _pad: u32,
}

/// Per-CPU running totals of short stalls for one key; user space reports deltas.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StallTotals {
    pub count: u64,
    pub total_ns: u64,
    pub nr_reclaimed: u64,
    /// The most recent stalled process (for attribution on cgroup v1).
    pub last_pid: u32,
    pub _pad: u32,
}

const _: () = assert!(core::mem::size_of::<StallKey>() == 16);
const _: () = assert!(core::mem::size_of::<StallTotals>() == 32);

#[cfg(feature = "user")]
// SAFETY: repr(C), integers and byte arrays only, no padding (sizes asserted above).
unsafe impl aya::Pod for MemoryRecord {}
#[cfg(feature = "user")]
// SAFETY: as above.
unsafe impl aya::Pod for ReclaimStart {}
#[cfg(feature = "user")]
// SAFETY: as above.
unsafe impl aya::Pod for StallKey {}
#[cfg(feature = "user")]
// SAFETY: as above.
unsafe impl aya::Pod for StallTotals {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kind: EventKind) -> MemoryRecord {
        let mut comm = [0u8; 16];
        comm[..6].copy_from_slice(b"memhog");
        MemoryRecord {
            header: RecordHeader {
                kind: kind.id(),
                flags: 0,
                cpu: 1,
                timestamp_ns: 99,
            },
            pid: 10,
            tid: 11,
            cgroup_id: 12,
            duration_ns: 13,
            nr_reclaimed: 14,
            order: 0,
            reclaim: RECLAIM_MEMCG,
            gfp_flags: 0xcc0,
            total_vm: 15,
            anon_rss_kb: 16,
            file_rss_kb: 17,
            shmem_rss_kb: 18,
            uid: 0,
            oom_score_adj: -5,
            comm,
        }
    }

    #[test]
    fn memory_records_round_trip_through_bytes() {
        for kind in [
            EventKind::MemoryReclaimStall,
            EventKind::MemoryDirectReclaim,
            EventKind::MemoryOomKill,
        ] {
            let record = sample(kind);
            assert_eq!(record.as_bytes().len(), MemoryRecord::SIZE);
            assert_eq!(MemoryRecord::from_bytes(record.as_bytes()), Ok(record));
            assert_eq!(record.comm_bytes(), b"memhog");
        }
    }

    #[test]
    fn a_cgroup_kind_is_not_a_memory_record() {
        let mut record = sample(EventKind::MemoryOomKill);
        record.header.kind = EventKind::CgroupMkdir.id();
        assert_eq!(
            MemoryRecord::from_bytes(record.as_bytes()),
            Err(DecodeError::WrongKind(EventKind::CgroupMkdir.id()))
        );
    }
}
