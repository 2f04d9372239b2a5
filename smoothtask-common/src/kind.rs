//! Event kind ids. Ids are grouped in ranges per hook family and never reused once retired.
//!
//! | range   | family                     |
//! |---------|----------------------------|
//! | 100-199 | cgroup lifecycle           |
//! | 200-299 | memory pressure (reserved) |

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
}

impl EventKind {
    /// Every kind the kernel programs can emit, in id order.
    pub const ALL: [EventKind; 3] = [
        EventKind::CgroupMkdir,
        EventKind::CgroupRmdir,
        EventKind::CgroupAttach,
    ];

    pub const fn id(self) -> u16 {
        self as u16
    }

    pub const fn from_id(id: u16) -> Option<Self> {
        match id {
            100 => Some(EventKind::CgroupMkdir),
            101 => Some(EventKind::CgroupRmdir),
            102 => Some(EventKind::CgroupAttach),
            _ => None,
        }
    }

    /// The stable name used in logs, the API and metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::CgroupMkdir => "cgroup.mkdir",
            EventKind::CgroupRmdir => "cgroup.rmdir",
            EventKind::CgroupAttach => "cgroup.attach",
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
