//! The engine's settings (from the configuration) and its state: pressure episodes and, per
//! classified container, the values it set and when.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::{
    config::{ClassConfig, Config, PolicyConfig, PressureConfig, WeightRange},
    policy::{ContainerFacts, Direction, Knob},
};

/// What the engine reads from the configuration, validated once.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub policy: PolicyConfig,
    /// Enter: a reclaim stall at least this long.
    pub reclaim_stall_ns: u64,
    /// Enter: usage / limit at least this.
    pub limit_near_ratio: f64,
    /// Stay: usage / limit at least this keeps a running episode alive.
    pub limit_exit_ratio: f64,
    /// Enter: throttled / periods at least this.
    pub throttled_ratio: f64,
}

impl Settings {
    pub fn new(policy: &PolicyConfig, pressure: &PressureConfig) -> Settings {
        Settings {
            policy: policy.clone(),
            reclaim_stall_ns: duration_ns(pressure.reclaim_stall_threshold),
            limit_near_ratio: pressure.memory_limit_near_ratio,
            limit_exit_ratio: pressure.memory_limit_exit_ratio,
            throttled_ratio: pressure.cpu_throttled_ratio,
        }
    }

    pub fn from_config(config: &Config) -> Settings {
        Settings::new(&config.policy, &config.pressure)
    }

    /// What a running agent's engine takes from `config`, adapted to where the agent runs. Keys
    /// the engine does not read (the mode, watched on its own handle; the journal path, fixed
    /// at startup) keep their defaults, so configurations that differ only there are equal.
    pub fn for_agent(config: &Config, adaptation: &crate::detect::Adaptation) -> Settings {
        let mut settings = Settings::from_config(config).adapted(adaptation);
        let defaults = Config::default().policy;
        settings.policy.mode = defaults.mode;
        settings.policy.journal_path = defaults.journal_path;
        settings
    }

    /// The settings for where the agent runs: a containerized agent whose adaptation asks for
    /// conservative bounds keeps cpu.weight within [`CONSERVATIVE_WEIGHTS`] (intersected with
    /// the configured range) and takes at most half as many actions per minute.
    pub fn adapted(mut self, adaptation: &crate::detect::Adaptation) -> Settings {
        if adaptation.conservative_bounds {
            let range = &mut self.policy.cpu_weight_range;
            let (min, max) = CONSERVATIVE_WEIGHTS;
            let narrowed = WeightRange {
                min: range.min.max(min),
                max: range.max.min(max),
            };
            if narrowed.min <= narrowed.max {
                *range = narrowed;
            }
            self.policy.max_actions_per_min = (self.policy.max_actions_per_min / 2).max(1);
            tracing::info!(
                target: "policy",
                "conservative policy bounds ({}): cpu.weight within [{}, {}], at most {} actions per container per minute",
                adaptation.reasons.join("; "),
                self.policy.cpu_weight_range.min,
                self.policy.cpu_weight_range.max,
                self.policy.max_actions_per_min
            );
        }
        self
    }

    pub fn dwell_ns(&self) -> u64 {
        duration_ns(self.policy.dwell)
    }

    /// A class's cpu.weight bounds within the global range (the class's lower bound, clamped,
    /// when the two do not overlap).
    pub fn weight_bounds(&self, class: &ClassConfig) -> WeightRange {
        let global = self.policy.cpu_weight_range;
        let min = global.clamp(class.cpu_weight.min);
        let max = global.clamp(class.cpu_weight.max).max(min);
        WeightRange { min, max }
    }
}

/// cpu.weight bounds a containerized agent with conservative bounds keeps to (around the
/// kernel default of 100).
pub const CONSERVATIVE_WEIGHTS: (u32, u32) = (50, 200);

pub(super) fn duration_ns(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A run of pressure: its first and latest enter signals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Episode {
    pub started_ns: u64,
    /// The latest enter (or stay) signal; relief comes `dwell` after it.
    pub refreshed_ns: u64,
    /// The event that entered or last refreshed the episode.
    pub cause_event_id: Option<u64>,
    /// Why, for the actions' reasons.
    pub cause: String,
}

/// What the engine set on one knob, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnobState {
    pub value: u64,
    pub direction: Direction,
    pub changed_ns: u64,
}

/// A classified container.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerState {
    pub facts: ContainerFacts,
    /// Index into `policy.classes`.
    pub class: usize,
    pub knobs: BTreeMap<Knob, KnobState>,
    /// Times of the actions in the last minute (the rate limit).
    pub recent: VecDeque<u64>,
    /// memory.low / soft limit from usage, fixed for the memory episode.
    pub frozen_low: Option<u64>,
}

/// Everything the engine remembers between signals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyState {
    /// Classified containers by key; unclassified ones are not here.
    pub containers: BTreeMap<String, ContainerState>,
    /// Any pressure (drives cpu.weight).
    pub cpu: Option<Episode>,
    /// Memory pressure (drives memory protection and memory.high).
    pub memory: Option<Episode>,
    /// Containers memory pressure was attributed to in the current memory episode.
    pub offenders: BTreeSet<String>,
}
