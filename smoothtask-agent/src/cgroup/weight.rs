//! CPU weight (v2 `cpu.weight`, 1..=10000, default 100) and shares (v1 `cpu.shares`,
//! 2..=262144, default 1024): the conversions of the kernel, systemd and runc, exactly.

/// v1 `cpu.shares` bounds and default (kernel `MIN_SHARES`, `MAX_SHARES`).
pub const CPU_SHARES_MIN: u64 = 2;
pub const CPU_SHARES_MAX: u64 = 262_144;
pub const CPU_SHARES_DEFAULT: u64 = 1024;
/// v2 `cpu.weight` bounds and default (kernel `CGROUP_WEIGHT_MIN/DFL/MAX`).
pub const CPU_WEIGHT_MIN: u64 = 1;
pub const CPU_WEIGHT_MAX: u64 = 10_000;
pub const CPU_WEIGHT_DEFAULT: u64 = 100;

/// The kernel's `DIV_ROUND_CLOSEST_ULL` for unsigned values.
const fn div_round_closest(x: u64, d: u64) -> u64 {
    (x + d / 2) / d
}

/// What the kernel reports as `cpu.weight` for a group whose scheduler weight is `shares`
/// (`sched_weight_to_cgroup`): `clamp(round(shares * 100 / 1024), 1, 10000)`. This is the
/// scheduler's own view, so it is the right way to put v1 shares on the v2 scale.
pub fn kernel_shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(CPU_SHARES_MIN, CPU_SHARES_MAX);
    div_round_closest(shares * CPU_WEIGHT_DEFAULT, CPU_SHARES_DEFAULT)
        .clamp(CPU_WEIGHT_MIN, CPU_WEIGHT_MAX)
}

/// The scheduler weight the kernel sets when `cpu.weight` is written
/// (`sched_weight_from_cgroup`): `round(weight * 1024 / 100)`; weight clamped to 1..=10000.
pub fn kernel_weight_to_shares(weight: u64) -> u64 {
    let weight = weight.clamp(CPU_WEIGHT_MIN, CPU_WEIGHT_MAX);
    div_round_closest(weight * CPU_SHARES_DEFAULT, CPU_WEIGHT_DEFAULT)
}

/// systemd's `cgroup_cpu_shares_to_weight`: `clamp(shares * 100 / 1024, 1, 10000)` (truncating).
pub fn systemd_shares_to_weight(shares: u64) -> u64 {
    (shares.saturating_mul(CPU_WEIGHT_DEFAULT) / CPU_SHARES_DEFAULT)
        .clamp(CPU_WEIGHT_MIN, CPU_WEIGHT_MAX)
}

/// systemd's `cgroup_cpu_weight_to_shares`: `clamp(weight * 1024 / 100, 2, 262144)`.
pub fn systemd_weight_to_shares(weight: u64) -> u64 {
    (weight.saturating_mul(CPU_SHARES_DEFAULT) / CPU_WEIGHT_DEFAULT)
        .clamp(CPU_SHARES_MIN, CPU_SHARES_MAX)
}

/// The linear conversion of runc < 1.3.2, crun < 1.23 and older Kubernetes:
/// `1 + ((shares - 2) * 9999) / 262142`, 0 meaning unset. Docker's default 1024 shares become
/// weight 39 this way. Out-of-range shares are clamped first (runc itself would underflow).
pub fn runc_shares_to_weight_linear(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let shares = shares.clamp(CPU_SHARES_MIN, CPU_SHARES_MAX);
    1 + ((shares - 2) * 9999) / 262_142
}

/// The quadratic conversion of runc >= 1.3.2 / crun >= 1.23 (opencontainers/cgroups
/// `ConvertCPUSharesToCgroupV2Value`), which maps min, default and max onto each other
/// (2 -> 1, 1024 -> 100, 262144 -> 10000): with `l = log2(shares)`,
/// `weight = ceil(10^((l^2 + 125 l) / 612 - 7/34))`. 0 means unset.
pub fn runc_shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= CPU_SHARES_MIN {
        return CPU_WEIGHT_MIN;
    }
    if shares >= CPU_SHARES_MAX {
        return CPU_WEIGHT_MAX;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    // In range: exponent lies in (0, 4), so the result fits and the cast cannot saturate.
    10f64.powf(exponent).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_round_trips_and_defaults() {
        assert_eq!(kernel_shares_to_weight(1024), 100);
        assert_eq!(kernel_shares_to_weight(2), 1);
        assert_eq!(kernel_shares_to_weight(0), 1);
        assert_eq!(kernel_shares_to_weight(262_144), 10_000);
        assert_eq!(kernel_shares_to_weight(512), 50);
        assert_eq!(kernel_weight_to_shares(100), 1024);
        assert_eq!(kernel_weight_to_shares(1), 10);
        assert_eq!(kernel_weight_to_shares(10_000), 102_400);
        assert_eq!(kernel_weight_to_shares(39), 399);
        // The kernel's comment: round trips from weight preserve the value over the range.
        for w in CPU_WEIGHT_MIN..=CPU_WEIGHT_MAX {
            assert_eq!(kernel_shares_to_weight(kernel_weight_to_shares(w)), w);
        }
    }

    #[test]
    fn systemd_conversion() {
        assert_eq!(systemd_shares_to_weight(1024), 100);
        assert_eq!(systemd_shares_to_weight(2), 1);
        assert_eq!(systemd_shares_to_weight(1023), 99);
        assert_eq!(systemd_shares_to_weight(262_144), 10_000);
        assert_eq!(systemd_weight_to_shares(100), 1024);
        assert_eq!(systemd_weight_to_shares(1), 10);
        assert_eq!(systemd_weight_to_shares(10_000), 102_400);
        assert_eq!(systemd_weight_to_shares(0), 2);
    }

    #[test]
    fn runc_linear_conversion() {
        assert_eq!(runc_shares_to_weight_linear(0), 0);
        assert_eq!(runc_shares_to_weight_linear(2), 1);
        assert_eq!(runc_shares_to_weight_linear(1024), 39);
        assert_eq!(runc_shares_to_weight_linear(512), 20);
        assert_eq!(runc_shares_to_weight_linear(262_144), 10_000);
        assert_eq!(runc_shares_to_weight_linear(1), 1);
    }

    #[test]
    fn runc_quadratic_conversion_matches_opencontainers_tests() {
        // opencontainers/cgroups utils_test.go TestConvertCPUSharesToCgroupV2Value.
        for (shares, weight) in [
            (0, 0),
            (1, 1),
            (2, 1),
            (3, 2),
            (1024, 100),
            (262_143, 10_000),
            (262_144, 10_000),
            (262_145, 10_000),
        ] {
            assert_eq!(runc_shares_to_weight(shares), weight, "shares {shares}");
        }
        let mut last = 0;
        for shares in 2..=CPU_SHARES_MAX {
            let w = runc_shares_to_weight(shares);
            assert!(w >= last && (CPU_WEIGHT_MIN..=CPU_WEIGHT_MAX).contains(&w));
            last = w;
        }
    }
}
