//! Privileged: without eBPF the agent still sees cgroups (and so containers) come and go,
//! through inotify on the cgroup filesystems; the real binary with CAP_BPF, CAP_PERFMON and
//! CAP_SYS_ADMIN dropped says why it runs without eBPF and still reports cgroup creation.

use std::{path::Path, sync::Arc, time::Duration};

use smoothtask_agent::{
    agent::{Agent, AgentOptions},
    bus::Bus,
    event::{EventBody, KernelMode, Source},
};
use smoothtask_tests::{
    Requirement, TestCgroup,
    daemon::{Daemon, smoothtaskd_path},
    http::{free_port, get},
    require,
    runtimes::{self, ContainerSpec, Runtime, require_runtime},
    unique_prefix,
};
use tokio::sync::broadcast::error::RecvError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ebpf_inotify_reports_cgroups_and_containers() {
    let test = "without_ebpf_inotify_reports_cgroups_and_containers";
    if !require(test, &[Requirement::Root, Requirement::V1Memory])
        || !require_runtime(test, Runtime::Podman)
    {
        return;
    }
    let bus = Bus::new(1 << 16);
    let mut rx = bus.subscribe();
    let options = AgentOptions {
        stdout_events: false,
        ebpf: false,
        ..AgentOptions::default()
    };
    let agent = Agent::start(&options, Arc::clone(&bus)).await;
    assert!(matches!(agent.kernel_mode(), KernelMode::Disabled { .. }));
    assert_eq!(agent.cgroup_lifecycle(), "inotify");

    let mut top = TestCgroup::create(
        Path::new("/sys/fs/cgroup/memory"),
        &unique_prefix("fallback"),
    )
    .unwrap();
    let child_ino = top.create_child("inner").unwrap().ino;
    let child_path = format!("{}/inner", top.path);
    let container =
        tokio::task::block_in_place(|| runtimes::start(Runtime::Podman, &ContainerSpec::default()))
            .expect("podman run");
    let (mut saw_child, mut saw_container) = (false, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !(saw_child && saw_container) {
        let event = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => break,
            Ok(Err(RecvError::Lagged(_))) => continue,
            Ok(Err(RecvError::Closed)) => break,
            Ok(Ok(e)) => e,
        };
        match &event.body {
            EventBody::CgroupMkdir { cgroup, .. } if cgroup.path == child_path => {
                assert_eq!(event.source, Source::Inotify);
                assert_eq!(cgroup.id, child_ino, "the inode of the new cgroup");
                saw_child = true;
            }
            EventBody::ContainerAdded { container: c, .. } if c.container.id == container.id => {
                assert_eq!(event.source, Source::Inotify);
                assert_eq!(c.container.runtime.as_str(), "podman");
                saw_container = true;
            }
            _ => {}
        }
    }
    assert!(saw_child, "no cgroup.mkdir from inotify for {child_path}");
    assert!(
        saw_container,
        "no container.added from inotify for podman {}",
        container.id
    );
    let id = container.id.clone();
    tokio::task::block_in_place(|| drop(container));
    let removed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    if matches!(&e.body, EventBody::ContainerRemoved { container: c, .. } if c.container.id == id) {
                        return true;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return false,
            }
        }
    })
    .await;
    assert_eq!(removed, Ok(true), "container.removed from inotify");
    drop(top);
    agent.shutdown().await;
}

#[test]
fn the_binary_without_bpf_capabilities_degrades_to_inotify_and_says_why() {
    let test = "the_binary_without_bpf_capabilities_degrades_to_inotify_and_says_why";
    if !require(test, &[Requirement::Root, Requirement::V1Memory]) {
        return;
    }
    let capsh = ["/usr/sbin/capsh", "/sbin/capsh"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(capsh) = capsh else {
        if std::env::var(smoothtask_tests::privilege::REQUIRE_ENV).is_ok_and(|v| v == "1") {
            panic!("{test}: capsh (libcap2-bin) is missing");
        }
        println!("skipped: {test}: capsh (libcap2-bin) is missing");
        return;
    };
    let bin = smoothtaskd_path();
    let port = free_port();
    let script = format!(
        "SMOOTHTASK_API__LISTEN=127.0.0.1:{port} exec {}",
        bin.display()
    );
    let daemon = Daemon::spawn_program(
        capsh,
        &[
            "--drop=cap_bpf,cap_perfmon,cap_sys_admin",
            "--",
            "-c",
            &script,
        ],
    )
    .expect("spawn smoothtaskd under capsh");
    let started = daemon
        .wait_for(Duration::from_secs(30), |v| v["kind"] == "agent.started")
        .expect("agent.started");
    assert_eq!(started["kernel"]["mode"], "disabled", "{started}");
    let reason = started["kernel"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        reason.contains("permission") || reason.contains("not permitted"),
        "the reason names the missing privilege: {reason}"
    );
    assert_eq!(started["cgroup_lifecycle"], "inotify");
    let cgroup =
        TestCgroup::create(Path::new("/sys/fs/cgroup/memory"), &unique_prefix("nocap")).unwrap();
    let mkdir = daemon
        .wait_for(Duration::from_secs(10), |v| {
            v["kind"] == "cgroup.mkdir" && v["cgroup"]["path"] == cgroup.path.as_str()
        })
        .expect("cgroup.mkdir through the fallback");
    assert_eq!(mkdir["source"], "inotify");
    assert_eq!(mkdir["cgroup"]["id"], cgroup.ino);

    // The status API says how it runs and why.
    let (status, body) = get(port, "/api/status");
    assert_eq!(status, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    let subsystem = |name: &str| {
        status["subsystems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} subsystem in {status}"))
    };
    let kernel = subsystem("kernel");
    assert_eq!(kernel["mode"], "disabled", "{kernel}");
    assert!(
        kernel["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("CAP_BPF"),
        "{kernel}"
    );
    assert_eq!(subsystem("cgroup_lifecycle")["mode"], "inotify");
}
