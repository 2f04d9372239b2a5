//! The header every record starts with, and decoding of records from ring buffer bytes.

use crate::kind::EventKind;

/// Record flag: the path did not fit in the record and was cut.
pub const FLAG_PATH_TRUNCATED: u16 = 1 << 0;
/// Record flag: the kernel could not read the path; `path` is empty.
pub const FLAG_PATH_UNREADABLE: u16 = 1 << 1;
/// Record flag: the kernel could not read the task's comm; `comm` is empty.
pub const FLAG_COMM_UNREADABLE: u16 = 1 << 2;

/// First 16 bytes of every record.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// [`EventKind`] id.
    pub kind: u16,
    /// `FLAG_*` bits.
    pub flags: u16,
    /// CPU the record was written on.
    pub cpu: u32,
    /// `bpf_ktime_get_ns()`: CLOCK_MONOTONIC nanoseconds.
    pub timestamp_ns: u64,
}

const _: () = assert!(core::mem::size_of::<RecordHeader>() == 16);

impl RecordHeader {
    pub const fn new(kind: EventKind) -> Self {
        Self {
            kind: kind.id(),
            flags: 0,
            cpu: 0,
            timestamp_ns: 0,
        }
    }

    pub const fn kind(&self) -> Option<EventKind> {
        EventKind::from_id(self.kind)
    }
}

/// Why bytes from the ring buffer are not a valid record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the record needs.
    TooShort { expected: usize, actual: usize },
    /// The header names a kind this build does not know.
    UnknownKind(u16),
    /// The header names a kind that is not carried by this record type.
    WrongKind(u16),
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::TooShort { expected, actual } => {
                write!(f, "record is {actual} bytes, expected {expected}")
            }
            DecodeError::UnknownKind(id) => write!(f, "unknown event kind id {id}"),
            DecodeError::WrongKind(id) => write!(f, "event kind id {id} does not fit this record"),
        }
    }
}

/// Reads the header of a record without interpreting the rest.
pub fn peek_header(bytes: &[u8]) -> Result<RecordHeader, DecodeError> {
    read_pod(bytes)
}

/// Copies a `#[repr(C)]` plain-old-data value out of possibly unaligned bytes.
///
/// Only for the record types of this crate: every bit pattern of their fields is valid.
pub(crate) fn read_pod<T: Copy>(bytes: &[u8]) -> Result<T, DecodeError> {
    let expected = core::mem::size_of::<T>();
    if bytes.len() < expected {
        return Err(DecodeError::TooShort {
            expected,
            actual: bytes.len(),
        });
    }
    // SAFETY: length checked above; T is a repr(C) struct of integers and byte arrays.
    Ok(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// The bytes of a `#[repr(C)]` record without padding (for tests and benchmarks).
pub(crate) fn pod_bytes<T: Copy>(value: &T) -> &[u8] {
    // SAFETY: the record types have no padding (checked by size asserts next to them).
    unsafe {
        core::slice::from_raw_parts((value as *const T).cast::<u8>(), core::mem::size_of::<T>())
    }
}

#[cfg(feature = "user")]
// SAFETY: repr(C), integers only, no padding.
unsafe impl aya::Pod for RecordHeader {}
