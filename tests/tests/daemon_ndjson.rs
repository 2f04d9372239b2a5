//! Privileged: the real `smoothtaskd` binary on built-in defaults prints each kernel cgroup
//! event as one NDJSON line on stdout, and stops cleanly on SIGTERM.

use std::{path::Path, time::Duration};

use smoothtask_tests::{Requirement, TestCgroup, daemon::Daemon, require, unique_prefix};

#[test]
fn smoothtaskd_prints_mkdir_with_the_inode_as_id_and_stops_on_sigterm() {
    if !require(
        "smoothtaskd_prints_mkdir_with_the_inode_as_id_and_stops_on_sigterm",
        &[Requirement::Root, Requirement::Ebpf, Requirement::V1Memory],
    ) {
        return;
    }
    let mut daemon = Daemon::spawn(&[]).expect("spawn smoothtaskd");
    let started = daemon
        .wait_for(Duration::from_secs(30), |v| v["kind"] == "agent.started")
        .expect("agent.started line");
    assert_eq!(started["kernel"]["mode"], "ebpf", "{started}");
    assert_eq!(started["schema"], 1);

    let prefix = unique_prefix("daemon");
    let cgroup = TestCgroup::create(Path::new("/sys/fs/cgroup/memory"), &prefix).expect("mkdir");
    let mkdir = daemon
        .wait_for(Duration::from_secs(10), |v| {
            v["kind"] == "cgroup.mkdir" && v["cgroup"]["path"] == cgroup.path.as_str()
        })
        .expect("cgroup.mkdir line for the new cgroup");
    assert_eq!(mkdir["cgroup"]["id"], cgroup.ino);
    assert_eq!(mkdir["cgroup"]["level"], 1);
    assert_eq!(mkdir["source"], "ebpf");
    assert!(mkdir["id"].as_u64().unwrap() > started["id"].as_u64().unwrap());

    let path = cgroup.path.clone();
    let ino = cgroup.ino;
    cgroup.remove().expect("rmdir");
    let rmdir = daemon
        .wait_for(Duration::from_secs(10), |v| {
            v["kind"] == "cgroup.rmdir" && v["cgroup"]["path"] == path.as_str()
        })
        .expect("cgroup.rmdir line");
    assert_eq!(rmdir["cgroup"]["id"], ino);

    let status = daemon
        .terminate(Duration::from_secs(5))
        .expect("smoothtaskd exits within 5 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
}
