//! Container identity from a cgroup path: runtime, container id, pod uid and QoS, name. The one
//! table of container id patterns for the whole project is in [`patterns`]; self-detection
//! (`detect`) and host discovery both use it. Pure functions over `&str`.

mod ids;
mod kinds;
pub mod patterns;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use ids::{decode_systemd_escapes, is_containerd_id, is_full_id, normalize_pod_uid};
pub use kinds::{ContainerRuntime, MAX_RUNTIME_LABEL, ParseQosError, ParseRuntimeError, QosClass};
pub use patterns::{Located, identify, locate, pod_of};

/// A Kubernetes pod as its cgroup names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PodIdentity {
    /// The pod uid with dashes (systemd slice names carry it with underscores).
    pub uid: String,
    pub qos: QosClass,
}

/// A container as its cgroup path names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContainerIdentity {
    pub runtime: ContainerRuntime,
    /// The full id (64 hex for docker, podman, CRI containerd, CRI-O), the `ctr` id, or the
    /// container's name for LXC and systemd-nspawn.
    pub id: String,
    /// The Kubernetes pod, for containers under kubepods.
    pub pod: Option<PodIdentity>,
    /// The name, where the path carries one (LXC, systemd-nspawn).
    pub name: Option<String>,
}
