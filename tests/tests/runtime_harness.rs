//! Privileged, real runtimes: the harness starts a container through each runtime with the
//! limits asked for, the agent binary runs inside it, and removal leaves no cgroup behind.

use std::path::Path;

use smoothtask_tests::runtimes::{
    self, AGENT_IN_CONTAINER, ContainerSpec, Runtime, require_runtime,
};

fn read_trimmed(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

fn check_runtime(runtime: Runtime) {
    let test = format!("harness_{runtime}");
    if !require_runtime(&test, runtime) {
        return;
    }
    let spec = ContainerSpec {
        memory_limit: Some(48 * 1024 * 1024),
        cpu_shares: Some(768),
        cpu_quota: Some((30_000, 100_000)),
        with_agent: true,
        ..ContainerSpec::default()
    };
    let container =
        runtimes::start(runtime, &spec).unwrap_or_else(|e| panic!("{runtime}: start: {e}"));
    assert!(
        container.init_pid > 1,
        "{runtime}: init pid {}",
        container.init_pid
    );
    let memory = container
        .cgroup_path("memory")
        .expect("memory cgroup")
        .to_string();
    let cpu = container
        .cgroup_path("cpu")
        .expect("cpu cgroup")
        .to_string();
    let mem_dir = Path::new("/sys/fs/cgroup/memory").join(memory.trim_start_matches('/'));
    let cpu_dir = Path::new("/sys/fs/cgroup/cpu").join(cpu.trim_start_matches('/'));
    assert_eq!(
        read_trimmed(&mem_dir.join("memory.limit_in_bytes")),
        (48u64 << 20).to_string(),
        "{runtime}"
    );
    assert_eq!(
        read_trimmed(&cpu_dir.join("cpu.shares")),
        "768",
        "{runtime}"
    );
    assert_eq!(
        read_trimmed(&cpu_dir.join("cpu.cfs_quota_us")),
        "30000",
        "{runtime}"
    );
    assert_eq!(
        read_trimmed(&cpu_dir.join("cpu.cfs_period_us")),
        "100000",
        "{runtime}"
    );

    let out = container
        .exec(&[AGENT_IN_CONTAINER, "--version"])
        .expect("exec");
    assert!(
        out.status.success(),
        "{runtime}: smoothtaskd --version inside: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("smoothtaskd {}", env!("CARGO_PKG_VERSION"))
    );

    drop(container);
    assert!(
        !mem_dir.exists(),
        "{runtime}: {} left behind",
        mem_dir.display()
    );
}

#[test]
fn harness_docker() {
    check_runtime(Runtime::Docker);
}

#[test]
fn harness_podman() {
    check_runtime(Runtime::Podman);
}

#[test]
fn harness_containerd() {
    check_runtime(Runtime::Containerd);
}

#[test]
fn harness_runc() {
    check_runtime(Runtime::Runc);
}

#[test]
fn harness_lxc() {
    check_runtime(Runtime::Lxc);
}
