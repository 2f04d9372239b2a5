//! PSI triggers: the kernel wakes the agent when a resource's stall time crosses a threshold
//! within a window, system-wide (`/proc/pressure/{memory,cpu,io}`) and per cgroup
//! (`<cgroup v2 dir>/<resource>.pressure`). No polling loop: each trigger is an fd the kernel
//! marks with POLLPRI.
//!
//! Without CAP_SYS_RESOURCE the kernel accepts only windows that are multiples of 2 s: the
//! window is rounded up and the agent says so once.

mod trigger;
mod watcher;

use std::time::Duration;

use serde::Serialize;

pub use trigger::{Fired, Trigger, TriggerError};
pub use watcher::{PressureOptions, PressureWatcher};

/// A PSI resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    Memory,
    Cpu,
    Io,
}

impl Resource {
    pub const ALL: [Resource; 3] = [Resource::Memory, Resource::Cpu, Resource::Io];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Memory => "memory",
            Resource::Cpu => "cpu",
            Resource::Io => "io",
        }
    }
}

/// `some`: at least one task stalled; `full`: all non-idle tasks stalled at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StallKind {
    Some,
    Full,
}

impl StallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StallKind::Some => "some",
            StallKind::Full => "full",
        }
    }
}

/// A trigger: fire when tasks stalled at least `stall` within `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TriggerSpec {
    pub kind: StallKind,
    pub stall: Duration,
    pub window: Duration,
}

/// The kernel's bounds on trigger windows.
const MIN_WINDOW: Duration = Duration::from_millis(500);
const MAX_WINDOW: Duration = Duration::from_secs(10);
/// Without CAP_SYS_RESOURCE, windows must be multiples of this.
pub const UNPRIVILEGED_WINDOW_STEP: Duration = Duration::from_secs(2);

impl TriggerSpec {
    /// The spec the kernel will accept: window clamped to its bounds, rounded up to a 2 s
    /// multiple when `privileged` is false, and stall no longer than the window. Returns the
    /// adjusted spec and whether the window had to be rounded for lack of privilege.
    pub fn accepted(self, privileged: bool) -> (TriggerSpec, bool) {
        let mut window = self.window.clamp(MIN_WINDOW, MAX_WINDOW);
        let mut rounded = false;
        if !privileged {
            let step = UNPRIVILEGED_WINDOW_STEP.as_micros();
            let us = window.as_micros();
            let up = us.div_ceil(step) * step;
            if up != us {
                rounded = true;
            }
            window = Duration::from_micros(u64::try_from(up).unwrap_or(u64::MAX)).min(MAX_WINDOW);
        }
        let stall = self.stall.min(window).max(Duration::from_micros(1));
        (
            TriggerSpec {
                kind: self.kind,
                stall,
                window,
            },
            rounded,
        )
    }

    /// The line written to the pressure file: `some 150000 2000000`.
    pub fn line(&self) -> String {
        format!(
            "{} {} {}",
            self.kind.as_str(),
            self.stall.as_micros(),
            self.window.as_micros()
        )
    }
}

/// True when this process has CAP_SYS_RESOURCE (any PSI window is then accepted).
pub fn has_cap_sys_resource() -> bool {
    const CAP_SYS_RESOURCE: u32 = 24;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_SYS_RESOURCE) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(stall_ms: u64, window_ms: u64) -> TriggerSpec {
        TriggerSpec {
            kind: StallKind::Some,
            stall: Duration::from_millis(stall_ms),
            window: Duration::from_millis(window_ms),
        }
    }

    #[test]
    fn unprivileged_windows_round_up_to_two_seconds() {
        let (s, rounded) = spec(150, 1000).accepted(false);
        assert_eq!(s.window, Duration::from_secs(2));
        assert!(rounded);
        assert_eq!(s.line(), "some 150000 2000000");
        let (s, rounded) = spec(150, 4000).accepted(false);
        assert_eq!(s.window, Duration::from_secs(4));
        assert!(!rounded);
        let (s, _) = spec(150, 9500).accepted(false);
        assert_eq!(
            s.window,
            Duration::from_secs(10),
            "never past the kernel's maximum"
        );
    }

    #[test]
    fn privileged_windows_are_only_clamped() {
        let (s, rounded) = spec(50, 1000).accepted(true);
        assert_eq!((s.window, rounded), (Duration::from_secs(1), false));
        let (s, _) = spec(50, 100).accepted(true);
        assert_eq!(s.window, Duration::from_millis(500));
        let (s, _) = spec(5000, 60_000).accepted(true);
        assert_eq!(
            (s.stall, s.window),
            (Duration::from_secs(5), Duration::from_secs(10))
        );
    }

    #[test]
    fn stall_never_exceeds_the_window() {
        let (s, _) = spec(3000, 2000).accepted(false);
        assert_eq!(s.stall, Duration::from_secs(2));
    }
}
