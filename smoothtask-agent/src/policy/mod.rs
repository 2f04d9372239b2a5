//! Pure policy decisions: classify containers, track pressure with hysteresis, and turn
//! [`Signal`]s into desired cgroup values ([`Action`]s). No I/O: the actuator applies them.
//!
//! # Model
//!
//! * **Classes.** A container is classified once, when it is added, into the first
//!   `policy.classes` entry whose selectors match it ([`classify`]); a container no class matches
//!   gets no state and is never touched.
//! * **Episodes.** Pressure signals *enter* (or refresh) an episode: any enter signal refreshes
//!   the *cpu* episode, memory signals (reclaim stalls, memory PSI, a memory limit near) also the
//!   *memory* episode. Enter thresholds: a reclaim stall of at least
//!   `pressure.reclaim_stall_threshold`, any PSI trigger, a usage/limit ratio of at least
//!   `pressure.memory_limit_near_ratio`, throttled/periods of at least
//!   `pressure.cpu_throttled_ratio`. A usage ratio between `memory_limit_exit_ratio` and the near
//!   ratio only keeps an episode that is already running alive (hysteresis); below the exit ratio
//!   it does nothing. An episode ends (*relief*) at the first signal, typically a
//!   [`Signal::Tick`], `policy.dwell` after its last refresh.
//! * **Reactions.** While the cpu episode runs, latency-critical and normal classes want their
//!   class's upper cpu.weight bound and batch classes their lower bound. While the memory episode
//!   runs and `policy.memory_protection` is on, latency-critical classes want memory.min (if
//!   configured, v2) and memory.low (v2) or memory.soft_limit_in_bytes (v1) set to the class's
//!   `memory_low_bytes`, else to the usage last seen (frozen for the episode); normal classes only
//!   get protection their class configures explicitly. A batch container a memory signal was
//!   attributed to (an *offender*) wants memory.high = its class's `memory_high_bytes` (v2 only).
//!   Without an episode every knob wants its baseline: the original value given when the
//!   container was added, else the kernel default (the bounds limit what the policy chooses,
//!   not what relaxing restores).
//! * **Safety.** cpu.weight targets chosen under pressure always lie within the class bounds
//!   intersected with `policy.cpu_weight_range`; relief returns to the original. A knob never reverses direction (raise then lower, or lower then
//!   raise) less than `policy.dwell` after its previous change, and a container gets at most
//!   `policy.max_actions_per_min` actions in any 60 s window. Deferred changes are retried at the
//!   next signal. Knobs the engine never changed are never "relaxed".
//! * **Determinism.** State lives in ordered maps; the same inputs at the same times give the
//!   same actions, ordered by priority (latency-critical first), then container key, then knob.

mod action;
mod actuator;
mod classes;
mod decide;
pub mod journal;
mod reconcile;
pub mod recovery;
pub mod runner;
mod signal;
mod state;
mod targets;
#[cfg(test)]
mod tests;

pub use action::{Action, Direction, Knob, UNLIMITED};
pub use actuator::{Actuator, Applied, Target, check_write_access};
pub use classes::{
    Baseline, ContainerFacts, MemoryVersion, classify, container_key, selector_matches,
};
pub use decide::{PolicyEngine, decide};
pub use signal::{Input, Resource, Signal};
pub use state::{ContainerState, Episode, KnobState, PolicyState, Settings};

/// v1 `cpu.shares` for a v2 `cpu.weight`, the way the kernel converts it (the actuator writes
/// this on cgroup v1). The same function as [`crate::cgroup::kernel_weight_to_shares`].
pub fn weight_to_v1_shares(weight: u64) -> u64 {
    crate::cgroup::kernel_weight_to_shares(weight)
}
