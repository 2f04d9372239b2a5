//! Kernel timestamps (CLOCK_MONOTONIC, what `bpf_ktime_get_ns` returns) and wall-clock time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and a valid out pointer.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// CLOCK_MONOTONIC now, in nanoseconds: the clock of kernel record timestamps.
pub fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// Maps monotonic timestamps to wall-clock time with one offset taken when it is created.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    /// Realtime minus monotonic, in nanoseconds, at creation.
    offset_ns: u64,
}

impl WallClock {
    pub fn new() -> Self {
        let real = clock_ns(libc::CLOCK_REALTIME);
        Self {
            offset_ns: real.saturating_sub(monotonic_ns()),
        }
    }

    /// The wall-clock time of a monotonic timestamp.
    pub fn to_system_time(&self, monotonic_ns: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(monotonic_ns.saturating_add(self.offset_ns))
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_now_maps_to_wall_clock_now() {
        let clock = WallClock::new();
        let mapped = clock.to_system_time(monotonic_ns());
        let drift = SystemTime::now()
            .duration_since(mapped)
            .unwrap_or_else(|e| e.duration());
        assert!(drift < Duration::from_secs(1), "drift {drift:?}");
    }
}
