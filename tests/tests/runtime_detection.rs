//! Privileged, real runtimes: `smoothtaskd --container-info --json` run inside containers made
//! by docker, podman, containerd, runc and lxc reports that it is containerized, the runtime,
//! and the id the runtime reported; `systemd-detect-virt --container`
//! is the reference for the runtimes it knows.

use smoothtask_tests::runtimes::{
    self, AGENT_IN_CONTAINER, Container, ContainerSpec, DETECT_VIRT_IN_CONTAINER, Runtime,
    require_runtime,
};

fn info_inside(container: &Container) -> serde_json::Value {
    let out = container
        .exec(&[AGENT_IN_CONTAINER, "--container-info", "--json"])
        .expect("exec smoothtaskd");
    assert!(
        out.status.success(),
        "{}: smoothtaskd --container-info failed: {}",
        container.runtime,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {}",
            container.runtime,
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// `systemd-detect-virt --container` run in the same container (prints `none` and exits 1 when
/// it sees no container).
fn detect_virt_inside(container: &Container) -> String {
    let out = container
        .exec(&[DETECT_VIRT_IN_CONTAINER, "--container"])
        .expect("exec systemd-detect-virt");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `reference`: what systemd-detect-virt must say in the same container, where it knows the
/// runtime (it never names containerd).
fn check(runtime: Runtime, expected_runtime: &str, reference: Option<&str>) {
    let test = format!("detection_inside_{runtime}");
    if !require_runtime(&test, runtime) {
        return;
    }
    let spec = ContainerSpec {
        with_agent: true,
        ..ContainerSpec::default()
    };
    let container = runtimes::start(runtime, &spec).unwrap_or_else(|e| panic!("{runtime}: {e}"));
    let info = info_inside(&container);
    eprintln!("{runtime}: {info}");
    assert_eq!(info["is_containerized"], true, "{runtime}: {info}");
    assert_eq!(info["runtime"], expected_runtime, "{runtime}: {info}");
    assert_eq!(
        info["container_id"],
        container.id.as_str(),
        "{runtime}: {info}"
    );
    if let Some(reference) = reference {
        assert_eq!(
            detect_virt_inside(&container),
            reference,
            "{runtime}: systemd-detect-virt"
        );
    }
}

#[test]
fn detection_inside_docker() {
    check(Runtime::Docker, "docker", Some("docker"));
}

#[test]
fn detection_inside_podman() {
    check(Runtime::Podman, "podman", Some("podman"));
}

#[test]
fn detection_inside_containerd() {
    check(Runtime::Containerd, "containerd", None);
}

#[test]
fn detection_inside_lxc() {
    check(Runtime::Lxc, "lxc", Some("lxc"));
}

#[test]
fn detection_inside_runc() {
    check(Runtime::Runc, "runc", None);
}

/// A Kubernetes-shaped container: containerd placing it where kubelet's cgroupfs driver would.
fn check_kubernetes(test: &str, qos_dir: Option<&str>, qos: &str) {
    if !require_runtime(test, Runtime::Containerd) {
        return;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let uid = format!(
        "5a1e{:04x}-0000-4000-8000-{:012x}",
        std::process::id() & 0xffff,
        nanos & 0xffff_ffff_ffff
    );
    let id = format!("{:064x}", nanos ^ 0x5eed);
    let path = match qos_dir {
        Some(dir) => format!("/kubepods/{dir}/pod{uid}/{id}"),
        None => format!("/kubepods/pod{uid}/{id}"),
    };
    let spec = ContainerSpec {
        with_agent: true,
        cgroup_path: Some(path.clone()),
        id: Some(id.clone()),
        ..ContainerSpec::default()
    };
    let container =
        runtimes::start(Runtime::Containerd, &spec).expect("start kubernetes-shaped container");
    assert_eq!(container.cgroup_path("memory"), Some(path.as_str()));
    let info = info_inside(&container);
    eprintln!("{test}: {info}");
    assert_eq!(info["is_containerized"], true, "{info}");
    assert_eq!(info["runtime"], "containerd", "{info}");
    assert_eq!(info["container_id"], id.as_str(), "{info}");
    assert_eq!(info["orchestrator"]["kind"], "kubernetes", "{info}");
    assert_eq!(info["orchestrator"]["pod_uid"], uid.as_str(), "{info}");
    assert_eq!(info["orchestrator"]["qos"], qos, "{info}");
}

#[test]
fn detection_inside_kubernetes_burstable_pod() {
    check_kubernetes(
        "detection_inside_kubernetes_burstable_pod",
        Some("burstable"),
        "burstable",
    );
}

#[test]
fn detection_inside_kubernetes_besteffort_pod() {
    check_kubernetes(
        "detection_inside_kubernetes_besteffort_pod",
        Some("besteffort"),
        "besteffort",
    );
}

#[test]
fn detection_inside_kubernetes_guaranteed_pod() {
    check_kubernetes(
        "detection_inside_kubernetes_guaranteed_pod",
        None,
        "guaranteed",
    );
}
