//! CPU figures of one pass: bandwidth limit, weight/shares, usage and throttling.

use super::{
    reader::{Pass, Slot},
    types::{CpuMetrics, Reading},
};
use crate::cgroup::{
    CpuMax, ParseError, flat_value, kernel_shares_to_weight, parse_cfs_quota, parse_u64,
};

/// The `cpu.stat` keys we use, in the file's own units.
#[derive(Default)]
struct CpuStat {
    usage: Option<u64>,
    user: Option<u64>,
    system: Option<u64>,
    nr_periods: Option<u64>,
    nr_throttled: Option<u64>,
    throttled: Option<u64>,
}

fn parse_v2_stat(text: &str) -> Result<CpuStat, ParseError> {
    Ok(CpuStat {
        usage: flat_value(text, "usage_usec")?,
        user: flat_value(text, "user_usec")?,
        system: flat_value(text, "system_usec")?,
        nr_periods: flat_value(text, "nr_periods")?,
        nr_throttled: flat_value(text, "nr_throttled")?,
        throttled: flat_value(text, "throttled_usec")?,
    })
}

fn parse_v1_stat(text: &str) -> Result<CpuStat, ParseError> {
    Ok(CpuStat {
        nr_periods: flat_value(text, "nr_periods")?,
        nr_throttled: flat_value(text, "nr_throttled")?,
        throttled: flat_value(text, "throttled_time")?,
        ..CpuStat::default()
    })
}

fn us_to_ns(us: Option<u64>) -> Option<u64> {
    us.map(|v| v.saturating_mul(1000))
}

/// v1 bandwidth from two files; `None` unless both exist.
fn v1_max(pass: &mut Pass<'_>) -> Option<Reading<CpuMax>> {
    let quota = pass.read(Slot::V1CfsQuota, parse_cfs_quota)?;
    let period = pass.read(Slot::V1CfsPeriod, parse_u64)?;
    Some(match (quota, period) {
        (Ok(quota_us), Ok(period_us)) => Reading::Value(CpuMax {
            quota_us,
            period_us,
        }),
        (Err(unreadable), _) | (_, Err(unreadable)) => Reading::Unreadable { unreadable },
    })
}

pub(super) fn collect(pass: &mut Pass<'_>) -> CpuMetrics {
    let max_v2 = pass.reading(Slot::CpuMax, CpuMax::parse_v2);
    let max = max_v2.or_else(|| v1_max(pass));
    let weight = pass.value(Slot::CpuWeight, parse_u64);
    let shares = pass.value(Slot::V1CpuShares, parse_u64);
    let v2 = pass.value(Slot::CpuStat, parse_v2_stat).unwrap_or_default();
    let v1 = pass
        .value(Slot::V1CpuStat, parse_v1_stat)
        .unwrap_or_default();
    let cpuacct_usage = pass.value(Slot::V1CpuacctUsage, parse_u64);
    CpuMetrics {
        max,
        weight,
        shares,
        normalized_weight: weight.or(shares.map(kernel_shares_to_weight)),
        usage_ns: cpuacct_usage.or(us_to_ns(v2.usage)),
        user_ns: us_to_ns(v2.user),
        system_ns: us_to_ns(v2.system),
        nr_periods: v2.nr_periods.or(v1.nr_periods),
        nr_throttled: v2.nr_throttled.or(v1.nr_throttled),
        throttled_ns: us_to_ns(v2.throttled).or(v1.throttled),
    }
}
