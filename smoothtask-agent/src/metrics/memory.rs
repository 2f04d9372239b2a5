//! Memory figures of one pass: usage, peak, limits (max/high/low/min/soft), swap, OOM kills.

use super::{
    reader::{Pass, Slot},
    types::MemoryMetrics,
};
use crate::cgroup::{Limit, flat_value, parse_u64};

pub(super) fn collect(pass: &mut Pass<'_>) -> MemoryMetrics {
    let usage_v2 = pass.value(Slot::MemoryCurrent, parse_u64);
    let usage_v1 = pass.value(Slot::V1MemoryUsage, parse_u64);
    let peak_v2 = pass.value(Slot::MemoryPeak, parse_u64);
    let peak_v1 = pass.value(Slot::V1MemoryMaxUsage, parse_u64);
    let limit_v2 = pass.reading(Slot::MemoryMax, Limit::parse);
    let limit_v1 = pass.reading(Slot::V1MemoryLimit, Limit::parse);
    let swap_v2 = pass.value(Slot::MemorySwapCurrent, parse_u64);
    let memsw_usage = pass.value(Slot::V1MemswUsage, parse_u64);
    let oom_v2 = pass.value(Slot::MemoryEvents, |t| flat_value(t, "oom_kill"));
    let oom_v1 = pass.value(Slot::V1OomControl, |t| flat_value(t, "oom_kill"));
    MemoryMetrics {
        usage_bytes: usage_v2.or(usage_v1),
        peak_bytes: peak_v2.or(peak_v1),
        limit: limit_v2.or(limit_v1),
        high: pass.reading(Slot::MemoryHigh, Limit::parse),
        low: pass.reading(Slot::MemoryLow, Limit::parse),
        min: pass.reading(Slot::MemoryMin, Limit::parse),
        soft_limit: pass.reading(Slot::V1MemorySoftLimit, Limit::parse),
        swap_limit: pass.reading(Slot::MemorySwapMax, Limit::parse),
        memory_and_swap_limit: pass.reading(Slot::V1MemswLimit, Limit::parse),
        swap_usage_bytes: swap_v2.or_else(|| Some(memsw_usage?.saturating_sub(usage_v1?))),
        oom_kills: oom_v2.or(oom_v1).flatten(),
    }
}
