//! Evidence from `/proc/self/mountinfo`: where `/etc/hostname`, `/etc/hosts` and
//! `/etc/resolv.conf` come from (docker's `containers/<id>/`, podman's and CRI-O's
//! `overlay-containers/<id>/userdata/`, containerd CRI's `sandboxes/<id>/`, kubelet's
//! `pods/<uid>/`), the roots of cgroup mounts, and what the root filesystem is. This works inside a
//! private cgroup namespace, where `/proc/self/cgroup` says only `/`.

use crate::runtime::{ContainerRuntime, is_full_id, locate, normalize_pod_uid};

use super::evidence::{Clue, Tier};

const SOURCE: &str = "/proc/self/mountinfo";

/// One mountinfo line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Mount {
    /// The path inside the mounted filesystem that is mounted here (field 4).
    pub root: String,
    pub mount_point: String,
    pub fstype: String,
    pub source: String,
    pub super_options: String,
}

/// The lines that parse; truncated and garbage lines are skipped.
pub(super) fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

/// One line through the cgroup module's mountinfo parser (the one parser of the format).
fn parse_line(line: &str) -> Option<Mount> {
    let e = crate::cgroup::parse_mountinfo_line(line, 0).ok()?;
    Some(Mount {
        root: e.root,
        mount_point: e.mount_point.to_string_lossy().into_owned(),
        fstype: e.fs_type,
        source: e.source,
        super_options: e.super_options,
    })
}

/// The files a runtime bind-mounts from its own storage.
const ETC_FILES: &[&str] = &["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];
/// Mount points whose source may be kubelet's `pods/<uid>/` directory.
const KUBELET_MOUNT_POINTS: &[&str] = &[
    "/etc/hosts",
    "/dev/termination-log",
    "/var/run/secrets/kubernetes.io/serviceaccount",
    "/run/secrets/kubernetes.io/serviceaccount",
];

/// What a runtime's storage directory says.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Storage {
    runtime: ContainerRuntime,
    id: String,
    /// containerd CRI sandbox directories hold the pod's files, never a container's own.
    always_sandbox: bool,
    /// The directory, for the finding.
    dir: String,
}

/// Names a runtime storage directory in a mount's root field.
fn storage_of(root: &str) -> Option<Storage> {
    let comps: Vec<&str> = root.split('/').filter(|c| !c.is_empty()).collect();
    for (i, window) in comps.windows(2).enumerate() {
        let (parent, id) = (window[0], window[1]);
        if !is_full_id(id) {
            continue;
        }
        let before = i.checked_sub(1).map(|j| comps[j]);
        let dir = format!("/{}/", comps[..i + 2].join("/"));
        let found = match parent {
            "containers" if matches!(before, None | Some("docker")) => {
                Some((ContainerRuntime::Docker, false))
            }
            "overlay-containers" if comps.get(i + 2) == Some(&"userdata") => {
                Some((ContainerRuntime::Podman, false))
            }
            "sandboxes" if before.is_some_and(|b| b.starts_with("io.containerd.grpc.v1.cri")) => {
                Some((ContainerRuntime::Containerd, true))
            }
            _ => None,
        };
        if let Some((runtime, always_sandbox)) = found {
            return Some(Storage {
                runtime,
                id: id.to_string(),
                always_sandbox,
                dir,
            });
        }
    }
    None
}

/// A pod uid from kubelet's `.../kubelet/pods/<uid>/...`, or `/pods/<uid>/...` when kubelet's
/// directory is a filesystem of its own (only for well-known mount points).
fn kubelet_pod_of(mount: &Mount) -> Option<String> {
    let comps: Vec<&str> = mount.root.split('/').filter(|c| !c.is_empty()).collect();
    let at = comps
        .windows(2)
        .position(|w| w == ["kubelet", "pods"])
        .map(|i| i + 2);
    let at = at.or_else(|| {
        (comps.first() == Some(&"pods")
            && KUBELET_MOUNT_POINTS.contains(&mount.mount_point.as_str()))
        .then_some(1)
    })?;
    normalize_pod_uid(comps.get(at)?)
}

/// Every clue mountinfo gives, in this order: a cgroup mount root that names a container, the
/// runtime storage behind /etc files, kubelet's pod directory, the root filesystem.
pub(super) fn mount_clues(mounts: &[Mount]) -> Vec<Clue> {
    let mut clues = Vec::new();
    clues.extend(cgroup_root_clue(mounts));
    let pod_uid = mounts.iter().find_map(kubelet_pod_of);
    clues.extend(storage_clues(mounts, pod_uid.is_some()));
    if let Some(uid) = pod_uid {
        let mut clue = Clue::new(
            Tier::Identified,
            SOURCE,
            format!("files mounted from kubelet's pods/{uid}/: Kubernetes pod {uid}"),
            None,
        )
        .kubernetes();
        clue.pod_uid = Some(uid);
        clues.push(clue);
    }
    clues.extend(root_fs_clue(mounts));
    clues
}

/// A v1 cgroup mount seen from a container with the host's cgroup namespace has the container's
/// cgroup as its root (`/docker/<id>` mounted at `/sys/fs/cgroup/memory`).
fn cgroup_root_clue(mounts: &[Mount]) -> Option<Clue> {
    mounts
        .iter()
        .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
        .find_map(|m| {
            let found = locate(&m.root)?;
            let identity = &found.identity;
            let tier = if found.runtime_inferred {
                Tier::Inferred
            } else {
                Tier::Identified
            };
            let finding = format!(
                "cgroup mount {} has root {}: {} container {}",
                m.mount_point,
                m.root,
                identity.runtime.as_str(),
                identity.id
            );
            let mut clue = Clue::new(tier, SOURCE, finding, Some(identity.runtime.clone()))
                .with_id(identity.id.clone())
                .with_pod(identity.pod.clone());
            clue.cgroup_path = Some(found.cgroup.to_string());
            Some(clue)
        })
}

/// One clue per runtime directory behind /etc/hostname, /etc/hosts, /etc/resolv.conf. Under
/// Kubernetes those files are the pod sandbox's, so the id is recorded as the sandbox's and CRI-O
/// (not podman) owns `overlay-containers/`.
fn storage_clues(mounts: &[Mount], kubernetes: bool) -> Vec<Clue> {
    let mut found: Vec<(Storage, Vec<&str>)> = Vec::new();
    for mount in mounts
        .iter()
        .filter(|m| ETC_FILES.contains(&m.mount_point.as_str()))
    {
        let Some(storage) = storage_of(&mount.root) else {
            continue;
        };
        match found.iter_mut().find(|(s, _)| *s == storage) {
            Some((_, files)) => files.push(&mount.mount_point),
            None => found.push((storage, vec![&mount.mount_point])),
        }
    }
    found
        .into_iter()
        .map(|(mut storage, files)| {
            if kubernetes && storage.runtime == ContainerRuntime::Podman {
                storage.runtime = ContainerRuntime::CriO;
            }
            let sandbox = storage.always_sandbox || kubernetes;
            let what = if sandbox {
                format!("pod sandbox {} (not this container's id)", storage.id)
            } else {
                format!("container {}", storage.id)
            };
            let finding = format!(
                "{} from {}: {} {what}",
                files.join(", "),
                storage.dir,
                storage.runtime.as_str()
            );
            let mut clue = Clue::new(Tier::Identified, SOURCE, finding, Some(storage.runtime));
            if !storage.always_sandbox {
                clue = clue.with_id(storage.id);
                clue.id_is_sandbox_under_kubernetes = true;
            }
            clue
        })
        .collect()
}

/// Filesystems a host boots from; a container's root is overlay, a bind mount or a dataset.
const DISK_FILESYSTEMS: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "bcachefs",
];

/// The root filesystem: an LXC or machined rootfs directory names the container; a disk
/// filesystem mounted whole from a block device is a host hint.
fn root_fs_clue(mounts: &[Mount]) -> Option<Clue> {
    let root = mounts.iter().rev().find(|m| m.mount_point == "/")?;
    let comps: Vec<&str> = root.root.split('/').filter(|c| !c.is_empty()).collect();
    let named = match comps.as_slice() {
        [.., "lxc", name, "rootfs"] => Some((ContainerRuntime::Lxc, *name)),
        [.., "storage-pools", _, "containers", name, "rootfs"] => {
            Some((ContainerRuntime::Lxc, *name))
        }
        [.., "lib", "machines", name] => Some((ContainerRuntime::SystemdNspawn, *name)),
        _ => None,
    };
    if let Some((runtime, name)) = named {
        let finding = format!(
            "root filesystem is {}: {} container {name}",
            root.root,
            runtime.as_str()
        );
        return Some(Clue::new(Tier::Identified, SOURCE, finding, Some(runtime)).with_id(name));
    }
    let whole = comps.is_empty() || (root.fstype == "btrfs" && comps.len() == 1);
    let disk = DISK_FILESYSTEMS.contains(&root.fstype.as_str())
        && root.source.starts_with("/dev/")
        && !root.source.starts_with("/dev/mapper/docker-");
    if whole && disk {
        let finding = format!(
            "root filesystem is {} from {} (a host's disk, not a container image)",
            root.fstype, root.source
        );
        return Some(Clue::new(Tier::Info, SOURCE, finding, None).host_hint());
    }
    // A root that is a directory of a disk filesystem, or an overlay, is what container runtimes
    // make with pivot_root; hosts boot from a whole filesystem. Weak: it names no runtime.
    let pivoted = disk && !whole;
    let overlay = root.fstype == "overlay";
    (pivoted || overlay).then(|| {
        let finding = if overlay {
            "root filesystem is an overlay (a container image)".to_string()
        } else {
            format!(
                "root filesystem is directory {} of {} (a pivoted root, as container runtimes make)",
                root.root, root.source
            )
        };
        Clue::new(
            Tier::Weak,
            SOURCE,
            finding,
            Some(ContainerRuntime::Unknown("unknown".into())),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";
    const SID: &str = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b";

    fn line(root: &str, mount_point: &str, rest: &str) -> String {
        format!("1 2 254:0 {root} {mount_point} rw,relatime shared:1 - {rest}\n")
    }

    #[test]
    fn parses_fields_and_escapes() {
        let mounts = parse_mountinfo(&line("/a\\040b", "/mnt/x\\134y", "ext4 /dev/vda rw"));
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].root, "/a b");
        assert_eq!(mounts[0].mount_point, "/mnt/x\\y");
        assert_eq!(mounts[0].fstype, "ext4");
        assert_eq!(mounts[0].source, "/dev/vda");
        assert_eq!(crate::cgroup::unescape_octal("\\777\\09"), b"\\777\\09");
    }

    #[test]
    fn garbage_and_truncated_lines_are_skipped() {
        let text = "garbage\n1 2 3\n1 2 254:0 / / rw - ext4\n\u{0}\n36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].mount_point, "/mnt2");
    }

    #[test]
    fn docker_hostname_names_the_container() {
        let text = line(
            &format!("/var/lib/docker/containers/{ID}/hostname"),
            "/etc/hostname",
            "ext4 /dev/vda rw",
        ) + &line(
            &format!("/var/lib/docker/containers/{ID}/hosts"),
            "/etc/hosts",
            "ext4 /dev/vda rw",
        );
        let clues = mount_clues(&parse_mountinfo(&text));
        assert_eq!(clues.len(), 1);
        assert_eq!(clues[0].runtime(), Some(&ContainerRuntime::Docker));
        assert_eq!(clues[0].id.as_deref(), Some(ID));
        assert!(
            clues[0]
                .evidence
                .finding
                .contains("/etc/hostname, /etc/hosts")
        );
    }

    #[test]
    fn separate_docker_filesystem_and_non_docker_containers_dirs() {
        let own_fs = line(
            &format!("/containers/{ID}/resolv.conf"),
            "/etc/resolv.conf",
            "xfs /dev/sdb rw",
        );
        assert_eq!(
            mount_clues(&parse_mountinfo(&own_fs))[0].id.as_deref(),
            Some(ID)
        );
        let other = line(
            &format!("/srv/containers/{ID}/resolv.conf"),
            "/etc/resolv.conf",
            "xfs /dev/sdb rw",
        );
        assert!(mount_clues(&parse_mountinfo(&other)).is_empty());
    }

    #[test]
    fn kubernetes_mounts_mark_sandboxes() {
        let text = line(
            &format!("/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/{SID}/hostname"),
            "/etc/hostname",
            "ext4 /dev/sda1 rw",
        ) + &line(
            "/var/lib/kubelet/pods/5d2a6e9c-7b1f-4c3a-9e8d-0f1a2b3c4d5e/etc-hosts",
            "/etc/hosts",
            "ext4 /dev/sda1 rw",
        );
        let clues = mount_clues(&parse_mountinfo(&text));
        assert_eq!(clues.len(), 2);
        assert_eq!(clues[0].runtime(), Some(&ContainerRuntime::Containerd));
        assert_eq!(clues[0].id, None);
        assert!(clues[0].evidence.finding.contains(SID));
        assert_eq!(
            clues[1].pod_uid.as_deref(),
            Some("5d2a6e9c-7b1f-4c3a-9e8d-0f1a2b3c4d5e")
        );
        assert!(clues[1].kubernetes);
    }

    #[test]
    fn overlay_containers_is_crio_under_kubernetes() {
        let crio = line(
            &format!("/containers/storage/overlay-containers/{SID}/userdata/hostname"),
            "/etc/hostname",
            "tmpfs tmpfs rw",
        ) + &line(
            "/pods/5d2a6e9c-7b1f-4c3a-9e8d-0f1a2b3c4d5e/etc-hosts",
            "/etc/hosts",
            "xfs /dev/sdc rw",
        );
        let clues = mount_clues(&parse_mountinfo(&crio));
        assert_eq!(clues[0].runtime(), Some(&ContainerRuntime::CriO));
        assert!(clues[0].id_is_sandbox_under_kubernetes);
        let podman = line(
            &format!("/containers/storage/overlay-containers/{ID}/userdata/hostname"),
            "/etc/hostname",
            "tmpfs tmpfs rw",
        );
        let clues = mount_clues(&parse_mountinfo(&podman));
        assert_eq!(clues[0].runtime(), Some(&ContainerRuntime::Podman));
        assert_eq!(clues[0].id.as_deref(), Some(ID));
    }

    #[test]
    fn root_filesystems() {
        let lxc = mount_clues(&parse_mountinfo(&line(
            "/var/lib/lxc/c1/rootfs",
            "/",
            "ext4 /dev/vda rw",
        )));
        assert_eq!(lxc[0].runtime(), Some(&ContainerRuntime::Lxc));
        assert_eq!(lxc[0].id.as_deref(), Some("c1"));
        let nspawn = mount_clues(&parse_mountinfo(&line(
            "/var/lib/machines/deb",
            "/",
            "ext4 /dev/vda rw",
        )));
        assert_eq!(nspawn[0].runtime(), Some(&ContainerRuntime::SystemdNspawn));
        let host = mount_clues(&parse_mountinfo(&line("/", "/", "ext4 /dev/vda rw")));
        assert!(host[0].host_hint);
        let btrfs = mount_clues(&parse_mountinfo(&line(
            "/@",
            "/",
            "btrfs /dev/nvme0n1p2 rw",
        )));
        assert!(btrfs[0].host_hint);
        let overlay = mount_clues(&parse_mountinfo(&line(
            "/",
            "/",
            "overlay overlay rw,lowerdir=/x",
        )));
        assert_eq!(overlay.len(), 1);
        assert!(!overlay[0].host_hint);
        assert_eq!(overlay[0].tier, Tier::Weak);
        assert_eq!(
            overlay[0].evidence.finding,
            "root filesystem is an overlay (a container image)"
        );
        let pivoted = mount_clues(&parse_mountinfo(&line(
            "/srv/bundles/c1/rootfs",
            "/",
            "ext4 /dev/vda rw",
        )));
        assert_eq!(pivoted.len(), 1);
        assert_eq!(
            pivoted[0].runtime(),
            Some(&ContainerRuntime::Unknown("unknown".into()))
        );
        assert_eq!(
            pivoted[0].evidence.finding,
            "root filesystem is directory /srv/bundles/c1/rootfs of /dev/vda (a pivoted root, as container runtimes make)"
        );
        let devmapper = mount_clues(&parse_mountinfo(&line(
            "/",
            "/",
            "xfs /dev/mapper/docker-253:0-1-abc rw",
        )));
        assert!(devmapper.is_empty());
    }

    #[test]
    fn cgroup_mount_roots_name_the_container() {
        let text = line(
            &format!("/docker/{ID}"),
            "/sys/fs/cgroup/memory",
            "cgroup cgroup rw,memory",
        );
        let clues = mount_clues(&parse_mountinfo(&text));
        assert_eq!(clues[0].runtime(), Some(&ContainerRuntime::Docker));
        assert_eq!(clues[0].cgroup_path, Some(format!("/docker/{ID}")));
    }
}
