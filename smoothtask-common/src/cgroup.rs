//! Cgroup lifecycle records: `cgroup:cgroup_mkdir`, `cgroup:cgroup_rmdir`,
//! `cgroup:cgroup_attach_task` (mirrored by `smoothtask-ebpf/src/cgroup.rs`).

use crate::header::{DecodeError, RecordHeader, pod_bytes, read_pod};
use crate::kind::EventKind;

/// Bytes of cgroup path carried in a record (including no terminator).
pub const PATH_CAPACITY: usize = 256;
/// Bytes of task comm carried in a record (the kernel's TASK_COMM_LEN).
pub const COMM_CAPACITY: usize = 16;

/// Field offsets of the cgroup tracepoints' raw records (from
/// `/sys/kernel/tracing/events/cgroup/<name>/format`, stable since Linux 5.7 made `id` a u64).
/// The agent checks them against the running kernel's format files before attaching.
pub mod layout {
    /// `cgroup_mkdir` / `cgroup_rmdir`: `int root`.
    pub const ROOT: usize = 8;
    /// `int level`.
    pub const LEVEL: usize = 12;
    /// `u64 id`.
    pub const ID: usize = 16;
    /// `__data_loc char[] path`.
    pub const PATH: usize = 24;
    /// `cgroup_attach_task`: `int pid`.
    pub const ATTACH_PID: usize = 24;
    /// `__data_loc char[] dst_path`.
    pub const ATTACH_PATH: usize = 28;
    /// `__data_loc char[] comm`.
    pub const ATTACH_COMM: usize = 32;
}

/// One cgroup lifecycle record. `pid` and `comm` are set for attach records only.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgroupRecord {
    pub header: RecordHeader,
    /// Hierarchy id (`root` in the tracepoint): 0 is cgroup v2, v1 hierarchies count from 1.
    pub hierarchy_id: u32,
    /// Depth below the hierarchy root (the root is 0).
    pub level: u32,
    /// Kernel cgroup id: the inode number of the cgroup directory.
    pub cgroup_id: u64,
    /// Attach: the task moved into the cgroup.
    pub pid: u32,
    /// Full length of the path in the kernel (may exceed `PATH_CAPACITY`).
    pub path_len: u32,
    pub comm: [u8; COMM_CAPACITY],
    /// Path relative to the hierarchy root, e.g. `/docker/<id>`; NUL-padded.
    pub path: [u8; PATH_CAPACITY],
}

const _: () = assert!(core::mem::size_of::<CgroupRecord>() == 16 + 4 + 4 + 8 + 4 + 4 + 16 + 256);
const _: () = assert!(core::mem::size_of::<CgroupRecord>().is_multiple_of(8));

impl CgroupRecord {
    pub const SIZE: usize = core::mem::size_of::<Self>();

    /// Decodes a cgroup record, checking its length and kind.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let record: Self = read_pod(bytes)?;
        match EventKind::from_id(record.header.kind) {
            Some(EventKind::CgroupMkdir | EventKind::CgroupRmdir | EventKind::CgroupAttach) => {
                Ok(record)
            }
            Some(_) => Err(DecodeError::WrongKind(record.header.kind)),
            None => Err(DecodeError::UnknownKind(record.header.kind)),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        pod_bytes(self)
    }

    /// The path bytes up to the first NUL.
    pub fn path_bytes(&self) -> &[u8] {
        until_nul(&self.path)
    }

    /// The comm bytes up to the first NUL.
    pub fn comm_bytes(&self) -> &[u8] {
        until_nul(&self.comm)
    }
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

#[cfg(feature = "user")]
// SAFETY: repr(C), integers and byte arrays only, no padding (size asserted above).
unsafe impl aya::Pod for CgroupRecord {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::FLAG_PATH_TRUNCATED;

    fn sample(kind: EventKind) -> CgroupRecord {
        let mut path = [0u8; PATH_CAPACITY];
        path[..12].copy_from_slice(b"/docker/abc1");
        let mut comm = [0u8; COMM_CAPACITY];
        comm[..4].copy_from_slice(b"runc");
        CgroupRecord {
            header: RecordHeader {
                kind: kind.id(),
                flags: FLAG_PATH_TRUNCATED,
                cpu: 1,
                timestamp_ns: 123_456_789,
            },
            hierarchy_id: 7,
            level: 2,
            cgroup_id: 4242,
            pid: 99,
            path_len: 12,
            comm,
            path,
        }
    }

    #[test]
    fn every_cgroup_kind_round_trips_through_bytes() {
        for kind in [
            EventKind::CgroupMkdir,
            EventKind::CgroupRmdir,
            EventKind::CgroupAttach,
        ] {
            let record = sample(kind);
            let bytes = record.as_bytes();
            assert_eq!(bytes.len(), CgroupRecord::SIZE);
            let back = CgroupRecord::from_bytes(bytes).unwrap();
            assert_eq!(back, record);
            assert_eq!(back.header.kind(), Some(kind));
            assert_eq!(back.path_bytes(), b"/docker/abc1");
            assert_eq!(back.comm_bytes(), b"runc");
        }
    }

    #[test]
    fn decodes_from_unaligned_bytes() {
        let record = sample(EventKind::CgroupAttach);
        let mut buf = [0u8; CgroupRecord::SIZE + 1];
        buf[1..].copy_from_slice(record.as_bytes());
        assert_eq!(CgroupRecord::from_bytes(&buf[1..]).unwrap(), record);
    }

    #[test]
    fn memory_kinds_are_not_cgroup_records() {
        let mut record = sample(EventKind::CgroupMkdir);
        record.header.kind = EventKind::MemoryOomKill.id();
        assert_eq!(
            CgroupRecord::from_bytes(record.as_bytes()),
            Err(DecodeError::WrongKind(202))
        );
    }

    #[test]
    fn short_and_unknown_records_are_refused() {
        let record = sample(EventKind::CgroupMkdir);
        let bytes = record.as_bytes();
        assert_eq!(
            CgroupRecord::from_bytes(&bytes[..100]),
            Err(DecodeError::TooShort {
                expected: CgroupRecord::SIZE,
                actual: 100
            })
        );
        let mut bad = record;
        bad.header.kind = 7;
        assert_eq!(
            CgroupRecord::from_bytes(bad.as_bytes()),
            Err(DecodeError::UnknownKind(7))
        );
    }

    #[test]
    fn full_path_without_nul_is_kept_whole() {
        let mut record = sample(EventKind::CgroupMkdir);
        record.path = [b'a'; PATH_CAPACITY];
        assert_eq!(record.path_bytes().len(), PATH_CAPACITY);
    }
}
