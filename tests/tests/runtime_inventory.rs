//! Privileged, real runtimes: for each runtime, two containers with different limits appear in
//! the agent's inventory (a `container.added` event naming the runtime and the full id) within
//! 1 s of the runtime returning, and leave it (`container.removed`) within 1 s of removal.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use smoothtask_agent::{
    agent::AgentOptions,
    event::{Event, EventBody},
};
use smoothtask_tests::{
    Requirement,
    agent::start_traced,
    require,
    runtimes::{self, ContainerSpec, Runtime, require_runtime},
};
use tokio::sync::broadcast::{Receiver, error::RecvError};

const WITHIN: Duration = Duration::from_secs(1);

/// Waits for a container event of `kind` about `id`; returns it and how long the wait took.
async fn wait_for(
    rx: &mut Receiver<Arc<Event>>,
    kind: &str,
    id: &str,
) -> Option<(Arc<Event>, Duration)> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Err(_) => return None,
            Ok(Err(RecvError::Lagged(n))) => panic!("test subscriber lagged by {n}"),
            Ok(Err(RecvError::Closed)) => return None,
            Ok(Ok(event)) => {
                if event.kind() == kind && event.body.container().is_some_and(|c| c.id == id) {
                    return Some((event, start.elapsed()));
                }
            }
        }
    }
}

async fn check(runtime: Runtime, expected_runtime: &str) {
    let test = format!("inventory_{runtime}");
    if !require(&test, &[Requirement::Ebpf]) || !require_runtime(&test, runtime) {
        return;
    }
    let (agent, mut rx) = start_traced(AgentOptions::default()).await;

    let specs = [
        ContainerSpec {
            memory_limit: Some(32 << 20),
            cpu_shares: Some(256),
            ..ContainerSpec::default()
        },
        ContainerSpec {
            memory_limit: Some(96 << 20),
            cpu_quota: Some((50_000, 100_000)),
            ..ContainerSpec::default()
        },
    ];
    let mut running = Vec::new();
    for spec in &specs {
        let container = tokio::task::block_in_place(|| runtimes::start(runtime, spec))
            .unwrap_or_else(|e| panic!("{runtime}: start: {e}"));
        let (event, waited) = wait_for(&mut rx, "container.added", &container.id)
            .await
            .unwrap_or_else(|| panic!("{runtime}: no container.added for {}", container.id));
        assert!(
            waited <= WITHIN,
            "{runtime}: container.added {waited:?} after the runtime returned"
        );
        let EventBody::ContainerAdded {
            container: summary,
            repaired,
        } = &event.body
        else {
            unreachable!()
        };
        assert!(
            !repaired,
            "{runtime}: found by a rescan, not by the kernel event"
        );
        assert_eq!(summary.container.runtime.as_str(), expected_runtime);
        assert_eq!(summary.container.id, container.id);
        assert_eq!(
            summary.cgroup_path.as_deref(),
            container.cgroup_path("memory")
        );
        let inventory = agent.pipeline().inventory();
        let record = inventory.get(&container.id).expect("in the inventory");
        assert_eq!(record.runtime.as_str(), expected_runtime);
        assert!(
            record.cgroups.contains_key("memory"),
            "{:?}",
            record.cgroups
        );
        drop(inventory);
        running.push(container);
    }
    assert_ne!(running[0].id, running[1].id);

    for container in running {
        let id = container.id.clone();
        tokio::task::block_in_place(|| drop(container));
        let (_, waited) = wait_for(&mut rx, "container.removed", &id)
            .await
            .unwrap_or_else(|| panic!("{runtime}: no container.removed for {id}"));
        assert!(
            waited <= WITHIN,
            "{runtime}: container.removed {waited:?} after removal"
        );
        assert!(agent.pipeline().inventory().get(&id).is_none());
    }
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_docker() {
    check(Runtime::Docker, "docker").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_podman() {
    check(Runtime::Podman, "podman").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_containerd() {
    check(Runtime::Containerd, "containerd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_runc() {
    check(Runtime::Runc, "runc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_lxc() {
    check(Runtime::Lxc, "lxc").await;
}
