//! Property tests over random settings and signal sequences: bounds, dwell, rate, determinism.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::fixtures::*;
use crate::{
    config::{Priority, WeightRange},
    policy::{
        Action, Baseline, ContainerFacts, Direction, Input, Knob, MemoryVersion, PolicyEngine,
        PolicyState, Resource, Settings, Signal, decide,
    },
};

/// Container names: `c<class>-<n>` match class `<class>`; `zz-*` match none.
const NAMES: [&str; 7] = ["c0-a", "c0-b", "c1-a", "c2-a", "c2-b", "zz-a", "zz-b"];

#[derive(Clone, Debug)]
enum Op {
    Add {
        who: usize,
        v1: bool,
        weight: Option<u64>,
        usage: Option<u64>,
    },
    Remove(usize),
    Stall(Option<usize>, u64),
    Psi(Option<usize>, u8),
    Limit(usize, f64, u64),
    Throttled(usize, u64, u64),
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..NAMES.len();
    prop_oneof![
        (
            who.clone(),
            any::<bool>(),
            proptest::option::of(1u64..=10_000),
            proptest::option::of(0u64..1 << 32)
        )
            .prop_map(|(who, v1, weight, usage)| Op::Add {
                who,
                v1,
                weight,
                usage
            }),
        who.clone().prop_map(Op::Remove),
        (proptest::option::of(who.clone()), 0u64..5_000_000).prop_map(|(w, d)| Op::Stall(w, d)),
        (proptest::option::of(who.clone()), 0u8..3).prop_map(|(w, r)| Op::Psi(w, r)),
        (who.clone(), 0.0f64..1.2, 0u64..1 << 32).prop_map(|(w, r, u)| Op::Limit(w, r, u)),
        (who, 0u64..20, 0u64..20).prop_map(|(w, t, p)| Op::Throttled(w, t, p)),
        Just(Op::Tick),
        Just(Op::Tick),
    ]
}

fn to_input(op: &Op, id: u64) -> Input {
    let name = |i: usize| cref(NAMES[i]);
    let signal = match op {
        Op::Add {
            who,
            v1,
            weight,
            usage,
        } => {
            let mut f = ContainerFacts::new(name(*who));
            f.memory = if *v1 {
                MemoryVersion::V1
            } else {
                MemoryVersion::V2
            };
            f.baseline = Baseline {
                cpu_weight: *weight,
                ..Baseline::default()
            };
            f.memory_usage_bytes = *usage;
            Signal::ContainerAdded(Box::new(f))
        }
        Op::Remove(who) => Signal::ContainerRemoved {
            key: key(NAMES[*who]),
        },
        Op::Stall(who, d) => Signal::ReclaimStall {
            container: who.map(name),
            duration_ns: *d,
        },
        Op::Psi(who, r) => Signal::Psi {
            container: who.map(name),
            resource: [Resource::Cpu, Resource::Memory, Resource::Io][*r as usize],
        },
        Op::Limit(who, ratio, usage) => Signal::MemoryLimit {
            container: name(*who),
            ratio: *ratio,
            usage_bytes: *usage,
        },
        Op::Throttled(who, t, p) => Signal::CpuThrottled {
            container: name(*who),
            throttled_periods: *t,
            periods: *p,
        },
        Op::Tick => Signal::Tick,
    };
    Input {
        event_id: Some(id),
        signal,
    }
}

type ClassSpec = (u8, u32, u32, Option<u64>, Option<u64>, Option<u64>);

fn settings_strategy() -> impl Strategy<Value = Settings> {
    let class = (
        0u8..3,
        0u32..=1000,
        0u32..=1000,
        proptest::option::of(0u64..1 << 30),
        proptest::option::of(0u64..1 << 30),
        proptest::option::of(0u64..1 << 30),
    );
    (
        1u32..=500,
        0u32..=3000,
        proptest::collection::vec(class, 3),
        0u64..=60,
        1u32..=8,
        any::<bool>(),
    )
        .prop_map(|(gmin, span, classes, dwell, rate, protect)| {
            build_settings(gmin, span, &classes, dwell, rate, protect)
        })
}

fn build_settings(
    gmin: u32,
    span: u32,
    classes: &[ClassSpec],
    dwell: u64,
    rate: u32,
    protect: bool,
) -> Settings {
    let mut s = settings();
    let gmax = (gmin + span).min(10_000);
    s.policy.cpu_weight_range = WeightRange {
        min: gmin,
        max: gmax,
    };
    s.policy.dwell = std::time::Duration::from_secs(dwell);
    s.policy.max_actions_per_min = rate;
    s.policy.memory_protection = protect;
    let priorities = [Priority::LatencyCritical, Priority::Normal, Priority::Batch];
    s.policy.classes = classes
        .iter()
        .enumerate()
        .map(|(i, &(p, a, b, min, low, high))| {
            let (a, b) = (gmin + a % (gmax - gmin + 1), gmin + b % (gmax - gmin + 1));
            let mut c = class(
                &format!("k{i}"),
                priorities[p as usize],
                &format!("c{i}-*"),
                a.min(b),
                a.max(b),
            );
            (c.memory_min_bytes, c.memory_low_bytes, c.memory_high_bytes) = (min, low, high);
            c
        })
        .collect();
    s
}

/// Runs the ops through an engine: each action with the time it was decided.
fn run(settings: &Settings, ops: &[(u64, Op)]) -> (Vec<(u64, Action)>, PolicyState) {
    let mut engine = PolicyEngine::new(settings.clone());
    let mut now = 0;
    let mut out = Vec::new();
    for (i, (dt_ms, op)) in ops.iter().enumerate() {
        now += dt_ms * 1_000_000;
        let actions = engine.on_input(&to_input(op, i as u64), now);
        out.extend(actions.into_iter().map(|a| (now, a)));
    }
    (out, engine.state().clone())
}

fn ops() -> impl Strategy<Value = Vec<(u64, Op)>> {
    proptest::collection::vec((0u64..20_000, op()), 0..80)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn values_never_leave_their_bounds(s in settings_strategy(), ops in ops()) {
        let global = s.policy.cpu_weight_range;
        // Relief may return a weight to any original the container was given (or the default).
        let mut originals: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
        for (_, op) in &ops {
            if let Op::Add { who, weight, .. } = op {
                originals
                    .entry(key(NAMES[*who]))
                    .or_default()
                    .push(weight.unwrap_or(Knob::CpuWeight.kernel_default()));
            }
        }
        for (_, a) in run(&s, &ops).0 {
            prop_assert!(!a.key.contains("zz-"), "unmatched container touched: {a:?}");
            let class = s.policy.classes.iter().find(|c| c.name == a.class).unwrap();
            match a.knob {
                Knob::CpuWeight => {
                    let w = u32::try_from(a.to).unwrap();
                    let chosen = global.contains(w) && class.cpu_weight.contains(w);
                    let restored = originals.get(&a.key).is_some_and(|o| o.contains(&a.to));
                    prop_assert!(chosen || restored, "{a:?}");
                }
                Knob::MemoryHigh => prop_assert!(
                    Some(a.to) == class.memory_high_bytes || a.to == Knob::MemoryHigh.kernel_default()
                ),
                Knob::MemoryMin => prop_assert!(Some(a.to) == class.memory_min_bytes || a.to == 0),
                Knob::MemoryLow | Knob::MemorySoftLimit => {}
            }
        }
    }

    #[test]
    fn knobs_never_reverse_faster_than_dwell_nor_exceed_the_rate(s in settings_strategy(), ops in ops()) {
        let dwell = s.dwell_ns();
        let (actions, _) = run(&s, &ops);
        // Removal forgets a container: compare only actions of one life.
        let mut lives: BTreeMap<String, u64> = BTreeMap::new();
        let mut now = 0;
        let mut removals = Vec::new();
        for (dt, op) in &ops {
            now += dt * 1_000_000;
            if let Op::Remove(who) = op {
                removals.push((now, key(NAMES[*who])));
            }
        }
        let mut last: BTreeMap<(String, u64, Knob), (u64, u64, Direction)> = BTreeMap::new();
        let mut times: BTreeMap<(String, u64), Vec<u64>> = BTreeMap::new();
        for (t, a) in &actions {
            for (rt, k) in &removals {
                if rt < t && *k == a.key {
                    lives.insert(k.clone(), *rt);
                }
            }
            let life = lives.get(&a.key).copied().unwrap_or(0);
            let slot = (a.key.clone(), life, a.knob);
            let from = last.get(&slot).map(|l| l.1).or(a.from).unwrap_or(a.knob.kernel_default());
            let dir = Direction::of(from, a.to);
            prop_assert!(dir.is_some(), "a no-op action {a:?}");
            let dir = dir.unwrap();
            if let Some(&(when, _, before)) = last.get(&slot) && before != dir {
                prop_assert!(t - when >= dwell, "reversed after {} ns: {a:?}", t - when);
            }
            last.insert(slot, (*t, a.to, dir));
            let recent = times.entry((a.key.clone(), life)).or_default();
            recent.push(*t);
            let window = recent.iter().filter(|x| t - **x < 60_000_000_000).count();
            prop_assert!(window <= s.policy.max_actions_per_min as usize, "rate exceeded at {t}");
        }
    }

    #[test]
    fn the_same_inputs_give_the_same_actions(s in settings_strategy(), ops in ops()) {
        let first = run(&s, &ops);
        let second = run(&s, &ops);
        prop_assert_eq!(&first, &second);
        // The pure function, folded, agrees with the engine.
        let mut state = PolicyState::default();
        let mut now = 0;
        let mut folded = Vec::new();
        for (i, (dt, op)) in ops.iter().enumerate() {
            now += dt * 1_000_000;
            let (next, actions) = decide(&s, &state, &to_input(op, i as u64), now);
            state = next;
            folded.extend(actions.into_iter().map(|a| (now, a)));
        }
        prop_assert_eq!(&first.0, &folded);
        prop_assert_eq!(&first.1, &state);
    }
}
