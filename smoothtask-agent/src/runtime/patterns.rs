//! THE table of container id patterns in cgroup paths, and the walk that applies it
//! ([`identify`], [`locate`], [`pod_of`]). Self-detection and host discovery both use it.
//!
//! A path is read component by component from the root; the **outermost** component that names a
//! container wins, so a container's sub-cgroups (`/docker/<id>/init`,
//! `/lxc.payload.c1/system.slice`, `libpod-<id>.scope/container`) and containers nested in it
//! belong to it. A component the table
//! marks as excluded (a runtime's monitor: conmon, `lxc.monitor.*`, a libvirt VM) ends the walk
//! with `None`: such a cgroup is never a container.
//!
//! | layout | pattern | runtime |
//! |---|---|---|
//! | docker, systemd driver | `docker-<64hex>.scope` | Docker |
//! | docker, cgroupfs driver | `docker/<64hex>` | Docker |
//! | podman, systemd | `libpod-<64hex>.scope` | Podman |
//! | podman, cgroupfs | `libpod-<64hex>` (as in `/libpod_parent/libpod-<64hex>`) | Podman |
//! | podman conmon | `libpod-conmon-<64hex>[.scope]`, `libpod_parent/conmon` | excluded |
//! | containerd CRI, systemd | `cri-containerd-<64hex>.scope` | Containerd |
//! | containerd `ctr` | `/<namespace>/<id>`, first component `default` or `k8s.io` only | Containerd |
//! | CRI-O | `crio-<64hex>[.scope]` | CriO |
//! | CRI-O conmon | `crio-conmon-<64hex>[.scope]` | excluded |
//! | Kubernetes pod, systemd | `[<prefix>-]kubepods[-burstable\|-besteffort]-pod<uid_>.slice` | pod |
//! | Kubernetes pod, cgroupfs | `kubepods[/burstable\|/besteffort]/pod<uid>` | pod |
//! | Kubernetes container, cgroupfs | `<64hex>` directly under a pod | Containerd (inferred) |
//! | LXC 4+ | `lxc.payload.<name>`, `lxc.payload/<name>` | Lxc |
//! | LXC monitor | `lxc.monitor.<name>`, `lxc.monitor/<name>` | excluded |
//! | LXC 1-3, LXD | `lxc/<name>` | Lxc |
//! | systemd-nspawn | `machine-<name>.scope` (escapes decoded) | SystemdNspawn |
//! | runc alone, systemd driver | `runc-<id>.scope` (`system.slice:runc:<id>`) | Unknown("runc") |
//! | libvirt LXC | `machine-lxc\x2d<n>\x2d<name>.scope` | Unknown("lxc-libvirt") |
//! | libvirt VM | `machine-qemu\x2d...scope` | excluded (a VM, not a container) |
//!
//! Rules worth knowing:
//! - Under a Kubernetes pod, the runtime comes from the scope prefix (`cri-containerd-` →
//!   Containerd, `crio-` → CriO, `docker-` → Docker). A bare `<64hex>` under a pod (cgroupfs
//!   driver) is named Containerd, the default runtime of current Kubernetes, with
//!   [`Located::runtime_inferred`] set so callers can let other evidence (dockershim's
//!   `/var/lib/docker/containers/...` mounts) override it. A Kubernetes containerd container is
//!   never called docker.
//! - `ctr` puts a container at `/<namespace>/<id>` at the root of the hierarchy. Only the
//!   namespaces `default` and `k8s.io` are recognised, and only as the first component, with an id
//!   that follows containerd's identifier rule; other first components are too ambiguous to claim.
//! - Bare 64-hex components elsewhere are not claimed.

use super::{
    ContainerIdentity, ContainerRuntime, PodIdentity, QosClass,
    ids::{
        decode_systemd_escapes, is_container_name, is_containerd_id, is_full_id, normalize_pod_uid,
    },
};

/// A container found in a cgroup path, with where its own cgroup ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<'a> {
    pub identity: ContainerIdentity,
    /// The container's own cgroup: the path up to and including the component(s) that name it
    /// (`/docker/<id>` for `/docker/<id>/init`).
    pub cgroup: &'a str,
    /// The path did not name the runtime and the table's default was used (a bare id under
    /// kubepods → Containerd).
    pub runtime_inferred: bool,
}

/// Which runtime a table row stands for (a `Copy` stand-in for [`ContainerRuntime`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Docker,
    Podman,
    Containerd,
    CriO,
    Lxc,
    /// runc driven directly (its systemd cgroup driver's `runc-<id>.scope`).
    Runc,
    /// A runtime's monitor or a VM: never a container.
    Excluded,
}

impl Kind {
    /// The runtime, or `None` for an excluded row.
    fn runtime(self) -> Option<ContainerRuntime> {
        match self {
            Self::Docker => Some(ContainerRuntime::Docker),
            Self::Podman => Some(ContainerRuntime::Podman),
            Self::Containerd => Some(ContainerRuntime::Containerd),
            Self::CriO => Some(ContainerRuntime::CriO),
            Self::Lxc => Some(ContainerRuntime::Lxc),
            Self::Runc => Some(ContainerRuntime::Unknown("runc".into())),
            Self::Excluded => None,
        }
    }
}

/// What follows a row's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IdRule {
    /// 64 lowercase hex digits.
    Full,
    /// A container name (no `/`, not `.`/`..`).
    Name,
}

impl IdRule {
    fn accepts(self, s: &str) -> bool {
        match self {
            Self::Full => is_full_id(s),
            Self::Name => is_container_name(s),
        }
    }
}

/// A one-component row: `<prefix><id><suffix>`.
struct Prefixed {
    prefix: &'static str,
    /// The component ends in `.scope` (systemd driver) or, if `cgroupfs` is set, may also end
    /// in nothing.
    scope: bool,
    cgroupfs: bool,
    id: IdRule,
    kind: Kind,
}

/// One-component rows. Monitors come first so they read first; their ids never match the
/// container rows anyway (`conmon-<hex>` is not 64 hex).
const PREFIXED: &[Prefixed] = &[
    Prefixed {
        prefix: "libpod-conmon-",
        scope: true,
        cgroupfs: true,
        id: IdRule::Full,
        kind: Kind::Excluded,
    },
    Prefixed {
        prefix: "crio-conmon-",
        scope: true,
        cgroupfs: true,
        id: IdRule::Full,
        kind: Kind::Excluded,
    },
    Prefixed {
        prefix: "lxc.monitor.",
        scope: false,
        cgroupfs: true,
        id: IdRule::Name,
        kind: Kind::Excluded,
    },
    Prefixed {
        prefix: "docker-",
        scope: true,
        cgroupfs: false,
        id: IdRule::Full,
        kind: Kind::Docker,
    },
    Prefixed {
        prefix: "libpod-",
        scope: true,
        cgroupfs: true,
        id: IdRule::Full,
        kind: Kind::Podman,
    },
    Prefixed {
        prefix: "cri-containerd-",
        scope: true,
        cgroupfs: false,
        id: IdRule::Full,
        kind: Kind::Containerd,
    },
    Prefixed {
        prefix: "crio-",
        scope: true,
        cgroupfs: true,
        id: IdRule::Full,
        kind: Kind::CriO,
    },
    Prefixed {
        prefix: "runc-",
        scope: true,
        cgroupfs: false,
        id: IdRule::Name,
        kind: Kind::Runc,
    },
    Prefixed {
        prefix: "lxc.payload.",
        scope: false,
        cgroupfs: true,
        id: IdRule::Name,
        kind: Kind::Lxc,
    },
];

/// Two-component rows: a parent directory and the container below it.
const PARENTED: &[(&str, IdRule, Kind)] = &[
    ("lxc.monitor", IdRule::Name, Kind::Excluded),
    ("docker", IdRule::Full, Kind::Docker),
    ("lxc.payload", IdRule::Name, Kind::Lxc),
    ("lxc", IdRule::Name, Kind::Lxc),
];

/// containerd namespaces recognised as the first component of `/<namespace>/<id>` (ctr).
const CTR_NAMESPACES: &[&str] = &["default", "k8s.io"];

/// A match at one component.
enum Hit {
    Container {
        runtime: ContainerRuntime,
        id: String,
        name: Option<String>,
        /// How many components the match spans (2 for `docker/<id>`).
        width: usize,
        inferred: bool,
    },
    Excluded,
}

impl Hit {
    fn of(kind: Kind, id: &str, width: usize) -> Self {
        let Some(runtime) = kind.runtime() else {
            return Self::Excluded;
        };
        let name = (kind == Kind::Lxc).then(|| id.to_string());
        Self::Container {
            runtime,
            id: id.to_string(),
            name,
            width,
            inferred: false,
        }
    }
}

/// The container a cgroup path belongs to, if the table knows its layout.
///
/// ```
/// use smoothtask_agent::runtime::{identify, ContainerRuntime};
/// let id = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";
/// let found = identify(&format!("/system.slice/docker-{id}.scope")).unwrap();
/// assert_eq!(found.runtime, ContainerRuntime::Docker);
/// assert_eq!(found.id, id);
/// ```
pub fn identify(cgroup_path: &str) -> Option<ContainerIdentity> {
    locate(cgroup_path).map(|found| found.identity)
}

/// Like [`identify`], and also where the container's own cgroup ends in the path.
pub fn locate(cgroup_path: &str) -> Option<Located<'_>> {
    let comps = components(cgroup_path);
    let mut pods = PodTracker::default();
    for i in 0..comps.len() {
        let next = comps.get(i + 1).map(|(_, c)| *c);
        match classify(comps[i].1, next, i == 0, pods.pod.is_some()) {
            Some(Hit::Excluded) => return None,
            Some(Hit::Container {
                runtime,
                id,
                name,
                width,
                inferred,
            }) => {
                let end = comps[i + width - 1].0;
                return Some(Located {
                    identity: ContainerIdentity {
                        runtime,
                        id,
                        pod: pods.pod,
                        name,
                    },
                    cgroup: &cgroup_path[..end],
                    runtime_inferred: inferred,
                });
            }
            None => pods.feed(comps[i].1),
        }
    }
    None
}

/// The Kubernetes pod a cgroup path belongs to: the pod cgroup itself, a container in it, or
/// anything below. `None` outside kubepods.
pub fn pod_of(cgroup_path: &str) -> Option<PodIdentity> {
    let mut pods = PodTracker::default();
    for (_, comp) in components(cgroup_path) {
        pods.feed(comp);
        if pods.pod.is_some() {
            return pods.pod;
        }
    }
    None
}

/// Non-empty components with the byte offset where each ends.
fn components(path: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for part in path.split('/') {
        let end = start + part.len();
        if !part.is_empty() {
            out.push((end, part));
        }
        start = end + 1;
    }
    out
}

/// Applies the table at `comp`; `next` is the component after it, `first` says `comp` is the
/// first component of the path, `under_pod` that a Kubernetes pod was seen above it.
fn classify(comp: &str, next: Option<&str>, first: bool, under_pod: bool) -> Option<Hit> {
    for row in PREFIXED {
        let Some(rest) = comp.strip_prefix(row.prefix) else {
            continue;
        };
        let id = match rest.strip_suffix(".scope") {
            Some(id) if row.scope => id,
            Some(_) => continue,
            None if row.cgroupfs => rest,
            None => continue,
        };
        if row.id.accepts(id) {
            return Some(Hit::of(row.kind, id, 1));
        }
    }
    if let Some(hit) = machine_scope(comp) {
        return Some(hit);
    }
    if let Some(next) = next {
        for &(parent, rule, kind) in PARENTED {
            if comp == parent && rule.accepts(next) {
                return Some(Hit::of(kind, next, 2));
            }
        }
        if comp == "libpod_parent" && next == "conmon" {
            return Some(Hit::Excluded);
        }
        if first && CTR_NAMESPACES.contains(&comp) && is_containerd_id(next) {
            return Some(Hit::of(Kind::Containerd, next, 2));
        }
    }
    if under_pod && is_full_id(comp) {
        return Some(Hit::Container {
            runtime: ContainerRuntime::Containerd,
            id: comp.to_string(),
            name: None,
            width: 1,
            inferred: true,
        });
    }
    None
}

/// `machine-<escaped name>.scope`, machined's scope for systemd-nspawn (and libvirt).
fn machine_scope(comp: &str) -> Option<Hit> {
    let escaped = comp.strip_prefix("machine-")?.strip_suffix(".scope")?;
    let name = decode_systemd_escapes(escaped);
    if !is_container_name(&name) {
        return None;
    }
    if name.starts_with("qemu-") {
        return Some(Hit::Excluded);
    }
    if let Some(rest) = name.strip_prefix("lxc-")
        && let Some((number, short)) = rest.split_once('-')
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && is_container_name(short)
    {
        return Some(Hit::Container {
            runtime: ContainerRuntime::Unknown("lxc-libvirt".to_string()),
            id: short.to_string(),
            name: Some(short.to_string()),
            width: 1,
            inferred: false,
        });
    }
    Some(Hit::Container {
        runtime: ContainerRuntime::SystemdNspawn,
        id: name.clone(),
        name: Some(name),
        width: 1,
        inferred: false,
    })
}

/// Follows kubepods components down to a pod.
#[derive(Default)]
struct PodTracker {
    /// Inside cgroupfs `kubepods`, with the QoS seen so far.
    cgroupfs_qos: Option<QosClass>,
    pod: Option<PodIdentity>,
}

impl PodTracker {
    fn feed(&mut self, comp: &str) {
        if self.pod.is_some() {
            return;
        }
        if let Some(pod) = systemd_pod_slice(comp) {
            self.pod = Some(pod);
            return;
        }
        if comp == "kubepods" {
            self.cgroupfs_qos = Some(QosClass::Guaranteed);
            return;
        }
        let Some(qos) = self.cgroupfs_qos else {
            return;
        };
        match comp {
            "burstable" if qos == QosClass::Guaranteed => {
                self.cgroupfs_qos = Some(QosClass::Burstable)
            }
            "besteffort" if qos == QosClass::Guaranteed => {
                self.cgroupfs_qos = Some(QosClass::BestEffort)
            }
            _ => {
                self.pod = comp
                    .strip_prefix("pod")
                    .and_then(normalize_pod_uid)
                    .map(|uid| PodIdentity { uid, qos });
                // Anything else below kubepods that is not a pod ends the cgroupfs layout.
                self.cgroupfs_qos = None;
            }
        }
    }
}

/// `[<prefix>-]kubepods[-burstable|-besteffort]-pod<uid with underscores>.slice`.
fn systemd_pod_slice(comp: &str) -> Option<PodIdentity> {
    let name = comp.strip_suffix(".slice")?;
    let at = name.rfind("-pod")?;
    let (head, uid) = (&name[..at], &name[at + "-pod".len()..]);
    let qos = [
        ("kubepods", QosClass::Guaranteed),
        ("kubepods-burstable", QosClass::Burstable),
        ("kubepods-besteffort", QosClass::BestEffort),
    ]
    .into_iter()
    .find(|(tail, _)| {
        head == *tail
            || head
                .strip_suffix(tail)
                .is_some_and(|prefix| prefix.ends_with('-'))
    })?
    .1;
    let uid = normalize_pod_uid(uid)?;
    Some(PodIdentity { uid, qos })
}
