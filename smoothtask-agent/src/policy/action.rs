//! What the engine decides: one desired value for one cgroup knob of one container.

use serde::Serialize;

use crate::event::ContainerRef;

/// "No limit" for memory.high (`max`) and v1 memory.soft_limit_in_bytes (unlimited): the
/// actuator renders it as the hierarchy spells it.
pub const UNLIMITED: u64 = u64::MAX;

/// A control the engine sets. Values are cgroup v2 units: cpu.weight 1..=10000 (the actuator
/// converts to v1 cpu.shares with [`super::weight_to_v1_shares`]), memory in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Knob {
    /// v2 `cpu.weight` (v1 `cpu.shares`, converted).
    CpuWeight,
    /// v2 `memory.min`.
    MemoryMin,
    /// v2 `memory.low`.
    MemoryLow,
    /// v1 `memory.soft_limit_in_bytes`.
    MemorySoftLimit,
    /// v2 `memory.high`.
    MemoryHigh,
}

impl Knob {
    /// The knobs in the order actions for one container are emitted.
    pub const ALL: [Knob; 5] = [
        Knob::CpuWeight,
        Knob::MemoryMin,
        Knob::MemoryLow,
        Knob::MemorySoftLimit,
        Knob::MemoryHigh,
    ];

    /// The control file on its hierarchy (`cpu.weight` also stands for v1 `cpu.shares`).
    pub fn file(self) -> &'static str {
        match self {
            Knob::CpuWeight => "cpu.weight",
            Knob::MemoryMin => "memory.min",
            Knob::MemoryLow => "memory.low",
            Knob::MemorySoftLimit => "memory.soft_limit_in_bytes",
            Knob::MemoryHigh => "memory.high",
        }
    }

    /// The kernel's value for a new cgroup.
    pub fn kernel_default(self) -> u64 {
        match self {
            Knob::CpuWeight => crate::cgroup::CPU_WEIGHT_DEFAULT,
            Knob::MemoryMin | Knob::MemoryLow => 0,
            Knob::MemorySoftLimit | Knob::MemoryHigh => UNLIMITED,
        }
    }
}

/// Which way a change moved a knob's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    /// The direction from `from` to `to`, `None` when equal.
    pub fn of(from: u64, to: u64) -> Option<Direction> {
        match to.cmp(&from) {
            std::cmp::Ordering::Greater => Some(Direction::Up),
            std::cmp::Ordering::Less => Some(Direction::Down),
            std::cmp::Ordering::Equal => None,
        }
    }
}

/// One desired change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Action {
    /// `<runtime>/<id>`, the inventory's key.
    pub key: String,
    pub container: ContainerRef,
    /// The class that selected the container.
    pub class: String,
    pub knob: Knob,
    /// The value the engine last set, else the original given at discovery, else unknown.
    pub from: Option<u64>,
    pub to: u64,
    pub reason: String,
    /// The event that caused the change (none for relief on a tick).
    pub cause_event_id: Option<u64>,
}
