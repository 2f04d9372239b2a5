//! `smoothtaskd containers` on fixture hosts: every container found by scanning the cgroup
//! filesystems, with identity and exact limits, on hybrid, v2 and co-mounted v1 layouts.

use std::path::PathBuf;

use smoothtask_agent::{commands::list_containers, host::HostRoot};

fn fixture(case: &str) -> HostRoot {
    HostRoot::at(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cgroup")
            .join(case),
    )
}

#[test]
fn hybrid_host_lists_the_docker_container_with_its_limits() {
    let list = list_containers(&fixture("hybrid")).unwrap();
    assert_eq!(list.len(), 1, "{list:#?}");
    let c = &list[0];
    let id = "3f2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a";
    assert_eq!(c.runtime, "docker");
    assert_eq!(c.id, id);
    assert_eq!(
        c.cgroup_path.as_deref(),
        Some(format!("/docker/{id}").as_str())
    );
    assert_eq!(c.pod, None);
    assert_eq!(c.pids, vec![4242]);
    assert_eq!(c.metrics.runtime, "docker");
    assert_eq!(c.metrics.container_id.as_deref(), Some(id));
    assert_eq!(c.metrics.memory_limit_bytes, Some(512 * 1024 * 1024));
    assert_eq!(c.metrics.cpu_shares, Some(512));
    assert_eq!(c.metrics.cpu_quota, Some(50_000));
    assert_eq!(c.metrics.cpu_period, Some(100_000));
    assert!(
        c.metrics.network_interfaces.contains(&"eth0".to_string()),
        "{:?}",
        c.metrics.network_interfaces
    );
}

#[test]
fn v2_systemd_host_lists_the_docker_scope() {
    let list = list_containers(&fixture("v2-systemd")).unwrap();
    assert_eq!(list.len(), 1, "{list:#?}");
    let c = &list[0];
    assert_eq!(c.runtime, "docker");
    assert_eq!(
        c.id,
        "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
    );
    assert_eq!(c.pids, vec![777]);
    assert_eq!(c.metrics.memory_limit_bytes, Some(256 * 1024 * 1024));
    assert_eq!(c.metrics.cpu_quota, Some(150_000));
    assert_eq!(c.metrics.cpu_period, Some(100_000));
}

#[test]
fn comounted_v1_host_lists_the_kubernetes_pod_container_as_unlimited() {
    let list = list_containers(&fixture("v1-comounted")).unwrap();
    assert_eq!(list.len(), 1, "{list:#?}");
    let c = &list[0];
    assert_eq!(c.runtime, "containerd");
    let pod = c.pod.as_ref().expect("pod");
    assert_eq!(pod.uid, "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b");
    assert_eq!(pod.qos.as_str(), "burstable");
    assert_eq!(
        c.metrics.memory_limit_bytes, None,
        "unlimited is not a number"
    );
    assert_eq!(c.metrics.cpu_quota, None);
    assert_eq!(c.metrics.cpu_shares, Some(102));
    let json = serde_json::to_value(c).unwrap();
    assert_eq!(json["metrics"]["memory"]["limit"], "unlimited");
    assert_eq!(json["pod"]["qos"], "burstable");
}
