//! Shared test settings and containers: classes `lc` (web-*), `normal` (app-*), `batch` (job-*).

use std::time::Duration;

use crate::{
    config::{ClassConfig, Config, Glob, Priority, Selector, WeightRange},
    event::ContainerRef,
    policy::{Action, ContainerFacts, Input, Knob, PolicyEngine, Resource, Settings, Signal},
    runtime::ContainerRuntime,
};

pub const SEC: u64 = 1_000_000_000;
pub const GIB: u64 = 1 << 30;

pub fn class(name: &str, priority: Priority, glob: &str, min: u32, max: u32) -> ClassConfig {
    ClassConfig {
        name: name.into(),
        priority,
        selectors: vec![Selector {
            name: Some(Glob::new(glob).unwrap()),
            ..Selector::default()
        }],
        cpu_weight: WeightRange { min, max },
        memory_min_bytes: None,
        memory_low_bytes: None,
        memory_high_bytes: None,
    }
}

/// Dwell 30 s, 6 actions a minute, global [10, 500], memory protection on.
pub fn settings() -> Settings {
    let mut config = Config::default();
    config.policy.dwell = Duration::from_secs(30);
    config.policy.max_actions_per_min = 6;
    config.policy.cpu_weight_range = WeightRange { min: 10, max: 500 };
    config.policy.memory_protection = true;
    let mut lc = class("lc", Priority::LatencyCritical, "web-*", 200, 500);
    lc.memory_low_bytes = Some(GIB);
    let normal = class("normal", Priority::Normal, "app-*", 50, 200);
    let mut batch = class("batch", Priority::Batch, "job-*", 10, 100);
    batch.memory_high_bytes = Some(2 * GIB);
    config.policy.classes = vec![lc, normal, batch];
    Settings::from_config(&config)
}

pub fn cref(name: &str) -> ContainerRef {
    ContainerRef {
        runtime: ContainerRuntime::Docker,
        id: format!("id-{name}"),
        name: Some(name.into()),
        pod: None,
    }
}

pub fn key(name: &str) -> String {
    format!("docker/id-{name}")
}

pub fn added(name: &str) -> Input {
    added_facts(ContainerFacts::new(cref(name)))
}

pub fn added_facts(facts: ContainerFacts) -> Input {
    input(Signal::ContainerAdded(Box::new(facts)))
}

pub fn input(signal: Signal) -> Input {
    Input {
        event_id: Some(7),
        signal,
    }
}

pub fn psi(resource: Resource, container: Option<&str>) -> Input {
    input(Signal::Psi {
        container: container.map(cref),
        resource,
    })
}

/// An engine with `web-1`, `app-1` and `job-1` added at time 0.
pub fn engine() -> PolicyEngine {
    engine_with(settings(), &["web-1", "app-1", "job-1"])
}

pub fn engine_with(settings: Settings, names: &[&str]) -> PolicyEngine {
    let mut e = PolicyEngine::new(settings);
    for name in names {
        assert!(e.on_input(&added(name), 0).is_empty());
    }
    e
}

/// `(container key, knob, to)` of each action, for compact assertions.
pub fn summary(actions: &[Action]) -> Vec<(String, Knob, u64)> {
    actions
        .iter()
        .map(|a| (a.key.clone(), a.knob, a.to))
        .collect()
}
