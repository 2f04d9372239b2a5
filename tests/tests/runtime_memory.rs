//! Privileged, real runtime: an OOM kill inside a docker container started with a 32 MiB
//! memory limit is reported as `memory.oom_kill` with the docker container id.

use std::{sync::Arc, time::Duration};

use smoothtask_agent::{
    agent::{Agent, AgentOptions},
    bus::Bus,
    event::{EventBody, KernelMode},
};
use smoothtask_tests::{
    Requirement, require,
    runtimes::{self, ContainerSpec, Runtime, require_runtime},
};
use tokio::sync::broadcast::error::RecvError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_kill_inside_docker_is_reported_with_the_container_id() {
    let test = "oom_kill_inside_docker_is_reported_with_the_container_id";
    if !require(test, &[Requirement::Ebpf]) || !require_runtime(test, Runtime::Docker) {
        return;
    }
    let bus = Bus::new(1 << 16);
    let mut rx = bus.subscribe();
    let options = AgentOptions {
        stdout_events: false,
        ..AgentOptions::default()
    };
    let agent = Agent::start(&options, Arc::clone(&bus)).await;
    assert!(matches!(agent.kernel_mode(), KernelMode::Ebpf { .. }));

    let spec = ContainerSpec {
        memory_limit: Some(32 << 20),
        ..ContainerSpec::default()
    };
    let container = tokio::task::block_in_place(|| runtimes::start(Runtime::Docker, &spec))
        .expect("docker run");
    // busybox dd allocates its 64 MiB block and fills it: over the limit, nothing to reclaim.
    let out = tokio::task::block_in_place(|| {
        container.exec(&["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"])
    })
    .expect("docker exec");
    assert_eq!(
        out.status.code(),
        Some(137),
        "dd should be OOM-killed: {out:?}"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let kill = loop {
        let event = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => panic!("no memory.oom_kill for docker {}", container.id),
            Ok(Err(RecvError::Lagged(n))) => panic!("lagged by {n}"),
            Ok(Err(RecvError::Closed)) => panic!("bus closed"),
            Ok(Ok(event)) => event,
        };
        if let EventBody::MemoryOomKill(kill) = &event.body
            && kill
                .target
                .container
                .as_ref()
                .is_some_and(|c| c.id == container.id)
        {
            break kill.clone();
        }
    };
    let owner = kill.target.container.as_ref().expect("attributed");
    assert_eq!(owner.runtime.as_str(), "docker");
    assert_eq!(kill.comm, "dd");
    assert!(kill.target.attributed_by.is_some());
    drop(container);
    agent.shutdown().await;
}
