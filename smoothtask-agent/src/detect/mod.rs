//! Where am I running? Self-detection of container, runtime, container id and orchestrator from
//! evidence under a [`HostRoot`]; the agent's own adaptation to its limits
//! ([`adapt_for_container`]).
//!
//! # Evidence, in order of precedence
//!
//! Every source below is read (a file that cannot be read, or holds garbage, is a gap in the
//! evidence, never an error) and what it says is recorded in [`ContainerInfo::evidence`] in this
//! order, with its source:
//!
//! 1. **Overrides** (the operator's word): `env:CONTAINER_TYPE` (any runtime name, or `none`),
//!    `env:DOCKER_CONTAINER`, `env:PODMAN_CONTAINER` (`1`/`true`/`yes`/`on`). The first override
//!    decides the runtime, even against all other evidence.
//! 2. **Declarations** by the container manager: `container=` in `/proc/1/environ`, `container=` in
//!    this process's environment (`env:container`), `/run/systemd/container`,
//!    `/run/host/container-manager`.
//! 3. **Identity** from cgroup paths, through the one pattern table in [`crate::runtime`]:
//!    `/proc/self/cgroup`, then `/proc/1/cgroup` (v2 line first, then `name=systemd`, then v1
//!    controllers; paths outside our cgroup namespace, `/..`, are not trusted).
//! 4. **Identity** from `/proc/self/mountinfo`: a cgroup mount whose root is a container cgroup
//!    (v1 with the host's cgroup namespace), the runtime directory behind `/etc/hostname`,
//!    `/etc/hosts`, `/etc/resolv.conf` (docker `containers/<id>/`, podman `overlay-containers/
//!    <id>/userdata/`, containerd CRI `sandboxes/<id>/`), kubelet's `pods/<uid>/`, and an LXC
//!    (`lxc/<name>/rootfs`) or machined (`/var/lib/machines/<name>`) root filesystem. This works in
//!    a private cgroup namespace, where cgroup paths are only `/`.
//! 5. **Weak** evidence: marker files `/run/.containerenv`, `/.containerenv` (podman; may hold
//!    `id="..."`, `name="..."`), `/.dockerenv`; the Kubernetes service account mount
//!    (`/var/run/secrets/kubernetes.io/serviceaccount`, or under `/run`, with its `namespace`)
//!    and `env:KUBERNETES_SERVICE_HOST`.
//! 6. **Information** that decides nothing alone: downward-API `env:POD_NAME`,
//!    `env:POD_NAMESPACE`, `env:POD_UID`; the cgroup namespace compared with PID 1's
//!    (`/proc/self/ns/cgroup`); a WSL kernel (`/proc/sys/kernel/osrelease`); and host hints.
//!
//! # How conflicts resolve
//!
//! - An override wins. Otherwise the runtime is the first **known** runtime named by tiers 2-4
//!   (declarations before identities), then the first unknown label (`container=oci`). So a
//!   specific cgroup identity refines a generic declaration, and a Kubernetes containerd
//!   container is named containerd, never docker.
//! - A runtime the pattern table only inferred (a bare id under cgroupfs kubepods: containerd)
//!   yields to one named by mountinfo (dockershim's `/var/lib/docker/containers/...`).
//! - Weak evidence decides only when tiers 1-4 say nothing, and only when there are no **host
//!   hints**: the root filesystem is a disk filesystem mounted whole from a block device, or this
//!   process's cgroup is a host systemd unit (`/init.scope`, `/system.slice/...`,
//!   `/user.slice/...`). A stray `/.dockerenv` on a host is therefore recorded, marked as
//!   outweighed, and the verdict is "not a container".
//! - Kubernetes evidence with no runtime named gives `Unknown("unknown")`: a container, runtime
//!   not known.
//! - WSL is a lightweight VM, not a container: recorded, never a runtime (`systemd-detect-virt`
//!   says `wsl`; SmoothTask says none unless container evidence says otherwise).
//!
//! # Ids
//!
//! [`ContainerInfo::container_id`] comes from the first evidence that agrees with the chosen
//! runtime: a cgroup identity, podman's `.containerenv` `id=`, the runtime directory behind
//! `/etc/hostname`. Under Kubernetes those /etc files belong to the pod sandbox, so their id is
//! recorded in the evidence but never presented as this container's. `$HOSTNAME` is never used.
//! LXC and systemd-nspawn containers are identified by name.

mod adapt;
mod cgroup_evidence;
mod context;
mod evidence;
mod markers;
mod mountinfo;
mod read;
mod render;
mod verdict;

use serde::{Deserialize, Serialize};

use crate::host::HostRoot;
pub use crate::runtime::{ContainerRuntime, QosClass};

pub use adapt::{
    Adaptation, CpuQuota, Limit, MAX_INTERVAL_SCALE, OwnLimits, SMALL_MEMORY_BYTES, adaptation_for,
    log_adaptation, own_limits_at,
};
pub use evidence::Evidence;
pub use render::render_human;

/// The orchestrator that runs this container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orchestrator {
    /// `kubernetes`.
    pub kind: String,
    pub pod_uid: Option<String>,
    pub qos: Option<QosClass>,
    pub namespace: Option<String>,
    /// The pod's name, from the downward-API `POD_NAME` only.
    pub name: Option<String>,
}

/// What self-detection found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerInfo {
    pub runtime: ContainerRuntime,
    pub is_containerized: bool,
    /// The full id (64 hex) where evidence has it; a `ctr` id; the name for LXC and
    /// systemd-nspawn. Never a guess.
    pub container_id: Option<String>,
    /// The container's cgroup path as this process sees it (`/` in a private cgroup namespace).
    pub cgroup_path: Option<String>,
    pub orchestrator: Option<Orchestrator>,
    /// Everything found, in order of precedence.
    pub evidence: Vec<Evidence>,
}

/// Detection on the running system.
pub fn get_container_info() -> ContainerInfo {
    get_container_info_at(&HostRoot::live())
}

/// Detection under `host` (a fixture tree in tests).
pub fn get_container_info_at(host: &HostRoot) -> ContainerInfo {
    let mut clues = markers::overrides(host);
    clues.extend(markers::declarations(host));
    let (own, own_lines) = cgroup_evidence::cgroup_clue(host, "self");
    clues.extend(own);
    clues.extend(cgroup_evidence::cgroup_clue(host, "1").0);
    if let Some(text) = read::read_text(&host.proc_path("self/mountinfo"), read::LARGE) {
        clues.extend(mountinfo::mount_clues(&mountinfo::parse_mountinfo(&text)));
    }
    clues.extend(markers::marker_files(host));
    clues.extend(context::kubernetes(host));
    clues.extend(context::cgroup_namespace(host));
    clues.extend(context::wsl(host));
    let own_path = cgroup_evidence::preferred_path(&own_lines).map(str::to_string);
    verdict::resolve(clues, own_path)
}

/// The runtime this process runs under, [`ContainerRuntime::None`] on a host.
pub fn detect_container_runtime() -> ContainerRuntime {
    detect_container_runtime_at(&HostRoot::live())
}

pub fn detect_container_runtime_at(host: &HostRoot) -> ContainerRuntime {
    get_container_info_at(host).runtime
}

/// Whether this process runs in a container.
pub fn is_containerized() -> bool {
    is_containerized_at(&HostRoot::live())
}

pub fn is_containerized_at(host: &HostRoot) -> bool {
    get_container_info_at(host).is_containerized
}

/// The adaptation for this process, from detection and its own limits.
pub fn adapt_for_container() -> Adaptation {
    adapt_for_container_at(&HostRoot::live())
}

pub fn adapt_for_container_at(host: &HostRoot) -> Adaptation {
    adaptation_for(&get_container_info_at(host), own_limits_at(host))
}
