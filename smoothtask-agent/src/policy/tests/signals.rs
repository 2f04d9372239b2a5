//! Each signal kind, each class priority, v1 and v2, and containers the policy leaves alone.

use super::fixtures::*;
use crate::policy::{
    ContainerFacts, Input, Knob, MemoryVersion, PolicyEngine, Resource, Signal, decide,
    weight_to_v1_shares,
};

fn lc() -> String {
    key("web-1")
}
fn normal() -> String {
    key("app-1")
}
fn batch() -> String {
    key("job-1")
}

#[test]
fn nothing_happens_without_pressure() {
    let mut e = engine();
    assert!(e.on_input(&Input::tick(), SEC).is_empty());
    assert_eq!(e.state().containers.len(), 3);
}

#[test]
fn memory_psi_raises_protected_lowers_batch_in_priority_order() {
    let mut e = engine();
    let actions = e.on_input(&psi(Resource::Memory, None), SEC);
    assert_eq!(
        summary(&actions),
        vec![
            (lc(), Knob::CpuWeight, 500),
            (lc(), Knob::MemoryLow, GIB),
            (normal(), Knob::CpuWeight, 200),
            (batch(), Knob::CpuWeight, 10),
        ]
    );
    let first = &actions[0];
    assert_eq!(first.from, None);
    assert_eq!(first.cause_event_id, Some(7));
    assert_eq!(first.class, "lc");
    assert!(first.reason.contains("memory PSI"), "{}", first.reason);
    // Continued pressure asks for nothing new.
    assert!(e.on_input(&psi(Resource::Memory, None), 2 * SEC).is_empty());
}

#[test]
fn cpu_and_io_psi_move_weights_only() {
    for resource in [Resource::Cpu, Resource::Io] {
        let mut e = engine();
        let knobs: Vec<_> = e
            .on_input(&psi(resource, None), SEC)
            .iter()
            .map(|a| a.knob)
            .collect();
        assert_eq!(knobs, vec![Knob::CpuWeight; 3], "{resource:?}");
        assert!(e.state().memory.is_none());
    }
}

#[test]
fn reclaim_stall_needs_the_threshold_and_marks_a_batch_offender() {
    let mut e = engine();
    let short = input(Signal::ReclaimStall {
        container: Some(cref("job-1")),
        duration_ns: e.settings().reclaim_stall_ns - 1,
    });
    assert!(e.on_input(&short, SEC).is_empty());
    let long = input(Signal::ReclaimStall {
        container: Some(cref("job-1")),
        duration_ns: e.settings().reclaim_stall_ns,
    });
    let actions = summary(&e.on_input(&long, SEC));
    assert!(actions.contains(&(batch(), Knob::MemoryHigh, 2 * GIB)));
    assert!(actions.contains(&(lc(), Knob::MemoryLow, GIB)));
}

#[test]
fn a_protected_offender_gets_no_memory_high() {
    let mut s = settings();
    s.policy.classes[0].memory_high_bytes = Some(GIB);
    let mut e = engine_with(s, &["web-1"]);
    let actions = e.on_input(&psi(Resource::Memory, Some("web-1")), SEC);
    assert!(actions.iter().all(|a| a.knob != Knob::MemoryHigh));
}

#[test]
fn memory_limit_near_enters_and_the_band_between_exit_and_near_only_stays() {
    let s = settings();
    let (near, exit) = (s.limit_near_ratio, s.limit_exit_ratio);
    let limit = |ratio: f64| {
        input(Signal::MemoryLimit {
            container: cref("job-1"),
            ratio,
            usage_bytes: 5,
        })
    };
    let mut e = engine();
    let band = (near + exit) / 2.0;
    assert!(
        e.on_input(&limit(band), SEC).is_empty(),
        "the band does not enter"
    );
    let actions = summary(&e.on_input(&limit(near), 2 * SEC));
    assert!(actions.contains(&(batch(), Knob::MemoryHigh, 2 * GIB)));
    // In the band the episode stays: no relief 30 s after the enter signal.
    assert!(e.on_input(&limit(band), 31 * SEC).is_empty());
    assert!(e.on_input(&Input::tick(), 40 * SEC).is_empty());
    // Below the exit ratio nothing refreshes: relief 30 s after the last band sample.
    assert!(e.on_input(&limit(exit - 0.01), 50 * SEC).is_empty());
    assert!(!e.on_input(&Input::tick(), 61 * SEC).is_empty());
    assert!(e.state().memory.is_none() && e.state().offenders.is_empty());
}

#[test]
fn cpu_throttling_enters_at_the_ratio() {
    let mut e = engine();
    let periods = 100;
    let below = (e.settings().throttled_ratio * periods as f64).ceil() as u64 - 1;
    let throttled = |throttled_periods, periods| {
        input(Signal::CpuThrottled {
            container: cref("app-1"),
            throttled_periods,
            periods,
        })
    };
    assert!(e.on_input(&throttled(below, periods), SEC).is_empty());
    assert!(e.on_input(&throttled(0, 0), SEC).is_empty());
    let actions = e.on_input(&throttled(periods, periods), SEC);
    assert_eq!(actions.len(), 3);
    assert!(actions.iter().all(|a| a.knob == Knob::CpuWeight));
    // Unknown periods with throttling count as throttled.
    let mut e = engine();
    assert_eq!(e.on_input(&throttled(3, 0), SEC).len(), 3);
}

#[test]
fn unmatched_containers_are_never_touched() {
    let mut e = engine_with(settings(), &["other"]);
    assert!(e.state().containers.is_empty());
    assert!(
        e.on_input(&psi(Resource::Memory, Some("other")), SEC)
            .is_empty()
    );
    let stall = input(Signal::ReclaimStall {
        container: Some(cref("other")),
        duration_ns: u64::MAX,
    });
    assert!(e.on_input(&stall, 2 * SEC).is_empty());
    assert!(e.on_input(&Input::tick(), 100 * SEC).is_empty());
}

#[test]
fn a_container_added_during_pressure_is_raised_at_once() {
    let mut e = engine_with(settings(), &[]);
    assert!(e.on_input(&psi(Resource::Cpu, None), SEC).is_empty());
    let actions = summary(&e.on_input(&added("web-2"), 2 * SEC));
    assert_eq!(actions, vec![(key("web-2"), Knob::CpuWeight, 500)]);
}

#[test]
fn removed_containers_are_forgotten() {
    let mut e = engine();
    e.on_input(&psi(Resource::Memory, Some("job-1")), SEC);
    let removed = input(Signal::ContainerRemoved { key: batch() });
    assert!(e.on_input(&removed, 2 * SEC).is_empty());
    assert!(!e.state().containers.contains_key(&batch()));
    assert!(!e.state().offenders.contains(&batch()));
    let relief = e.on_input(&Input::tick(), 40 * SEC);
    assert!(relief.iter().all(|a| a.key != batch()));
}

#[test]
fn cgroup_v1_gets_a_soft_limit_and_no_memory_high() {
    let mut e = engine_with(settings(), &[]);
    for name in ["web-1", "job-1"] {
        let mut f = ContainerFacts::new(cref(name));
        f.memory = MemoryVersion::V1;
        e.on_input(&added_facts(f), 0);
    }
    let actions = summary(&e.on_input(&psi(Resource::Memory, Some("job-1")), SEC));
    assert_eq!(
        actions,
        vec![
            (lc(), Knob::CpuWeight, 500),
            (lc(), Knob::MemorySoftLimit, GIB),
            (batch(), Knob::CpuWeight, 10),
        ]
    );
    assert_eq!(weight_to_v1_shares(500), 5120);
    assert_eq!(weight_to_v1_shares(100), 1024);
    assert_eq!(
        weight_to_v1_shares(10),
        crate::cgroup::kernel_weight_to_shares(10)
    );
}

#[test]
fn memory_protection_off_moves_weights_only() {
    let mut s = settings();
    s.policy.memory_protection = false;
    let mut e = engine_with(s, &["web-1", "app-1"]);
    let actions = e.on_input(&psi(Resource::Memory, None), SEC);
    assert!(actions.iter().all(|a| a.knob == Knob::CpuWeight));
}

#[test]
fn latency_critical_without_memory_low_protects_its_usage_frozen_for_the_episode() {
    let mut s = settings();
    s.policy.classes[0].memory_low_bytes = None;
    s.policy.classes[0].memory_min_bytes = Some(100);
    let mut e = engine_with(s, &[]);
    let mut f = ContainerFacts::new(cref("web-1"));
    f.memory_usage_bytes = Some(300);
    e.on_input(&added_facts(f), 0);
    let actions = summary(&e.on_input(&psi(Resource::Memory, None), SEC));
    assert_eq!(
        actions,
        vec![
            (lc(), Knob::CpuWeight, 500),
            (lc(), Knob::MemoryMin, 100),
            (lc(), Knob::MemoryLow, 300),
        ]
    );
    let grown = input(Signal::MemoryLimit {
        container: cref("web-1"),
        ratio: 0.95,
        usage_bytes: 900,
    });
    assert!(e.on_input(&grown, 2 * SEC).is_empty(), "frozen at 300");
}

#[test]
fn normal_classes_get_only_configured_protection() {
    let mut s = settings();
    s.policy.classes[1].memory_low_bytes = Some(7);
    let mut e = engine_with(s.clone(), &["app-1"]);
    let actions = summary(&e.on_input(&psi(Resource::Memory, None), SEC));
    assert!(actions.contains(&(normal(), Knob::MemoryLow, 7)));
    s.policy.classes[1].memory_low_bytes = None;
    let mut e = engine_with(s, &["app-1"]);
    let actions = e.on_input(&psi(Resource::Memory, None), SEC);
    assert!(actions.iter().all(|a| a.knob == Knob::CpuWeight));
}

#[test]
fn decide_is_pure_and_agrees_with_the_engine() {
    let mut e = engine();
    let before = e.state().clone();
    let sig = psi(Resource::Memory, Some("job-1"));
    let (next, actions) = decide(e.settings(), &before, &sig, SEC);
    let (again, actions_again) = decide(e.settings(), &before, &sig, SEC);
    assert_eq!((&next, &actions), (&again, &actions_again));
    assert_eq!(e.on_input(&sig, SEC), actions);
    assert_eq!(e.state(), &next);
    assert_ne!(before, next);
    let _ = PolicyEngine::new(e.settings().clone());
}

#[test]
fn bus_events_become_inputs() {
    use crate::event::{Event, EventBody, PressureThreshold, SCHEMA_VERSION, Source};
    let event = |body| Event {
        schema: SCHEMA_VERSION,
        id: 41,
        time: std::time::UNIX_EPOCH,
        mono_ns: 0,
        source: Source::Psi,
        body,
    };
    let psi = event(EventBody::PressureThreshold(PressureThreshold {
        scope: "system",
        resource: "memory",
        stall_kind: "some",
        stall_us: 1,
        window_us: 2,
        avg10: None,
        total_us: None,
        cgroup_path: None,
        container: None,
    }));
    let got = Input::from_event(&psi, MemoryVersion::V2).unwrap();
    assert_eq!(got.event_id, Some(41));
    assert_eq!(
        got.signal,
        Signal::Psi {
            container: None,
            resource: Resource::Memory
        }
    );
    let throttled = event(EventBody::CpuThrottled(crate::sampler::CpuThrottled {
        throttled_periods: 3,
        periods: 4,
        throttled_ns: 5,
        container: cref("app-1"),
    }));
    assert!(matches!(
        Input::from_event(&throttled, MemoryVersion::V2)
            .unwrap()
            .signal,
        Signal::CpuThrottled {
            throttled_periods: 3,
            periods: 4,
            ..
        }
    ));
    let lost = event(EventBody::KernelLost {
        lost: vec![],
        total: 0,
    });
    assert!(Input::from_event(&lost, MemoryVersion::V2).is_none());
}
