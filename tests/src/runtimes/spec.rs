//! What a test asks of a container: limits, placement, and whether the agent comes along.

use std::path::PathBuf;

/// Limits and placement for a test container. `Default` is a plain busybox `sleep`.
#[derive(Clone, Debug, Default)]
pub struct ContainerSpec {
    /// Memory limit in bytes.
    pub memory_limit: Option<u64>,
    /// v1 cpu.shares.
    pub cpu_shares: Option<u64>,
    /// CFS quota and period in microseconds.
    pub cpu_quota: Option<(i64, u64)>,
    /// containerd and runc: the absolute cgroup path to place the container at (for example
    /// kubelet's `/kubepods/burstable/pod<uid>/<64 hex>`). Ignored by the others.
    pub cgroup_path: Option<String>,
    /// containerd and runc: the container id to use (64 hex for Kubernetes-shaped cases).
    pub id: Option<String>,
    /// docker and podman: the container's command instead of `sleep 3600`.
    pub command: Option<Vec<String>>,
    /// Give the container its own `eth0`: one end of a veth pair moved into its network
    /// namespace (the pair goes away with the namespace).
    pub with_eth0: bool,
    /// Bind-mount the host's `smoothtaskd` at `/smoothtask/smoothtaskd` and the host's library
    /// directories read-only, so the agent can run inside.
    pub with_agent: bool,
}

/// Where the agent binary is mounted inside containers.
pub const AGENT_IN_CONTAINER: &str = "/smoothtask/smoothtaskd";
/// Where the host's `systemd-detect-virt` (the reference verdict) is mounted, when the host has
/// it; it runs on the host's libraries mounted beside it.
pub const DETECT_VIRT_IN_CONTAINER: &str = "/sdv/systemd-detect-virt";
const DETECT_VIRT_ON_HOST: &str = "/usr/bin/systemd-detect-virt";

/// Read-only bind mounts (host, container) that let the host's smoothtaskd run in a busybox
/// container: its directory and the host's dynamic loader and libraries.
pub fn agent_mounts() -> Vec<(PathBuf, String)> {
    let bin = crate::daemon::smoothtaskd_path();
    let dir = bin
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut mounts = vec![(dir, "/smoothtask".to_string())];
    if std::path::Path::new(DETECT_VIRT_ON_HOST).is_file() {
        mounts.push((
            PathBuf::from(DETECT_VIRT_ON_HOST),
            DETECT_VIRT_IN_CONTAINER.to_string(),
        ));
    }
    for lib in ["/usr/lib", "/usr/lib64"] {
        if std::path::Path::new(lib).is_dir() {
            mounts.push((PathBuf::from(lib), lib.to_string()));
        }
    }
    mounts
}
