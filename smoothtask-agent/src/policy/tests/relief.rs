//! Relief after the dwell time, baselines, the dwell between reversals and the rate limit.

use super::fixtures::*;
use crate::policy::{Baseline, ContainerFacts, Input, Knob, Resource, UNLIMITED};

#[test]
fn relief_comes_dwell_after_the_last_pressure_and_restores_baselines() {
    let mut e = engine();
    e.on_input(&psi(Resource::Memory, Some("job-1")), SEC);
    e.on_input(&psi(Resource::Memory, None), 10 * SEC);
    assert!(
        e.on_input(&Input::tick(), 39 * SEC).is_empty(),
        "30 s after 10 s"
    );
    let relief = e.on_input(&Input::tick(), 40 * SEC);
    assert_eq!(
        summary(&relief),
        vec![
            (key("web-1"), Knob::CpuWeight, 100),
            (key("web-1"), Knob::MemoryLow, 0),
            (key("app-1"), Knob::CpuWeight, 100),
            (key("job-1"), Knob::CpuWeight, 100),
            (key("job-1"), Knob::MemoryHigh, UNLIMITED),
        ]
    );
    assert!(relief.iter().all(|a| a.cause_event_id.is_none()));
    assert_eq!(relief[0].from, Some(500));
    assert!(
        relief[0].reason.contains("no pressure"),
        "{}",
        relief[0].reason
    );
    assert!(e.state().cpu.is_none() && e.state().memory.is_none());
    assert!(
        e.on_input(&Input::tick(), 100 * SEC).is_empty(),
        "relaxed once"
    );
}

#[test]
fn relief_restores_the_originals_even_outside_the_class_bounds() {
    let mut e = engine_with(settings(), &[]);
    for (name, weight) in [("web-1", 150), ("app-1", 120), ("job-1", 1000)] {
        let mut f = ContainerFacts::new(cref(name));
        f.baseline = Baseline {
            cpu_weight: Some(weight),
            memory_low: Some(42),
            ..Baseline::default()
        };
        e.on_input(&added_facts(f), 0);
    }
    let raise = e.on_input(&psi(Resource::Memory, None), SEC);
    assert_eq!(raise[0].from, Some(150), "from is the original");
    assert_eq!(raise[1].from, Some(42));
    let relief = summary(&e.on_input(&Input::tick(), 31 * SEC));
    assert_eq!(
        relief,
        vec![
            (key("web-1"), Knob::CpuWeight, 150),
            (key("web-1"), Knob::MemoryLow, 42),
            (key("app-1"), Knob::CpuWeight, 120),
            (key("job-1"), Knob::CpuWeight, 1000),
        ]
    );
}

#[test]
fn a_knob_does_not_reverse_within_the_dwell_time() {
    let mut e = engine_with(settings(), &["web-1"]);
    e.on_input(&psi(Resource::Cpu, None), 0);
    let relief = summary(&e.on_input(&Input::tick(), 30 * SEC));
    assert_eq!(relief, vec![(key("web-1"), Knob::CpuWeight, 100)]);
    // Pressure again 1 s after relaxing: the raise waits until 30 s after the relax.
    assert!(e.on_input(&psi(Resource::Cpu, None), 31 * SEC).is_empty());
    assert!(e.on_input(&Input::tick(), 59 * SEC).is_empty());
    let raise = summary(&e.on_input(&Input::tick(), 60 * SEC));
    assert_eq!(raise, vec![(key("web-1"), Knob::CpuWeight, 500)]);
}

#[test]
fn zero_dwell_relaxes_at_the_next_tick() {
    let mut s = settings();
    s.policy.dwell = std::time::Duration::ZERO;
    let mut e = engine_with(s, &["web-1"]);
    assert_eq!(e.on_input(&psi(Resource::Cpu, None), SEC).len(), 1);
    assert_eq!(e.on_input(&Input::tick(), SEC + 1).len(), 1);
}

#[test]
fn the_rate_limit_defers_actions_to_the_next_minute() {
    let mut s = settings();
    s.policy.max_actions_per_min = 1;
    let mut e = engine_with(s, &["web-1"]);
    let first = summary(&e.on_input(&psi(Resource::Memory, None), 0));
    assert_eq!(first, vec![(key("web-1"), Knob::CpuWeight, 500)]);
    // Pressure continues; memory.low waits for the window to move.
    assert!(
        e.on_input(&psi(Resource::Memory, None), 20 * SEC)
            .is_empty()
    );
    assert!(
        e.on_input(&psi(Resource::Memory, None), 59 * SEC)
            .is_empty()
    );
    let second = summary(&e.on_input(&psi(Resource::Memory, None), 60 * SEC));
    assert_eq!(second, vec![(key("web-1"), Knob::MemoryLow, GIB)]);
    // Relief is due at 90 s, but the minute since 60 s holds one action already.
    assert!(e.on_input(&Input::tick(), 90 * SEC).is_empty());
    let relief = summary(&e.on_input(&Input::tick(), 120 * SEC));
    assert_eq!(relief, vec![(key("web-1"), Knob::CpuWeight, 100)]);
    assert!(e.on_input(&Input::tick(), 179 * SEC).is_empty());
    let last = summary(&e.on_input(&Input::tick(), 180 * SEC));
    assert_eq!(last, vec![(key("web-1"), Knob::MemoryLow, 0)]);
}

#[test]
fn class_bounds_are_narrowed_to_the_global_range() {
    let mut s = settings();
    s.policy.classes[0].cpu_weight.max = 900;
    s.policy.classes[2].cpu_weight.min = 1;
    let bounds = s.weight_bounds(&s.policy.classes[0]);
    assert_eq!((bounds.min, bounds.max), (200, 500));
    let mut e = engine_with(s, &["web-1", "job-1"]);
    let actions = summary(&e.on_input(&psi(Resource::Cpu, None), SEC));
    assert_eq!(
        actions,
        vec![
            (key("web-1"), Knob::CpuWeight, 500),
            (key("job-1"), Knob::CpuWeight, 10),
        ]
    );
}

#[test]
fn a_containerized_agent_with_conservative_bounds_narrows_weights_and_rate() {
    use crate::detect::{Adaptation, CpuQuota, Limit, OwnLimits};
    let quota = CpuQuota {
        quota_us: 20_000,
        period_us: 100_000,
    };
    let adaptation = Adaptation {
        limits: OwnLimits {
            memory_bytes: Limit::Unlimited,
            cpu: Limit::Limited(quota),
        },
        sampling_interval_scale: 5.0,
        memory_budget_bytes: None,
        conservative_bounds: true,
        reasons: vec!["CPU quota 0.2 cores".into()],
    };
    let s = settings().adapted(&adaptation);
    assert_eq!(s.policy.cpu_weight_range.min, 50);
    assert_eq!(s.policy.cpu_weight_range.max, 200);
    assert_eq!(s.policy.max_actions_per_min, 3);
    let bounds = s.weight_bounds(&s.policy.classes[0]);
    assert_eq!(
        (bounds.min, bounds.max),
        (200, 200),
        "latency-critical [200, 500] narrowed"
    );
    let mut e = engine_with(s, &["web-1", "job-1"]);
    let raised = summary(&e.on_input(&psi(Resource::Cpu, None), SEC));
    assert_eq!(
        raised,
        vec![
            (key("web-1"), Knob::CpuWeight, 200),
            (key("job-1"), Knob::CpuWeight, 50),
        ]
    );
    let relaxed = settings().adapted(&Adaptation {
        conservative_bounds: false,
        ..adaptation
    });
    assert_eq!(relaxed, settings(), "no change without conservative bounds");
}
