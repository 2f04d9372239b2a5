//! The decision function: state + input + time -> next state + actions. No I/O, no clock.

use crate::{
    event::ContainerRef,
    policy::{
        Action, ContainerState, Episode, Input, PolicyState, Resource, Settings, Signal, classify,
        container_key, reconcile::reconcile,
    },
};

/// The pure form: the next state and the actions for `input` at `now_ns` (monotonic).
pub fn decide(
    settings: &Settings,
    state: &PolicyState,
    input: &Input,
    now_ns: u64,
) -> (PolicyState, Vec<Action>) {
    let mut next = state.clone();
    let actions = step(settings, &mut next, input, now_ns);
    (next, actions)
}

/// The engine with its state, fed one input at a time.
#[derive(Clone, Debug)]
pub struct PolicyEngine {
    settings: Settings,
    state: PolicyState,
}

impl PolicyEngine {
    pub fn new(settings: Settings) -> PolicyEngine {
        PolicyEngine {
            settings,
            state: PolicyState::default(),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn state(&self) -> &PolicyState {
        &self.state
    }

    /// The actions `input` calls for at `now_ns`; updates the state in place.
    pub fn on_input(&mut self, input: &Input, now_ns: u64) -> Vec<Action> {
        step(&self.settings, &mut self.state, input, now_ns)
    }
}

fn step(settings: &Settings, state: &mut PolicyState, input: &Input, now: u64) -> Vec<Action> {
    expire(settings, state, now);
    let id = input.event_id;
    match &input.signal {
        Signal::ContainerAdded(facts) => {
            let key = facts.key();
            if let Some(c) = state.containers.get_mut(&key) {
                c.facts = (**facts).clone();
            } else if let Some(class) = classify(&settings.policy.classes, facts) {
                let c = ContainerState {
                    facts: (**facts).clone(),
                    class,
                    knobs: Default::default(),
                    recent: Default::default(),
                    frozen_low: None,
                };
                state.containers.insert(key, c);
            }
        }
        Signal::ContainerRemoved { key } => {
            state.containers.remove(key);
            state.offenders.remove(key);
        }
        Signal::ReclaimStall {
            container,
            duration_ns,
        } => {
            if *duration_ns >= settings.reclaim_stall_ns {
                let why = format!("reclaim stall of {} us", duration_ns / 1000);
                enter(state, true, container.as_ref(), id, why, now);
            }
        }
        Signal::Psi {
            container,
            resource,
        } => {
            let scope = container.as_ref().map_or("system".into(), container_key);
            let why = format!("{} PSI threshold ({scope})", resource.as_str());
            let memory = *resource == Resource::Memory;
            enter(state, memory, container.as_ref(), id, why, now);
        }
        Signal::MemoryLimit {
            container,
            ratio,
            usage_bytes,
        } => {
            if let Some(c) = state.containers.get_mut(&container_key(container)) {
                c.facts.memory_usage_bytes = Some(*usage_bytes);
            }
            if *ratio >= settings.limit_near_ratio {
                let why = format!("memory usage at {:.0}% of the limit", ratio * 100.0);
                enter(state, true, Some(container), id, why, now);
            } else if *ratio >= settings.limit_exit_ratio {
                for episode in [&mut state.cpu, &mut state.memory].into_iter().flatten() {
                    episode.refreshed_ns = episode.refreshed_ns.max(now);
                }
            }
        }
        Signal::CpuThrottled {
            container,
            throttled_periods,
            periods,
        } => {
            let ratio = match *periods {
                0 => 1.0,
                p => *throttled_periods as f64 / p as f64,
            };
            if *throttled_periods > 0 && ratio >= settings.throttled_ratio {
                let why = format!("cpu throttled in {throttled_periods} periods");
                enter(state, false, Some(container), id, why, now);
            }
        }
        Signal::Tick => {}
    }
    reconcile(settings, state, now)
}

/// Ends episodes `dwell` after their last refresh (relief).
fn expire(settings: &Settings, state: &mut PolicyState, now: u64) {
    let dwell = settings.dwell_ns().max(1);
    let over = |e: &Option<Episode>| {
        e.as_ref()
            .is_some_and(|e| now.saturating_sub(e.refreshed_ns) >= dwell)
    };
    if over(&state.cpu) {
        state.cpu = None;
    }
    if over(&state.memory) {
        state.memory = None;
        state.offenders.clear();
        for c in state.containers.values_mut() {
            c.frozen_low = None;
        }
    }
}

fn enter(
    state: &mut PolicyState,
    memory: bool,
    container: Option<&ContainerRef>,
    event_id: Option<u64>,
    cause: String,
    now: u64,
) {
    let refresh = |slot: &mut Option<Episode>| {
        let e = slot.get_or_insert_with(|| Episode {
            started_ns: now,
            refreshed_ns: now,
            cause_event_id: event_id,
            cause: cause.clone(),
        });
        e.refreshed_ns = e.refreshed_ns.max(now);
        e.cause_event_id = event_id;
        e.cause.clone_from(&cause);
    };
    refresh(&mut state.cpu);
    if memory {
        refresh(&mut state.memory);
        if let Some(c) = container {
            state.offenders.insert(container_key(c));
        }
    }
}
