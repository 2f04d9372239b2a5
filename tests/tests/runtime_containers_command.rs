//! Privileged, real runtimes: `smoothtaskd containers --json` lists containers started by
//! docker, podman, containerd, runc and lxc with their runtime, full id and exact limits.

use std::{process::Command, time::Instant};

use smoothtask_tests::{
    daemon::smoothtaskd_path,
    runtimes::{self, ContainerSpec, Runtime, require_runtime},
};

fn check(runtime: Runtime, expected_runtime: &str) {
    let test = format!("containers_command_{runtime}");
    if !require_runtime(&test, runtime) {
        return;
    }
    let spec = ContainerSpec {
        memory_limit: Some(40 << 20),
        cpu_shares: Some(384),
        cpu_quota: Some((25_000, 50_000)),
        with_eth0: true,
        ..ContainerSpec::default()
    };
    let container = runtimes::start(runtime, &spec).unwrap_or_else(|e| panic!("{runtime}: {e}"));
    let started = Instant::now();
    let out = Command::new(smoothtaskd_path())
        .args(["containers", "--json"])
        .output()
        .expect("run smoothtaskd containers");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed.as_secs_f64() < 1.0,
        "{runtime}: listing took {elapsed:?}"
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON array");
    let entry = list
        .iter()
        .find(|c| c["id"] == container.id.as_str())
        .unwrap_or_else(|| panic!("{runtime}: {} not listed in {list:#?}", container.id));
    assert_eq!(entry["runtime"], expected_runtime);
    assert_eq!(
        entry["cgroup_path"],
        container.cgroup_path("memory").unwrap()
    );
    assert!(entry["pod"].is_null());
    let m = &entry["metrics"];
    assert_eq!(m["runtime"], expected_runtime);
    assert_eq!(m["container_id"], container.id.as_str());
    assert_eq!(m["memory_limit_bytes"], 40u64 << 20, "{runtime}: {m}");
    assert_eq!(m["cpu_shares"], 384, "{runtime}: {m}");
    assert_eq!(m["cpu_quota"], 25_000, "{runtime}: {m}");
    assert_eq!(m["cpu_period"], 50_000, "{runtime}: {m}");
    assert!(
        m["memory_usage_bytes"].as_u64().is_some_and(|u| u > 0),
        "{runtime}: {m}"
    );
    let pids: Vec<u64> = entry["pids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_u64())
        .collect();
    assert!(
        pids.contains(&u64::from(container.init_pid)),
        "{runtime}: pids {pids:?}, init {}",
        container.init_pid
    );
    // The container's own network namespace: its eth0 and lo, none of the host's interfaces.
    let mut ifaces: Vec<&str> = m["network_interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    ifaces.sort_unstable();
    assert_eq!(ifaces, ["eth0", "lo"], "{runtime}: {m}");
    let eth0 = m["network"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "eth0")
        .unwrap_or_else(|| panic!("{runtime}: no eth0 stats in {m}"));
    assert!(eth0["rx_bytes"].as_u64().is_some(), "{runtime}: {eth0}");
}

#[test]
fn containers_command_docker() {
    check(Runtime::Docker, "docker");
}

#[test]
fn containers_command_podman() {
    check(Runtime::Podman, "podman");
}

#[test]
fn containers_command_containerd() {
    check(Runtime::Containerd, "containerd");
}

#[test]
fn containers_command_runc() {
    check(Runtime::Runc, "runc");
}

#[test]
fn containers_command_lxc() {
    check(Runtime::Lxc, "lxc");
}
