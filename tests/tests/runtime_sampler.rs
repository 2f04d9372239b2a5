//! Privileged, real runtime: the sampler sees a docker container's page cache reach its
//! memory limit (`memory.limit_near`) and its CPU quota throttle a busy loop (`cpu.throttled`),
//! both attributed to the container.

use std::{sync::Arc, time::Duration};

use smoothtask_agent::{
    agent::{Agent, AgentOptions},
    bus::Bus,
    event::EventBody,
    sampler::SamplerOptions,
};
use smoothtask_tests::{
    Requirement, require,
    runtimes::{self, ContainerSpec, Runtime, require_runtime},
};
use tokio::sync::broadcast::error::RecvError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sampler_reports_limit_near_and_throttling_for_a_docker_container() {
    let test = "the_sampler_reports_limit_near_and_throttling_for_a_docker_container";
    if !require(test, &[Requirement::Root]) || !require_runtime(test, Runtime::Docker) {
        return;
    }
    let bus = Bus::new(1 << 16);
    let mut rx = bus.subscribe();
    let options = AgentOptions {
        stdout_events: false,
        sampler: Some(SamplerOptions {
            interval: Duration::from_millis(200),
            limit_near_ratio: 0.8,
        }),
        ..AgentOptions::default()
    };
    let agent = Agent::start(&options, Arc::clone(&bus)).await;
    let spec = ContainerSpec {
        memory_limit: Some(64 << 20),
        cpu_quota: Some((10_000, 100_000)),
        ..ContainerSpec::default()
    };
    let container = tokio::task::block_in_place(|| runtimes::start(Runtime::Docker, &spec))
        .expect("docker run");
    let id = container.id.clone();
    let container = Arc::new(container);
    let load = {
        let c = Arc::clone(&container);
        std::thread::spawn(move || {
            // Page cache up to the limit (kept there by reclaim), then a busy loop under a
            // 10 % quota.
            let _ = c.exec(&["dd", "if=/dev/zero", "of=/tmp/fill", "bs=1M", "count=120"]);
            let _ = c.exec(&["timeout", "3", "sh", "-c", "while :; do :; done"]);
        })
    };

    let (mut near, mut throttled) = (None, None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while near.is_none() || throttled.is_none() {
        let event = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => break,
            Ok(Err(RecvError::Lagged(_))) => continue,
            Ok(Err(RecvError::Closed)) => break,
            Ok(Ok(event)) => event,
        };
        match &event.body {
            EventBody::MemoryLimitNear(n) if n.container.id == id => near = Some(n.clone()),
            EventBody::CpuThrottled(c) if c.container.id == id => throttled = Some(c.clone()),
            _ => {}
        }
    }
    let _ = load.join();
    let near = near.expect("no memory.limit_near for the container");
    assert_eq!(near.limit_bytes, 64 << 20);
    assert!(near.ratio >= 0.8, "{near:?}");
    assert_eq!(near.container.runtime.as_str(), "docker");
    let throttled = throttled.expect("no cpu.throttled for the container");
    assert!(
        throttled.throttled_periods > 0 && throttled.throttled_ns > 0,
        "{throttled:?}"
    );
    let sampled = agent
        .samples()
        .get(&format!("docker/{id}"))
        .expect("latest sample kept");
    assert_eq!(sampled.memory_limit_bytes, Some(64 << 20));
    assert_eq!(sampled.cpu_quota, Some(10_000));
    drop(container);
    agent.shutdown().await;
}
