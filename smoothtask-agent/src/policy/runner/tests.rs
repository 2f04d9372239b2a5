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
    let options = PolicyOptions::new(
        Settings::from_config(&Config::default()),
        PolicyMode::Observe,
        PathBuf::from("/nonexistent/journal.json"),
    );
    let status = options.status.clone();
    let task = tokio::spawn(run(
        Arc::clone(&pipeline),
        PolicyOptions {
            tick: Duration::from_secs(3600),
            ..options
        },
        MemoryVersion::V1,
        Err("no actuator in this test".into()),
        Ok(()),
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
    assert_eq!(action.knob, "cpu.weight");
    assert_eq!((action.mode, action.written), ("observe", false));
    assert!(stall_id.is_some());
    assert_eq!(action.cause_event_id, stall_id, "the stall caused it");
    let policy = status.snapshot();
    let policy = policy.subsystem("policy").expect("policy subsystem");
    assert_eq!(
        (policy.mode.as_str(), policy.reason.as_ref()),
        ("observe", None)
    );
    task.abort();
}
