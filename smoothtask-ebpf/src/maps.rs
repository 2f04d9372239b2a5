//! Maps shared by every hook family: the event ring buffer and the per-kind counters.

use aya_ebpf::{
    macros::map,
    maps::{PerCpuArray, RingBuf},
};
use smoothtask_common::{EventKind, kind::KIND_ID_LIMIT, maps::EVENTS_BYTES};

#[map(name = "EVENTS")]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(EVENTS_BYTES, 0);

/// Records of each kind that could not be reserved in `EVENTS`.
#[map(name = "LOST")]
pub static LOST: PerCpuArray<u64> = PerCpuArray::with_max_entries(KIND_ID_LIMIT, 0);

/// Records of each kind sent with a field the kernel could not read.
#[map(name = "PARTIAL")]
pub static PARTIAL: PerCpuArray<u64> = PerCpuArray::with_max_entries(KIND_ID_LIMIT, 0);

#[inline(always)]
fn bump(counters: &PerCpuArray<u64>, kind: EventKind) {
    if let Some(slot) = counters.get_ptr_mut(u32::from(kind.id())) {
        // SAFETY: per-CPU slot, no concurrent writer on this CPU while the program runs.
        unsafe { *slot += 1 };
    }
}

#[inline(always)]
pub fn count_lost(kind: EventKind) {
    bump(&LOST, kind);
}

#[inline(always)]
pub fn count_partial(kind: EventKind) {
    bump(&PARTIAL, kind);
}
