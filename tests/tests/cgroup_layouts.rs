//! Privileged: runtime-shaped cgroup layouts made by the test under its own unique prefix
//! (docker, podman, kubepods and lxc), with known limits and a process inside each. The
//! inventory and metrics equal exactly what was written; one removed while the agent runs
//! disappears once, with no error events.

use std::{path::Path, sync::Arc, time::Duration};

use smoothtask_agent::{
    agent::{Agent, AgentOptions},
    bus::Bus,
    commands::list_containers,
    event::EventBody,
    host::HostRoot,
};
use smoothtask_tests::{
    Requirement, TestCgroup, TestChild, privilege::v2_root, require, unique_prefix,
};
use tokio::sync::broadcast::error::RecvError;

const HIERARCHIES: [&str; 4] = ["memory", "cpu", "cpuacct", "pids"];

struct Layout {
    runtime: &'static str,
    id: String,
    /// Below the prefix.
    relative: String,
    memory: u64,
    shares: u64,
    quota: i64,
}

fn layouts() -> Vec<Layout> {
    let hex = |seed: u64| format!("{:016x}", seed).repeat(4);
    let uid = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
    vec![
        Layout {
            runtime: "docker",
            id: hex(0xd0c),
            relative: format!("docker/{}", hex(0xd0c)),
            memory: 48 << 20,
            shares: 512,
            quota: 50_000,
        },
        Layout {
            runtime: "podman",
            id: hex(0xb0d),
            relative: format!("libpod_parent/libpod-{}", hex(0xb0d)),
            memory: 96 << 20,
            shares: 256,
            quota: 20_000,
        },
        Layout {
            runtime: "containerd",
            id: hex(0xc0d),
            relative: format!("kubepods/burstable/pod{uid}/{}", hex(0xc0d)),
            memory: 64 << 20,
            shares: 102,
            quota: 10_000,
        },
        Layout {
            runtime: "lxc",
            id: "web1".into(),
            relative: "lxc.payload.web1".into(),
            memory: 80 << 20,
            shares: 2048,
            quota: 150_000,
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_layouts_under_a_prefix_are_listed_with_exact_limits() {
    let test = "runtime_layouts_under_a_prefix_are_listed_with_exact_limits";
    if !require(
        test,
        &[Requirement::Root, Requirement::V1Memory, Requirement::V2],
    ) {
        return;
    }
    let prefix = unique_prefix("layouts");
    let mut tops: Vec<TestCgroup> = Vec::new();
    let roots: Vec<std::path::PathBuf> = HIERARCHIES
        .iter()
        .map(|h| Path::new("/sys/fs/cgroup").join(h))
        .chain(v2_root().map(Path::to_path_buf))
        .collect();
    for root in &roots {
        tops.push(TestCgroup::create(root, &prefix).expect("mkdir prefix"));
    }
    let mut children: Vec<TestChild> = Vec::new();
    for layout in layouts() {
        let parts: Vec<&str> = layout.relative.split('/').collect();
        for top in &mut tops {
            let mut path = String::new();
            // Nested TestCgroups own their children: build each level under the previous one.
            let mut node: &mut TestCgroup = top;
            for part in &parts {
                path = if path.is_empty() {
                    part.to_string()
                } else {
                    format!("{path}/{part}")
                };
                node = node.child_or_create(part).expect("mkdir layout");
            }
        }
        let dir = |h: &str| {
            Path::new("/sys/fs/cgroup")
                .join(h)
                .join(&prefix)
                .join(&layout.relative)
        };
        std::fs::write(
            dir("memory").join("memory.limit_in_bytes"),
            layout.memory.to_string(),
        )
        .unwrap();
        std::fs::write(dir("cpu").join("cpu.shares"), layout.shares.to_string()).unwrap();
        std::fs::write(
            dir("cpu").join("cpu.cfs_quota_us"),
            layout.quota.to_string(),
        )
        .unwrap();
        let child = TestChild::sleep().expect("sleep");
        for root in &roots {
            let d = root.join(&prefix).join(&layout.relative);
            std::fs::write(d.join("cgroup.procs"), child.pid().to_string()).expect("move");
        }
        children.push(child);
    }

    let listed = list_containers(&HostRoot::live()).expect("list");
    for (layout, child) in layouts().iter().zip(&children) {
        let c = listed
            .iter()
            .find(|c| c.id == layout.id)
            .unwrap_or_else(|| panic!("{} {} not listed", layout.runtime, layout.id));
        assert_eq!(c.runtime, layout.runtime);
        assert_eq!(
            c.cgroup_path.as_deref(),
            Some(format!("/{prefix}/{}", layout.relative).as_str())
        );
        assert_eq!(
            c.metrics.memory_limit_bytes,
            Some(layout.memory),
            "{}",
            layout.runtime
        );
        assert_eq!(
            c.metrics.cpu_shares,
            Some(layout.shares),
            "{}",
            layout.runtime
        );
        assert_eq!(
            c.metrics.cpu_quota,
            Some(layout.quota),
            "{}",
            layout.runtime
        );
        assert_eq!(c.metrics.cpu_period, Some(100_000));
        assert_eq!(c.metrics.pids.current, Some(1), "{}", layout.runtime);
        assert_eq!(c.pids, vec![child.pid()]);
        if layout.runtime == "containerd" {
            let pod = c.pod.as_ref().expect("pod");
            assert_eq!(pod.uid, "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6");
            assert_eq!(pod.qos.as_str(), "burstable");
        }
    }

    // Remove the docker one while the agent runs (rescans every 100 ms): it leaves once.
    let bus = Bus::new(1 << 16);
    let mut rx = bus.subscribe();
    let options = AgentOptions {
        stdout_events: false,
        rescan_interval: Duration::from_millis(100),
        ..AgentOptions::default()
    };
    let agent = Agent::start(&options, Arc::clone(&bus)).await;
    let docker = &layouts()[0];
    assert!(
        agent.pipeline().inventory().get(&docker.id).is_some(),
        "found at startup"
    );
    children.remove(0).kill();
    for top in &mut tops {
        top.remove_path(&docker.relative)
            .expect("rmdir the docker layout");
    }
    let mut removed = 0;
    let mut errors = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) | Ok(Err(RecvError::Closed)) => break,
            Ok(Err(RecvError::Lagged(n))) => panic!("lagged by {n}"),
            Ok(Ok(event)) => match &event.body {
                EventBody::ContainerRemoved { container, .. }
                    if container.container.id == docker.id =>
                {
                    removed += 1
                }
                EventBody::KernelDecodeError { .. } | EventBody::KernelLost { .. } => {
                    errors.push(event.kind())
                }
                _ => {}
            },
        }
    }
    assert_eq!(removed, 1, "the removed container leaves exactly once");
    assert!(errors.is_empty(), "error events: {errors:?}");
    assert!(agent.pipeline().inventory().get(&docker.id).is_none());
    for other in &layouts()[1..] {
        assert!(
            agent.pipeline().inventory().get(&other.id).is_some(),
            "{} still there",
            other.runtime
        );
    }
    agent.shutdown().await;
    drop(children);
    drop(tops);
}
