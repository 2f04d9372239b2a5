//! Memory pressure: memcg reclaim stalls (`vmscan:mm_vmscan_memcg_reclaim_begin/end`), host-wide
//! direct reclaim (`vmscan:mm_vmscan_direct_reclaim_begin/end`) and OOM kills
//! (`oom:mark_victim`). Cold paths only: these fire when memory is short, never per page fault.
//!
//! A stall is measured in the kernel (begin timestamp keyed by thread). Stalls at least
//! `STALL_THRESHOLD_NS` long are sent one by one; shorter ones are added to per-CPU totals per
//! cgroup that the agent reads as deltas.

use aya_ebpf::{
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns,
        generated::{bpf_get_current_cgroup_id, bpf_get_smp_processor_id},
    },
    macros::{map, tracepoint},
    maps::{HashMap, LruPerCpuHashMap},
    programs::TracePointContext,
};
use smoothtask_common::{
    EventKind, MemoryRecord,
    header::FLAG_COMM_UNREADABLE,
    memory::{RECLAIM_DIRECT, RECLAIM_MEMCG, ReclaimStart, StallKey, StallTotals, layout},
};

use crate::{
    maps::{EVENTS, count_lost, count_partial},
    tp::read_data_loc,
};

/// Stalls at least this long are sent one by one (set by the agent at load time).
#[unsafe(no_mangle)]
static STALL_THRESHOLD_NS: u64 = 1_000_000;

/// Reclaims in progress: key = thread id << 1 | reclaim kind.
#[map(name = "RECLAIM_START")]
static RECLAIM_START: HashMap<u64, ReclaimStart> = HashMap::with_max_entries(16_384, 0);

/// Short stalls, per cgroup and reclaim kind.
#[map(name = "SHORT_STALLS")]
static SHORT_STALLS: LruPerCpuHashMap<StallKey, StallTotals> =
    LruPerCpuHashMap::with_max_entries(8_192, 0);

#[tracepoint]
pub fn memcg_reclaim_begin(ctx: TracePointContext) -> u32 {
    begin(&ctx, RECLAIM_MEMCG, EventKind::MemoryReclaimStall);
    0
}

#[tracepoint]
pub fn memcg_reclaim_end(ctx: TracePointContext) -> u32 {
    end(&ctx, RECLAIM_MEMCG, EventKind::MemoryReclaimStall);
    0
}

#[tracepoint]
pub fn direct_reclaim_begin(ctx: TracePointContext) -> u32 {
    begin(&ctx, RECLAIM_DIRECT, EventKind::MemoryDirectReclaim);
    0
}

#[tracepoint]
pub fn direct_reclaim_end(ctx: TracePointContext) -> u32 {
    end(&ctx, RECLAIM_DIRECT, EventKind::MemoryDirectReclaim);
    0
}

#[tracepoint]
pub fn oom_mark_victim(ctx: TracePointContext) -> u32 {
    victim(&ctx);
    0
}

#[inline(always)]
fn start_key(reclaim: u32) -> u64 {
    let tid = bpf_get_current_pid_tgid() as u32;
    (u64::from(tid) << 1) | u64::from(reclaim)
}

#[inline(always)]
fn begin(ctx: &TracePointContext, reclaim: u32, kind: EventKind) {
    let start = ReclaimStart {
        // SAFETY: helper without arguments.
        timestamp_ns: unsafe { bpf_ktime_get_ns() },
        // SAFETY: offset from the tracepoint format (checked by the agent).
        order: unsafe { ctx.read_at::<i32>(layout::BEGIN_ORDER) }.unwrap_or(-1),
        reclaim,
    };
    if RECLAIM_START.insert(start_key(reclaim), start, 0).is_err() {
        count_lost(kind);
    }
}

#[inline(always)]
fn end(ctx: &TracePointContext, reclaim: u32, kind: EventKind) {
    let key = start_key(reclaim);
    // SAFETY: the value is copied out before the entry is removed.
    let Some(start) = (unsafe { RECLAIM_START.get(key) }).copied() else {
        return; // began before the program was attached
    };
    let _ = RECLAIM_START.remove(key);
    // SAFETY: helpers without arguments.
    let now = unsafe { bpf_ktime_get_ns() };
    let duration_ns = now.saturating_sub(start.timestamp_ns);
    let nr_reclaimed = unsafe { ctx.read_at::<u64>(layout::END_NR_RECLAIMED) }.unwrap_or(0);
    let cgroup_id = unsafe { bpf_get_current_cgroup_id() };
    let pid_tgid = bpf_get_current_pid_tgid();
    // SAFETY: a plain read of a global the loader may have patched.
    let threshold = unsafe { core::ptr::read_volatile(&STALL_THRESHOLD_NS) };
    if duration_ns < threshold {
        add_short_stall(
            StallKey {
                cgroup_id,
                reclaim,
                _pad: 0,
            },
            duration_ns,
            nr_reclaimed,
            (pid_tgid >> 32) as u32,
        );
        return;
    }
    let Some(mut entry) = EVENTS.reserve::<MemoryRecord>(0) else {
        count_lost(kind);
        return;
    };
    // SAFETY: a live reservation of exactly one MemoryRecord.
    let r = unsafe { &mut *entry.as_mut_ptr() };
    r.header.kind = kind.id();
    r.header.flags = 0;
    r.header.cpu = unsafe { bpf_get_smp_processor_id() };
    r.header.timestamp_ns = start.timestamp_ns;
    r.pid = (pid_tgid >> 32) as u32;
    r.tid = pid_tgid as u32;
    r.cgroup_id = cgroup_id;
    r.duration_ns = duration_ns;
    r.nr_reclaimed = nr_reclaimed;
    r.order = start.order;
    r.reclaim = reclaim;
    r.gfp_flags = 0;
    r.total_vm = 0;
    r.anon_rss_kb = 0;
    r.file_rss_kb = 0;
    r.shmem_rss_kb = 0;
    r.uid = 0;
    r.oom_score_adj = 0;
    match bpf_get_current_comm() {
        Ok(comm) => r.comm = comm,
        Err(_) => {
            r.comm = [0; 16];
            r.header.flags |= FLAG_COMM_UNREADABLE;
            count_partial(kind);
        }
    }
    entry.submit(0);
}

#[inline(always)]
fn add_short_stall(key: StallKey, duration_ns: u64, nr_reclaimed: u64, pid: u32) {
    if let Some(totals) = SHORT_STALLS.get_ptr_mut(key) {
        // SAFETY: a per-CPU value: no other writer on this CPU while the program runs.
        unsafe {
            (*totals).count += 1;
            (*totals).total_ns += duration_ns;
            (*totals).nr_reclaimed += nr_reclaimed;
            (*totals).last_pid = pid;
        }
        return;
    }
    let first = StallTotals {
        count: 1,
        total_ns: duration_ns,
        nr_reclaimed,
        last_pid: pid,
        _pad: 0,
    };
    let _ = SHORT_STALLS.insert(key, first, 0);
}

#[inline(always)]
fn victim(ctx: &TracePointContext) {
    let kind = EventKind::MemoryOomKill;
    let Some(mut entry) = EVENTS.reserve::<MemoryRecord>(0) else {
        count_lost(kind);
        return;
    };
    // SAFETY: a live reservation of exactly one MemoryRecord; offsets from the format file.
    let r = unsafe { &mut *entry.as_mut_ptr() };
    r.header.kind = kind.id();
    r.header.flags = 0;
    unsafe {
        r.header.cpu = bpf_get_smp_processor_id();
        r.header.timestamp_ns = bpf_ktime_get_ns();
        r.pid = ctx.read_at::<i32>(layout::VICTIM_PID).unwrap_or(0) as u32;
        r.cgroup_id = bpf_get_current_cgroup_id();
        r.total_vm = ctx.read_at::<u64>(layout::VICTIM_TOTAL_VM).unwrap_or(0);
        r.anon_rss_kb = ctx.read_at::<u64>(layout::VICTIM_ANON_RSS).unwrap_or(0);
        r.file_rss_kb = ctx.read_at::<u64>(layout::VICTIM_FILE_RSS).unwrap_or(0);
        r.shmem_rss_kb = ctx.read_at::<u64>(layout::VICTIM_SHMEM_RSS).unwrap_or(0);
        r.uid = ctx.read_at::<u32>(layout::VICTIM_UID).unwrap_or(0);
        r.oom_score_adj = i32::from(
            ctx.read_at::<i16>(layout::VICTIM_OOM_SCORE_ADJ)
                .unwrap_or(0),
        );
    }
    r.tid = 0;
    r.duration_ns = 0;
    r.nr_reclaimed = 0;
    r.order = 0;
    r.reclaim = 0;
    r.gfp_flags = 0;
    r.comm = [0; 16];
    if read_data_loc(ctx, layout::VICTIM_COMM, &mut r.comm).is_none() {
        r.comm[0] = 0;
        r.header.flags |= FLAG_COMM_UNREADABLE;
        count_partial(kind);
    }
    entry.submit(0);
}
