//! Privileged, real runtime: `smoothtaskd` with an enforce configuration next to two docker
//! containers. Page cache written past the batch container's memory limit stalls it in
//! reclaim; the stream shows `policy.action` events, the protected container's cpu.shares rise
//! and the batch one's fall in their cgroup files, and both come back once the load stops and
//! the dwell time passed. SIGTERM leaves every original in place.

use std::{path::PathBuf, time::Duration};

use serde_json::Value;
use smoothtask_tests::{
    Requirement,
    daemon::Daemon,
    policy::{self, poll},
    require,
    runtimes::{self, Container, ContainerSpec, Runtime, require_runtime},
    unique_prefix,
};

fn shares_file(container: &Container) -> PathBuf {
    let path = container.cgroup_path("cpu").expect("a v1 cpu cgroup");
    PathBuf::from("/sys/fs/cgroup/cpu")
        .join(path.trim_start_matches('/'))
        .join("cpu.shares")
}

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

#[test]
fn enforce_next_to_two_docker_containers_changes_their_cgroups_and_gives_them_back() {
    let test = "enforce_next_to_two_docker_containers_changes_their_cgroups_and_gives_them_back";
    if !require(
        test,
        &[Requirement::Root, Requirement::Ebpf, Requirement::V1Memory],
    ) || !require_runtime(test, Runtime::Docker)
    {
        return;
    }
    let protected =
        runtimes::start(Runtime::Docker, &ContainerSpec::default()).expect("docker run");
    let load = "until [ -e /tmp/go ]; do sleep 0.1; done; \
                while [ ! -e /tmp/stop ]; do dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>/dev/null; done; \
                rm -f /tmp/fill; exec sleep 3600";
    let batch = runtimes::start(
        Runtime::Docker,
        &ContainerSpec {
            memory_limit: Some(32 << 20),
            command: Some(vec!["sh".into(), "-c".into(), load.into()]),
            ..ContainerSpec::default()
        },
    )
    .expect("docker run");
    let (protected_file, batch_file) = (shares_file(&protected), shares_file(&batch));
    let originals = (read(&protected_file), read(&batch_file));
    assert_eq!(originals, ("1024".to_string(), "1024".to_string()));

    let dir = std::env::temp_dir().join(unique_prefix("docker-policy"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("enforce.yml");
    let selector = |id: &str| format!("{{runtime: docker, id: '{id}'}}");
    std::fs::write(
        &config,
        policy::config(
            "enforce",
            2,
            &dir.join("journal.json"),
            &selector(&protected.id),
            &selector(&batch.id),
        ),
    )
    .unwrap();
    let mut daemon =
        Daemon::spawn(&["--config", &config.display().to_string()]).expect("spawn smoothtaskd");
    let mut seen: Vec<Value> = Vec::new();
    daemon
        .wait_for(Duration::from_secs(30), |v| {
            seen.push(v.clone());
            v["kind"] == "agent.started"
        })
        .expect("agent.started");

    batch.exec(&["touch", "/tmp/go"]).expect("start the load");
    let mut actions = Vec::new();
    daemon
        .wait_for(Duration::from_secs(15), |v| {
            if v["kind"] == "policy.action" && v["knob"] == "cpu.weight" {
                actions.push(v.clone());
            }
            actions.len() >= 2
        })
        .unwrap_or_else(|| panic!("policy.action events for both containers: {actions:?}"));
    let by_id = |id: &str| {
        actions
            .iter()
            .find(|a| a["container"]["id"] == id)
            .unwrap_or_else(|| panic!("no action for {id}: {actions:?}"))
    };
    let (web, jobs) = (by_id(&protected.id), by_id(&batch.id));
    assert_eq!(
        (web["class"].as_str(), web["after"].as_str()),
        (Some("protected"), Some("4096"))
    );
    assert_eq!(
        (jobs["class"].as_str(), jobs["after"].as_str()),
        (Some("batch"), Some("102"))
    );
    for a in [web, jobs] {
        assert_eq!(
            (a["mode"].as_str(), a["written"].as_bool()),
            (Some("enforce"), Some(true)),
            "{a}"
        );
        assert_eq!(a["before"], "1024");
        assert!(a["cause_event_id"].is_u64(), "{a}");
    }
    assert_eq!(web["file"], protected_file.display().to_string());
    poll(Duration::from_secs(5), || {
        (read(&protected_file) == "4096" && read(&batch_file) == "102").then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "cgroup files not changed: {} / {}",
            read(&protected_file),
            read(&batch_file)
        )
    });

    batch.exec(&["touch", "/tmp/stop"]).expect("stop the load");
    poll(Duration::from_secs(20), || {
        (read(&protected_file) == "1024" && read(&batch_file) == "1024").then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "not given back: {} / {}",
            read(&protected_file),
            read(&batch_file)
        )
    });
    let status = daemon
        .terminate(Duration::from_secs(10))
        .expect("exits on SIGTERM");
    assert!(status.success());
    assert_eq!((read(&protected_file), read(&batch_file)), originals);
    let _ = std::fs::remove_dir_all(&dir);
}
