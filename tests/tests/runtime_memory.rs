//! Privileged, real runtime: an OOM kill inside a docker container started with a 32 MiB
//! memory limit is reported as `memory.oom_kill` with the docker container id.

use std::time::Duration;

use smoothtask_agent::{agent::AgentOptions, event::EventBody};
use smoothtask_tests::{
    Requirement,
    agent::start_traced,
    require,
    runtimes::{self, ContainerSpec, Runtime, require_runtime},
};
use tokio::sync::broadcast::error::RecvError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_kill_inside_docker_is_reported_with_the_container_id() {
    let test = "oom_kill_inside_docker_is_reported_with_the_container_id";
    if !require(test, &[Requirement::Ebpf]) || !require_runtime(test, Runtime::Docker) {
        return;
    }
    let (agent, mut rx) = start_traced(AgentOptions::default()).await;

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

/// The "done when": the agent shows `memory.oom_kill` for a docker container within a
/// second of docker reporting `OOMKilled=true` (here the container's own command is killed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_kill_is_reported_within_a_second_of_docker_saying_oomkilled() {
    let test = "oom_kill_is_reported_within_a_second_of_docker_saying_oomkilled";
    if !require(test, &[Requirement::Ebpf]) || !require_runtime(test, Runtime::Docker) {
        return;
    }
    let (agent, mut rx) = start_traced(AgentOptions::default()).await;
    let spec = ContainerSpec {
        memory_limit: Some(32 << 20),
        // Long enough for the harness to see the init pid, then over the limit.
        command: Some(
            [
                "sh",
                "-c",
                "sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1",
            ]
            .map(String::from)
            .to_vec(),
        ),
        ..ContainerSpec::default()
    };
    let container = tokio::task::block_in_place(|| runtimes::start(Runtime::Docker, &spec))
        .expect("docker run");
    let id = container.id.clone();
    let seen = tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let EventBody::MemoryOomKill(kill) = &event.body
                        && kill.target.container.as_ref().is_some_and(|c| c.id == id)
                    {
                        return Some(std::time::Instant::now());
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    // Docker's own verdict, polled.
    let id = container.id.clone();
    let oomkilled_at = tokio::task::block_in_place(|| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let out = std::process::Command::new("/usr/bin/docker")
                .args(["inspect", "-f", "{{.State.OOMKilled}}", &id])
                .output()
                .expect("docker inspect");
            if String::from_utf8_lossy(&out.stdout).trim() == "true" {
                return std::time::Instant::now();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "docker never said OOMKilled"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let event_at = tokio::time::timeout(Duration::from_secs(5), seen)
        .await
        .expect("memory.oom_kill within 5 s")
        .expect("task")
        .expect("bus open");
    let lag = event_at.saturating_duration_since(oomkilled_at);
    assert!(
        lag <= Duration::from_secs(1),
        "memory.oom_kill {lag:?} after OOMKilled=true"
    );
    drop(container);
    agent.shutdown().await;
}
