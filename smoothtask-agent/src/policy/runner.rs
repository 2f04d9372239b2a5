//! The policy at work: every bus event the engine cares about, and a tick every second, go
//! through [`PolicyEngine`]; each decision is published as a `policy.action` event with its
//! cause. Observe mode only for now: the actuator that writes cgroup files (with its journal
//! and rollback) is not built, so every action says `written: false`.

use std::{sync::Arc, time::Duration, time::SystemTime};

use tokio::sync::broadcast::error::RecvError;

use super::{Input, MemoryVersion, PolicyEngine, Settings};
use crate::{
    clock::monotonic_ns,
    event::{EventBody, PolicyActionEvent, Source},
    pipeline::Pipeline,
};

/// Runs the engine until the bus closes.
pub async fn run(
    pipeline: Arc<Pipeline>,
    settings: Settings,
    memory: MemoryVersion,
    tick: Duration,
) {
    let mut engine = PolicyEngine::new(settings);
    let mut rx = pipeline.bus().subscribe();
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let actions = tokio::select! {
            item = rx.recv() => match item {
                Ok(event) => match Input::from_event(&event, memory) {
                    Some(input) => engine.on_input(&input, event.mono_ns),
                    None => continue,
                },
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(target: "policy", "the policy missed {n} events; it catches up from the next ones");
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
            _ = ticker.tick() => engine.on_input(&Input::tick(), monotonic_ns()),
        };
        for action in actions {
            tracing::info!(
                target: "policy",
                "{} {} {}: {:?} -> {} ({}) [observe: not written]",
                action.class,
                action.key,
                action.knob.file(),
                action.from,
                action.to,
                action.reason
            );
            let body = EventBody::PolicyAction(PolicyActionEvent {
                container: action.container,
                class: action.class,
                file: action.knob.file(),
                from: action.from,
                to: action.to,
                mode: "observe",
                written: false,
                reason: action.reason,
                cause_event_id: action.cause_event_id,
            });
            pipeline.ingest(Source::Policy, SystemTime::now(), monotonic_ns(), body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        attribution::Attributor,
        bus::Bus,
        cgroup::Hierarchies,
        config::Config,
        event::{CgroupRef, MemoryTarget, ReclaimKind, ReclaimStall},
        host::HostRoot,
        inventory::{HierarchyLabels, Inventory},
    };

    #[tokio::test]
    async fn a_reclaim_stall_in_a_container_becomes_an_observed_policy_action() {
        let bus = Bus::new(1024);
        let mut rx = bus.subscribe();
        let pipeline = Pipeline::new(
            Arc::clone(&bus),
            Inventory::new(HierarchyLabels::new([(4, "memory".to_string())])),
            Attributor::new(
                HostRoot::at("/nonexistent"),
                Hierarchies::from_mountinfo("", ""),
            ),
        );
        let task = tokio::spawn(run(
            Arc::clone(&pipeline),
            Settings::from_config(&Config::default()),
            MemoryVersion::V1,
            Duration::from_secs(3600),
        ));
        tokio::task::yield_now().await;
        let id = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";
        pipeline.ingest(
            Source::Ebpf,
            SystemTime::now(),
            monotonic_ns(),
            EventBody::CgroupMkdir {
                cgroup: CgroupRef {
                    id: 777,
                    hierarchy_id: 4,
                    hierarchy: None,
                    level: 2,
                    path: format!("/docker/{id}"),
                    path_truncated: false,
                },
                container: None,
            },
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        pipeline.ingest(
            Source::Ebpf,
            SystemTime::now(),
            monotonic_ns(),
            EventBody::MemoryReclaimStall(ReclaimStall {
                reclaim: ReclaimKind::Memcg,
                pid: 0,
                tid: 0,
                comm: String::new(),
                duration_ns: 50_000_000,
                nr_reclaimed: 10,
                count: 1,
                aggregated: false,
                target: MemoryTarget {
                    cgroup_id: 777,
                    ..MemoryTarget::default()
                },
            }),
        );
        let mut stall_id = None;
        let action = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let event = rx.recv().await.expect("bus open");
                match &event.body {
                    EventBody::MemoryReclaimStall(_) => stall_id = Some(event.id),
                    EventBody::PolicyAction(a) => return (event.source, a.clone()),
                    _ => {}
                }
            }
        })
        .await
        .expect("a policy.action");
        let (source, action) = action;
        assert_eq!(source, Source::Policy);
        assert_eq!(action.container.id, id);
        assert_eq!(action.file, "cpu.weight");
        assert_eq!((action.mode, action.written), ("observe", false));
        assert!(stall_id.is_some());
        assert_eq!(action.cause_event_id, stall_id, "the stall caused it");
        task.abort();
    }
}
