//! Typed values of cgroup control files: memory limits (`max`, v1's "unlimited" sentinel),
//! `max`-or-number files (`pids.max`), and CPU bandwidth (`cpu.max`, `cpu.cfs_quota_us`).

use serde::{Deserialize, Serialize};

use super::error::ParseError;

/// What cgroup v1 prints for an unlimited memory limit with 4 KiB pages: 9223372036854771712.
///
/// The kernel keeps limits in pages; "unlimited" is `PAGE_COUNTER_MAX = LONG_MAX / PAGE_SIZE`
/// pages, printed in bytes, so the sentinel is `LONG_MAX` rounded down to the page size
/// (9223372036854710272 with 64 KiB pages). Writing `-1` stores it; reading never shows `-1`.
pub const V1_UNLIMITED_4K: u64 = v1_unlimited_for_page_size(4096);

/// The v1 "unlimited" sentinel for a page size: `LONG_MAX` rounded down to `page_size`.
pub const fn v1_unlimited_for_page_size(page_size: u64) -> u64 {
    (i64::MAX as u64 / page_size) * page_size
}

/// Any byte value at or above this is read as unlimited: `LONG_MAX` rounded down to 256 KiB,
/// the largest page size Linux supports, so the sentinel of every 64-bit host qualifies
/// whatever host the fixture came from. No real limit lies within 256 KiB of 8 EiB.
/// (On 32-bit kernels `PAGE_COUNTER_MAX` is `LONG_MAX` pages; those hosts are not supported.)
pub const V1_UNLIMITED_THRESHOLD: u64 = v1_unlimited_for_page_size(256 * 1024);

/// A memory limit: unlimited or a number of bytes. A file that cannot be read or parsed is an
/// error ([`super::CgroupError`]), never `Unlimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    Unlimited,
    Bytes(u64),
}

impl Limit {
    /// Parses a v2 (`max` or bytes) or v1 (bytes, sentinel = unlimited) memory limit file such
    /// as `memory.max`, `memory.high`, `memory.limit_in_bytes`, `memory.soft_limit_in_bytes`.
    /// `-1` (what one writes to v1 for "unlimited") is accepted as unlimited too.
    pub fn parse(text: &str) -> Result<Limit, ParseError> {
        let value = single_token(text)?;
        match value {
            "max" | "-1" => Ok(Limit::Unlimited),
            _ => {
                let bytes = parse_u64(value)?;
                Ok(if bytes >= V1_UNLIMITED_THRESHOLD {
                    Limit::Unlimited
                } else {
                    Limit::Bytes(bytes)
                })
            }
        }
    }

    /// The byte count, `None` when unlimited.
    pub fn bytes(self) -> Option<u64> {
        match self {
            Limit::Bytes(b) => Some(b),
            Limit::Unlimited => None,
        }
    }

    pub fn is_unlimited(self) -> bool {
        self == Limit::Unlimited
    }
}

/// A `max`-or-number value that is not bytes: `pids.max`, the quota of `cpu.max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxValue {
    Unlimited,
    Value(u64),
}

impl MaxValue {
    /// Parses `max` or a non-negative number (`pids.max`).
    pub fn parse(text: &str) -> Result<MaxValue, ParseError> {
        let value = single_token(text)?;
        if value == "max" {
            Ok(MaxValue::Unlimited)
        } else {
            parse_u64(value).map(MaxValue::Value)
        }
    }

    /// The number, `None` when unlimited.
    pub fn value(self) -> Option<u64> {
        match self {
            MaxValue::Value(v) => Some(v),
            MaxValue::Unlimited => None,
        }
    }
}

/// CPU bandwidth: `quota_us` of CPU time per `period_us` (v2 `cpu.max`, v1
/// `cpu.cfs_quota_us` + `cpu.cfs_period_us`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CpuMax {
    pub quota_us: MaxValue,
    pub period_us: u64,
}

impl CpuMax {
    /// Parses v2 `cpu.max`: `max 100000` or `50000 100000`.
    pub fn parse_v2(text: &str) -> Result<CpuMax, ParseError> {
        let mut tokens = text.split_ascii_whitespace();
        let quota = tokens.next().ok_or(ParseError::Empty)?;
        let period = tokens
            .next()
            .ok_or_else(|| ParseError::malformed(1, "expected \"<quota> <period>\"", text))?;
        if tokens.next().is_some() {
            return Err(ParseError::malformed(1, "trailing fields", text));
        }
        let quota_us = match quota {
            "max" => MaxValue::Unlimited,
            _ => MaxValue::Value(parse_u64(quota)?),
        };
        Ok(CpuMax {
            quota_us,
            period_us: parse_u64(period)?,
        })
    }

    /// Combines v1 `cpu.cfs_quota_us` (`-1` = unlimited) and `cpu.cfs_period_us`.
    pub fn from_v1(quota_text: &str, period_text: &str) -> Result<CpuMax, ParseError> {
        Ok(CpuMax {
            quota_us: parse_cfs_quota(quota_text)?,
            period_us: parse_u64(period_text)?,
        })
    }

    /// The limit in CPUs (`quota / period`), `None` when unlimited or the period is 0.
    pub fn cpus(self) -> Option<f64> {
        match self.quota_us {
            MaxValue::Value(q) if self.period_us > 0 => Some(q as f64 / self.period_us as f64),
            _ => None,
        }
    }
}

/// Parses v1 `cpu.cfs_quota_us`: `-1` is unlimited, other negative values are invalid.
pub fn parse_cfs_quota(text: &str) -> Result<MaxValue, ParseError> {
    let value = single_token(text)?;
    let quota: i64 = value.parse().map_err(|_| ParseError::number(value))?;
    match quota {
        -1 => Ok(MaxValue::Unlimited),
        q if q < 0 => Err(ParseError::number(value)),
        q => Ok(MaxValue::Value(q.unsigned_abs())),
    }
}

/// Parses a file holding one unsigned number (`memory.current`, `cpu.shares`, `cpu.weight`).
pub fn parse_u64(text: &str) -> Result<u64, ParseError> {
    let value = single_token(text)?;
    value.parse().map_err(|_| ParseError::number(value))
}

/// The one whitespace-separated token of a single-value file.
fn single_token(text: &str) -> Result<&str, ParseError> {
    let mut tokens = text.split_ascii_whitespace();
    let first = tokens.next().ok_or(ParseError::Empty)?;
    if tokens.next().is_some() {
        return Err(ParseError::malformed(1, "expected a single value", text));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_is_long_max_rounded_down_to_the_page() {
        assert_eq!(V1_UNLIMITED_4K, 9_223_372_036_854_771_712);
        assert_eq!(v1_unlimited_for_page_size(65536), 9_223_372_036_854_710_272);
        assert_eq!(V1_UNLIMITED_THRESHOLD, 9_223_372_036_854_513_664);
    }

    #[test]
    fn memory_limits() {
        assert_eq!(Limit::parse("max\n"), Ok(Limit::Unlimited));
        assert_eq!(Limit::parse("9223372036854771712\n"), Ok(Limit::Unlimited));
        assert_eq!(Limit::parse("9223372036854710272"), Ok(Limit::Unlimited));
        assert_eq!(Limit::parse("18446744073709551615"), Ok(Limit::Unlimited));
        assert_eq!(Limit::parse("-1"), Ok(Limit::Unlimited));
        assert_eq!(Limit::parse("536870912\n"), Ok(Limit::Bytes(536_870_912)));
        assert_eq!(Limit::parse("0"), Ok(Limit::Bytes(0)));
        assert_eq!(Limit::parse(""), Err(ParseError::Empty));
        assert!(Limit::parse("12ab").is_err());
        assert!(Limit::parse("-2").is_err());
        assert!(Limit::parse("1 2").is_err());
        assert!(Limit::parse("18446744073709551616").is_err());
        assert_eq!(Limit::Bytes(5).bytes(), Some(5));
        assert_eq!(Limit::Unlimited.bytes(), None);
    }

    #[test]
    fn cpu_max() {
        assert_eq!(
            CpuMax::parse_v2("max 100000\n"),
            Ok(CpuMax {
                quota_us: MaxValue::Unlimited,
                period_us: 100_000
            })
        );
        let half = CpuMax::parse_v2("50000 100000\n").expect("valid");
        assert_eq!(half.quota_us, MaxValue::Value(50_000));
        assert_eq!(half.cpus(), Some(0.5));
        assert!(CpuMax::parse_v2("max").is_err());
        assert!(CpuMax::parse_v2("").is_err());
        assert!(CpuMax::parse_v2("1 2 3").is_err());
        assert!(CpuMax::parse_v2("-1 100000").is_err());
        let v1 = CpuMax::from_v1("-1\n", "100000\n").expect("valid");
        assert_eq!(v1.quota_us, MaxValue::Unlimited);
        assert_eq!(v1.cpus(), None);
        assert_eq!(
            CpuMax::from_v1("150000", "100000").map(CpuMax::cpus),
            Ok(Some(1.5))
        );
        assert!(parse_cfs_quota("-5").is_err());
    }

    #[test]
    fn max_values() {
        assert_eq!(MaxValue::parse("max\n"), Ok(MaxValue::Unlimited));
        assert_eq!(MaxValue::parse("4096\n"), Ok(MaxValue::Value(4096)));
        assert!(MaxValue::parse("lots").is_err());
    }

    #[test]
    fn serializes_readably() {
        let json = serde_json::to_string(&[Limit::Unlimited, Limit::Bytes(7)]).expect("json");
        assert_eq!(json, r#"["unlimited",{"bytes":7}]"#);
    }
}
