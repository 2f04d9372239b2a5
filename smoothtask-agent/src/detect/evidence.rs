//! One piece of evidence: the public [`Evidence`] record, and the internal [`Clue`] that carries
//! what the verdict needs from it (its tier, an id, a pod, hints).

use serde::{Deserialize, Serialize};

use crate::runtime::{ContainerRuntime, PodIdentity};

/// What one source said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Where it was found: `env:CONTAINER_TYPE`, `/proc/1/environ`, `/run/.containerenv`,
    /// `/proc/self/cgroup`, `/proc/self/mountinfo`, ...
    pub source: String,
    /// What was found there, for people.
    pub finding: String,
    /// The runtime this evidence names, if it names one.
    pub runtime: Option<ContainerRuntime>,
}

/// How much a clue weighs; see the module documentation for the rules. Lower is stronger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Tier {
    /// `CONTAINER_TYPE`, `DOCKER_CONTAINER`, `PODMAN_CONTAINER`: the operator's word.
    Override,
    /// The container manager's own declaration (`container=`, `/run/systemd/container`, ...).
    Declared,
    /// A cgroup path or a mount source that names the runtime and the container.
    Identified,
    /// A cgroup path whose runtime the table assumed (bare id under kubepods).
    Inferred,
    /// Weak: marker files, Kubernetes context. Yields to host hints.
    Weak,
    /// Recorded for people and for hints; decides nothing by itself.
    Info,
}

/// Evidence plus what the verdict needs from it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Clue {
    pub tier: Tier,
    pub evidence: Evidence,
    /// The container's id as this source shows it (full id, ctr id, or LXC/nspawn name).
    pub id: Option<String>,
    /// The id may be the pod sandbox's rather than this container's when Kubernetes runs it
    /// (ids from /etc/hostname and /etc/resolv.conf sources).
    pub id_is_sandbox_under_kubernetes: bool,
    /// The container's own cgroup path.
    pub cgroup_path: Option<String>,
    pub pod: Option<PodIdentity>,
    pub pod_uid: Option<String>,
    /// Says Kubernetes runs this container.
    pub kubernetes: bool,
    pub namespace: Option<String>,
    pub pod_name: Option<String>,
    /// Says this looks like a host (contradicts weak evidence).
    pub host_hint: bool,
}

impl Clue {
    pub fn new(
        tier: Tier,
        source: impl Into<String>,
        finding: impl Into<String>,
        runtime: Option<ContainerRuntime>,
    ) -> Self {
        Self {
            tier,
            evidence: Evidence {
                source: source.into(),
                finding: finding.into(),
                runtime,
            },
            id: None,
            id_is_sandbox_under_kubernetes: false,
            cgroup_path: None,
            pod: None,
            pod_uid: None,
            kubernetes: false,
            namespace: None,
            pod_name: None,
            host_hint: false,
        }
    }

    pub fn runtime(&self) -> Option<&ContainerRuntime> {
        self.evidence.runtime.as_ref()
    }

    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    pub fn with_pod(mut self, pod: Option<PodIdentity>) -> Self {
        if let Some(pod) = &pod {
            self.pod_uid = Some(pod.uid.clone());
            self.kubernetes = true;
        }
        self.pod = pod;
        self
    }

    pub fn kubernetes(mut self) -> Self {
        self.kubernetes = true;
        self
    }

    pub fn host_hint(mut self) -> Self {
        self.host_hint = true;
        self
    }
}
