//! Event kind ids. Ids are grouped in ranges per hook family and never reused once retired.
//!
//! | range   | family                     |
//! |---------|----------------------------|
//! | 100-199 | cgroup lifecycle           |
//! | 200-299 | memory pressure            |

/// Upper bound (exclusive) on kind ids; sizes the per-kind counter maps.
pub const KIND_ID_LIMIT: u32 = 512;

/// The kind of a kernel record, written first in every record header.
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "user", derive(serde::Serialize, serde::Deserialize))]
pub enum EventKind {
    #[cfg_attr(feature = "user", serde(rename = "cgroup.mkdir"))]
    CgroupMkdir = 100,
    #[cfg_attr(feature = "user", serde(rename = "cgroup.rmdir"))]
    CgroupRmdir = 101,
    #[cfg_attr(feature = "user", serde(rename = "cgroup.attach"))]
    CgroupAttach = 102,
    #[cfg_attr(feature = "user", serde(rename = "memory.reclaim_stall"))]
    MemoryReclaimStall = 200,
    #[cfg_attr(feature = "user", serde(rename = "memory.direct_reclaim"))]
    MemoryDirectReclaim = 201,
    #[cfg_attr(feature = "user", serde(rename = "memory.oom_kill"))]
    MemoryOomKill = 202,
}

impl EventKind {
    /// Every kind the kernel programs can emit, in id order.
    pub const ALL: [EventKind; 6] = [
        EventKind::CgroupMkdir,
        EventKind::CgroupRmdir,
        EventKind::CgroupAttach,
        EventKind::MemoryReclaimStall,
        EventKind::MemoryDirectReclaim,
        EventKind::MemoryOomKill,
    ];

    pub const fn id(self) -> u16 {
        self as u16
    }

    pub const fn from_id(id: u16) -> Option<Self> {
        match id {
            100 => Some(EventKind::CgroupMkdir),
            101 => Some(EventKind::CgroupRmdir),
            102 => Some(EventKind::CgroupAttach),
            200 => Some(EventKind::MemoryReclaimStall),
            201 => Some(EventKind::MemoryDirectReclaim),
            202 => Some(EventKind::MemoryOomKill),
            _ => None,
        }
    }

    /// The stable name used in logs, the API and metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::CgroupMkdir => "cgroup.mkdir",
            EventKind::CgroupRmdir => "cgroup.rmdir",
            EventKind::CgroupAttach => "cgroup.attach",
            EventKind::MemoryReclaimStall => "memory.reclaim_stall",
            EventKind::MemoryDirectReclaim => "memory.direct_reclaim",
            EventKind::MemoryOomKill => "memory.oom_kill",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_fit_the_counter_maps() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_id(kind.id()), Some(kind));
            assert!(u32::from(kind.id()) < KIND_ID_LIMIT);
        }
        assert_eq!(EventKind::from_id(0), None);
        assert_eq!(EventKind::from_id(199), None);
    }
}
