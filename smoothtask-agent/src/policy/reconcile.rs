//! Reconciliation: moves each classified container's knobs toward what the episodes ask,
//! within the dwell time between reversals and the per-container rate limit.

use crate::{
    config::Priority,
    policy::{
        Action, ContainerState, Direction, Episode, Knob, KnobState, PolicyState, Settings,
        targets::{Pressure, Why, baseline, desired},
    },
};

/// The rate limit's window.
const MINUTE_NS: u64 = 60_000_000_000;

fn rank(p: Priority) -> u8 {
    match p {
        Priority::LatencyCritical => 0,
        Priority::Normal => 1,
        Priority::Batch => 2,
    }
}

/// Moves every classified container toward what the episodes ask, within dwell and rate limits.
pub(super) fn reconcile(settings: &Settings, state: &mut PolicyState, now: u64) -> Vec<Action> {
    let classes = &settings.policy.classes;
    let mut order: Vec<(u8, String)> = state
        .containers
        .iter()
        .map(|(k, c)| (rank(classes[c.class].priority), k.clone()))
        .collect();
    order.sort();
    let mut actions = Vec::new();
    for (_, key) in order {
        let pressure = Pressure {
            cpu: state.cpu.is_some(),
            memory: state.memory.is_some(),
            offender: state.offenders.contains(&key),
        };
        let Some(c) = state.containers.get_mut(&key) else {
            continue;
        };
        if pressure.memory && c.frozen_low.is_none() {
            c.frozen_low = c.facts.memory_usage_bytes;
        }
        let ctx = Ctx {
            settings,
            cpu: state.cpu.as_ref(),
            memory: state.memory.as_ref(),
            now,
        };
        ctx.container(&key, c, pressure, &mut actions);
    }
    actions
}

struct Ctx<'a> {
    settings: &'a Settings,
    cpu: Option<&'a Episode>,
    memory: Option<&'a Episode>,
    now: u64,
}

impl Ctx<'_> {
    fn container(&self, key: &str, c: &mut ContainerState, p: Pressure, out: &mut Vec<Action>) {
        let class = &self.settings.policy.classes[c.class];
        let dwell = self.settings.dwell_ns();
        let limit = self.settings.policy.max_actions_per_min as usize;
        while c
            .recent
            .front()
            .is_some_and(|t| self.now.saturating_sub(*t) >= MINUTE_NS)
        {
            c.recent.pop_front();
        }
        for (knob, to, why) in desired(self.settings, class, c, p) {
            let prev = c.knobs.get(&knob).copied();
            let original = original(c, knob);
            let from_value = match prev {
                Some(k) => k.value,
                None if to == baseline(c, knob) => continue,
                None => original.unwrap_or(knob.kernel_default()),
            };
            let Some(direction) = Direction::of(from_value, to) else {
                continue;
            };
            let reversal = prev.is_some_and(|k| k.direction != direction);
            if reversal && prev.is_some_and(|k| self.now.saturating_sub(k.changed_ns) < dwell) {
                continue;
            }
            if c.recent.len() >= limit {
                break;
            }
            c.recent.push_back(self.now);
            c.knobs.insert(
                knob,
                KnobState {
                    value: to,
                    direction,
                    changed_ns: self.now,
                },
            );
            let episode = if knob == Knob::CpuWeight {
                self.cpu
            } else {
                self.memory
            };
            let (cause_event_id, cause) = match (why, episode) {
                (Why::Relax, _) | (_, None) => (
                    None,
                    format!(
                        "no pressure for {dwell_s} s",
                        dwell_s = dwell / 1_000_000_000
                    ),
                ),
                (_, Some(e)) => (e.cause_event_id, e.cause.clone()),
            };
            out.push(Action {
                key: key.to_string(),
                container: c.facts.container.clone(),
                class: class.name.clone(),
                knob,
                from: prev.map(|k| k.value).or(original),
                to,
                reason: format!(
                    "{cause}: {} of {} class {} {}",
                    knob.file(),
                    class.priority.as_str(),
                    class.name,
                    why.describe()
                ),
                cause_event_id,
            });
        }
    }
}

fn original(c: &ContainerState, knob: Knob) -> Option<u64> {
    let b = &c.facts.baseline;
    match knob {
        Knob::CpuWeight => b.cpu_weight,
        Knob::MemoryMin => b.memory_min,
        Knob::MemoryLow => b.memory_low,
        Knob::MemorySoftLimit => b.memory_soft_limit,
        Knob::MemoryHigh => b.memory_high,
    }
}
