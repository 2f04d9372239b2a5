//! Desired knob values for one container, given its class and the running episodes.

use crate::{
    config::{ClassConfig, Priority},
    policy::{ContainerState, Knob, MemoryVersion, Settings},
};

/// What the running episodes ask of a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Pressure {
    pub cpu: bool,
    pub memory: bool,
    /// Memory pressure was attributed to this container.
    pub offender: bool,
}

/// The value a knob returns to without pressure: the original given when the container was
/// added, else the kernel default. Relaxing puts back what was there, even outside the class
/// bounds: the bounds limit what the policy chooses, not what it restores.
pub(super) fn baseline(c: &ContainerState, knob: Knob) -> u64 {
    let b = &c.facts.baseline;
    let original = match knob {
        Knob::CpuWeight => b.cpu_weight,
        Knob::MemoryMin => b.memory_min,
        Knob::MemoryLow => b.memory_low,
        Knob::MemorySoftLimit => b.memory_soft_limit,
        Knob::MemoryHigh => b.memory_high,
    };
    original.unwrap_or(knob.kernel_default())
}

/// The protection (memory.low or v1 soft limit) to give under memory pressure, if any.
pub(super) fn protection(class: &ClassConfig, c: &ContainerState) -> Option<u64> {
    match class.priority {
        Priority::LatencyCritical => class
            .memory_low_bytes
            .or(c.frozen_low)
            .or(c.facts.memory_usage_bytes),
        Priority::Normal => class.memory_low_bytes,
        Priority::Batch => None,
    }
}

/// Why a knob has its desired value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Why {
    /// cpu.weight to the class's upper bound (protected classes).
    Raise,
    /// cpu.weight to the class's lower bound (batch).
    Lower,
    /// memory.min / memory.low / soft limit (protected classes).
    Protect,
    /// memory.high on a batch offender.
    Limit,
    /// Back to the baseline: no pressure.
    Relax,
}

impl Why {
    pub fn describe(self) -> &'static str {
        match self {
            Why::Raise => "raised to the class's upper bound",
            Why::Lower => "lowered to the class's lower bound",
            Why::Protect => "memory protection",
            Why::Limit => "memory.high on the offender",
            Why::Relax => "relaxed to the baseline",
        }
    }
}

/// The desired value of every knob that applies to the container (in [`Knob::ALL`] order).
pub(super) fn desired(
    settings: &Settings,
    class: &ClassConfig,
    c: &ContainerState,
    p: Pressure,
) -> Vec<(Knob, u64, Why)> {
    let v2 = c.facts.memory == MemoryVersion::V2;
    let bounds = settings.weight_bounds(class);
    let mut out = Vec::with_capacity(4);
    let weight = match (p.cpu, class.priority) {
        (false, _) => (baseline(c, Knob::CpuWeight), Why::Relax),
        (true, Priority::LatencyCritical | Priority::Normal) => (u64::from(bounds.max), Why::Raise),
        (true, Priority::Batch) => (u64::from(bounds.min), Why::Lower),
    };
    out.push((Knob::CpuWeight, weight.0, weight.1));
    let protect = p.memory && settings.policy.memory_protection;
    let mut memory = |knob: Knob, raised: Option<u64>, why: Why, applies: bool| {
        if applies {
            match raised {
                Some(value) => out.push((knob, value, why)),
                None => out.push((knob, baseline(c, knob), Why::Relax)),
            }
        }
    };
    let min = class
        .memory_min_bytes
        .filter(|_| protect && class.priority != Priority::Batch);
    memory(Knob::MemoryMin, min, Why::Protect, v2);
    let low = protection(class, c).filter(|_| protect);
    memory(Knob::MemoryLow, low, Why::Protect, v2);
    memory(Knob::MemorySoftLimit, low, Why::Protect, !v2);
    let high = class
        .memory_high_bytes
        .filter(|_| p.memory && p.offender && class.priority == Priority::Batch);
    memory(Knob::MemoryHigh, high, Why::Limit, v2);
    out
}
