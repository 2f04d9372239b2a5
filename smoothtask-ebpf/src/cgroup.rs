//! Cgroup lifecycle: `cgroup:cgroup_mkdir`, `cgroup:cgroup_rmdir`, `cgroup:cgroup_attach_task`.
//!
//! Each record is reserved directly in the ring buffer and filled in place; a full ring buffer
//! is counted in `LOST`, an unreadable field in `PARTIAL` (the record is still sent).

use aya_ebpf::{
    helpers::{bpf_ktime_get_ns, generated::bpf_get_smp_processor_id},
    macros::tracepoint,
    programs::TracePointContext,
};
use smoothtask_common::{
    CgroupRecord, EventKind,
    cgroup::{COMM_CAPACITY, PATH_CAPACITY, layout},
    header::{FLAG_COMM_UNREADABLE, FLAG_PATH_TRUNCATED, FLAG_PATH_UNREADABLE},
};

use crate::{
    maps::{EVENTS, count_lost, count_partial},
    tp::read_data_loc,
};

#[tracepoint]
pub fn cgroup_mkdir(ctx: TracePointContext) -> u32 {
    emit(&ctx, EventKind::CgroupMkdir);
    0
}

#[tracepoint]
pub fn cgroup_rmdir(ctx: TracePointContext) -> u32 {
    emit(&ctx, EventKind::CgroupRmdir);
    0
}

#[tracepoint]
pub fn cgroup_attach_task(ctx: TracePointContext) -> u32 {
    emit(&ctx, EventKind::CgroupAttach);
    0
}

#[inline(always)]
fn emit(ctx: &TracePointContext, kind: EventKind) {
    let Some(mut entry) = EVENTS.reserve::<CgroupRecord>(0) else {
        count_lost(kind);
        return;
    };
    // SAFETY: the entry is a live reservation of exactly one CgroupRecord.
    let record = unsafe { &mut *entry.as_mut_ptr() };
    if fill(ctx, kind, record) {
        count_partial(kind);
    }
    entry.submit(0);
}

/// Fills every field of `record`; returns true when a field could not be read.
#[inline(always)]
fn fill(ctx: &TracePointContext, kind: EventKind, record: &mut CgroupRecord) -> bool {
    let attach = matches!(kind, EventKind::CgroupAttach);
    record.header.kind = kind.id();
    record.header.flags = 0;
    // SAFETY: plain helper calls without arguments.
    record.header.cpu = unsafe { bpf_get_smp_processor_id() };
    record.header.timestamp_ns = unsafe { bpf_ktime_get_ns() };
    // SAFETY: offsets come from the tracepoint format (checked by the agent before attaching).
    record.hierarchy_id = unsafe { ctx.read_at::<i32>(layout::ROOT) }.unwrap_or(-1) as u32;
    record.level = unsafe { ctx.read_at::<i32>(layout::LEVEL) }.unwrap_or(-1) as u32;
    record.cgroup_id = unsafe { ctx.read_at::<u64>(layout::ID) }.unwrap_or(0);
    record.pid = if attach {
        unsafe { ctx.read_at::<i32>(layout::ATTACH_PID) }.unwrap_or(0) as u32
    } else {
        0
    };
    record.comm = [0; COMM_CAPACITY];

    let path_field = if attach {
        layout::ATTACH_PATH
    } else {
        layout::PATH
    };
    let mut partial = false;
    match read_data_loc(ctx, path_field, &mut record.path) {
        Some(len) => {
            record.path_len = len;
            if len as usize >= PATH_CAPACITY {
                record.header.flags |= FLAG_PATH_TRUNCATED;
            }
        }
        None => {
            record.path[0] = 0;
            record.path_len = 0;
            record.header.flags |= FLAG_PATH_UNREADABLE;
            partial = true;
        }
    }
    if attach && read_data_loc(ctx, layout::ATTACH_COMM, &mut record.comm).is_none() {
        record.comm[0] = 0;
        record.header.flags |= FLAG_COMM_UNREADABLE;
        partial = true;
    }
    partial
}
