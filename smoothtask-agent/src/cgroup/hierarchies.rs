//! The host's cgroup hierarchies: every v1 hierarchy (controllers, name, kernel hierarchy id),
//! the v2 mount and the layout, with lookups by hierarchy id and controller and the mapping of
//! a cgroup path to its directory. Built by `discover.rs`, printed by `render.rs`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{paths::host_path, proc_cgroup::ProcCgroupEntry, subsystems::Subsystem};
use crate::host::HostRoot;

/// Which cgroup versions the host has mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Only v1 hierarchies (legacy).
    V1,
    /// Only cgroup2 (unified); named v1 hierarchies such as `name=systemd` may still be mounted
    /// for old containers, but no controller is on v1.
    V2,
    /// v1 controllers plus a cgroup2 mount (systemd's hybrid mode: `/sys/fs/cgroup/unified`).
    Hybrid,
    /// No cgroup filesystem mounted.
    None,
}

/// Another mount of the same hierarchy (bind mounts, a container's view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub mount_point: PathBuf,
    pub root: String,
}

/// A cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1Hierarchy {
    /// The kernel's hierarchy id (`/proc/cgroups`, `/proc/<pid>/cgroup`, and `root` in the
    /// cgroup tracepoints). Named hierarchies are not in `/proc/cgroups`: their id comes from
    /// `/proc/self/cgroup` when [`Hierarchies::read`] can read it, else it stays `None`.
    pub hierarchy_id: Option<u32>,
    /// Controllers bound to it, as in the mount's super options (`cpu`, `cpuacct`, ...).
    pub controllers: Vec<String>,
    /// `name=` of a named hierarchy (`systemd`).
    pub name: Option<String>,
    /// Where it is mounted (the mount with the widest root when mounted several times).
    pub mount_point: PathBuf,
    /// The cgroup at `mount_point`, relative to the hierarchy's root (`/docker/<id>` when a
    /// container sees only its own cgroup).
    pub root: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_mounts: Vec<Mount>,
}

/// The cgroup v2 (unified) hierarchy. Its hierarchy id is always 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V2Hierarchy {
    pub mount_point: PathBuf,
    pub root: String,
    /// `cgroup.controllers` at the mount's root; `None` when it was not read (pure parsing) or
    /// could not be read.
    pub controllers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_mounts: Vec<Mount>,
}

/// Everything known about the host's cgroup hierarchies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchies {
    pub layout: Layout,
    pub v1: Vec<V1Hierarchy>,
    pub v2: Option<V2Hierarchy>,
    /// `/proc/cgroups` as read (empty when unavailable).
    pub subsystems: Vec<Subsystem>,
    /// Lines or files that were skipped, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One hierarchy, v1 or v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HierarchyRef<'a> {
    V1(&'a V1Hierarchy),
    V2(&'a V2Hierarchy),
}

/// The part of `cgroup_path` below the mount's `root`, or `None` when the cgroup is not
/// visible through that mount or the path has `..` components.
fn relative_to_root<'p>(root: &str, cgroup_path: &'p str) -> Option<&'p str> {
    if cgroup_path.split('/').any(|c| c == "..") {
        return None;
    }
    let root = root.trim_end_matches('/');
    let rest = if root.is_empty() {
        cgroup_path
    } else {
        let rest = cgroup_path.strip_prefix(root)?;
        if !rest.is_empty() && !rest.starts_with('/') {
            return None;
        }
        rest
    };
    Some(rest.trim_start_matches('/'))
}

fn join_below(mount_point: &Path, relative: &str) -> PathBuf {
    let relative = relative.trim_end_matches('/');
    if relative.is_empty() {
        mount_point.to_path_buf()
    } else {
        mount_point.join(relative)
    }
}

pub(super) fn sorted(items: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = items.iter().map(String::as_str).collect();
    v.sort_unstable();
    v
}

impl V1Hierarchy {
    /// True when a `/proc/<pid>/cgroup` line refers to this hierarchy: same hierarchy id when
    /// both are known, else the same controllers and name.
    pub fn matches_entry(&self, entry: &ProcCgroupEntry) -> bool {
        if entry.is_v2() {
            return false;
        }
        match self.hierarchy_id {
            Some(id) => id == entry.hierarchy_id,
            None => {
                self.name == entry.name && sorted(&self.controllers) == sorted(&entry.controllers)
            }
        }
    }

    /// How the hierarchy is listed in `/proc/<pid>/cgroup`: `cpu,cpuacct` or `name=systemd`.
    pub fn label(&self) -> String {
        let mut parts = self.controllers.clone();
        if let Some(name) = &self.name {
            parts.push(format!("name={name}"));
        }
        parts.join(",")
    }
}

impl<'a> HierarchyRef<'a> {
    /// 0 for v2; the v1 hierarchy id when known.
    pub fn hierarchy_id(self) -> Option<u32> {
        match self {
            HierarchyRef::V1(h) => h.hierarchy_id,
            HierarchyRef::V2(_) => Some(0),
        }
    }

    pub fn mount_point(self) -> &'a Path {
        match self {
            HierarchyRef::V1(h) => &h.mount_point,
            HierarchyRef::V2(h) => &h.mount_point,
        }
    }

    pub fn root(self) -> &'a str {
        match self {
            HierarchyRef::V1(h) => &h.root,
            HierarchyRef::V2(h) => &h.root,
        }
    }

    pub fn is_v2(self) -> bool {
        matches!(self, HierarchyRef::V2(_))
    }

    /// The directory of `cgroup_path` (as in `/proc/<pid>/cgroup`) on the live filesystem:
    /// the mount point plus the path below the mount's root. `None` when the cgroup is outside
    /// what the mount shows (a container's mount rooted at `/docker/<id>` asked for `/other`).
    pub fn fs_path(self, cgroup_path: &str) -> Option<PathBuf> {
        relative_to_root(self.root(), cgroup_path).map(|rel| join_below(self.mount_point(), rel))
    }

    /// [`fs_path`](Self::fs_path) under `host`'s roots (a fixture tree or the live system).
    pub fn host_fs_path(self, host: &HostRoot, cgroup_path: &str) -> Option<PathBuf> {
        let mount = host_path(host, self.mount_point());
        relative_to_root(self.root(), cgroup_path).map(|rel| join_below(&mount, rel))
    }
}

impl Hierarchies {
    /// The hierarchy with this kernel id: 0 is v2.
    pub fn by_hierarchy_id(&self, id: u32) -> Option<HierarchyRef<'_>> {
        if id == 0 {
            return self.v2.as_ref().map(HierarchyRef::V2);
        }
        self.v1
            .iter()
            .find(|h| h.hierarchy_id == Some(id))
            .map(HierarchyRef::V1)
    }

    /// Where a controller lives: its v1 hierarchy, else v2 when the v2 root lists it (or its
    /// controllers are unknown and the controller is not on v1).
    pub fn mount_for_controller(&self, controller: &str) -> Option<HierarchyRef<'_>> {
        if let Some(h) = self
            .v1
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
        {
            return Some(HierarchyRef::V1(h));
        }
        let v2 = self.v2.as_ref()?;
        match &v2.controllers {
            Some(list) if !list.iter().any(|c| c == controller) => None,
            _ => Some(HierarchyRef::V2(v2)),
        }
    }

    /// The named v1 hierarchy `name=<name>`.
    pub fn named(&self, name: &str) -> Option<&V1Hierarchy> {
        self.v1.iter().find(|h| h.name.as_deref() == Some(name))
    }

    /// The hierarchy a `/proc/<pid>/cgroup` line refers to.
    pub fn hierarchy_for_entry(&self, entry: &ProcCgroupEntry) -> Option<HierarchyRef<'_>> {
        if entry.is_v2() {
            return self.v2.as_ref().map(HierarchyRef::V2);
        }
        self.v1
            .iter()
            .find(|h| h.matches_entry(entry))
            .map(HierarchyRef::V1)
    }

    /// See [`HierarchyRef::fs_path`].
    pub fn fs_path(&self, hierarchy: HierarchyRef<'_>, cgroup_path: &str) -> Option<PathBuf> {
        hierarchy.fs_path(cgroup_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_roots_are_kept_and_duplicates_merged() {
        let text = "\
100 90 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory
101 90 0:32 / /host/sys/fs/cgroup/memory ro - cgroup cgroup rw,memory
102 90 0:38 /docker/abc /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
";
        let h = Hierarchies::from_mountinfo(text, "memory 4 3 1\n");
        assert_eq!(h.v1.len(), 1);
        let mem = &h.v1[0];
        assert_eq!(mem.root, "/");
        assert_eq!(mem.mount_point, PathBuf::from("/host/sys/fs/cgroup/memory"));
        assert_eq!(mem.other_mounts.len(), 1);
        assert_eq!(mem.other_mounts[0].root, "/docker/abc");
        let v2 = h.v2.as_ref().expect("v2");
        assert_eq!(v2.root, "/docker/abc");
        let r = HierarchyRef::V2(v2);
        assert_eq!(
            r.fs_path("/docker/abc"),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(
            r.fs_path("/docker/abc/sub/"),
            Some(PathBuf::from("/sys/fs/cgroup/unified/sub"))
        );
        assert_eq!(r.fs_path("/docker/abcd"), None);
        assert_eq!(r.fs_path("/other"), None);
        assert_eq!(r.fs_path("/docker/abc/../x"), None);
        let m = HierarchyRef::V1(mem);
        assert_eq!(
            m.fs_path("/"),
            Some(PathBuf::from("/host/sys/fs/cgroup/memory"))
        );
        assert_eq!(
            m.fs_path("/docker/abc"),
            Some(PathBuf::from("/host/sys/fs/cgroup/memory/docker/abc"))
        );
    }

    #[test]
    fn serializes_for_json_output() {
        let h = Hierarchies::from_mountinfo(
            "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n\
             41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
            "cpu 1 1 1\n",
        );
        let json = serde_json::to_value(&h).expect("json");
        assert_eq!(json["layout"], "hybrid");
        assert_eq!(json["v1"][0]["controllers"][0], "cpu");
        assert_eq!(json["v2"]["mount_point"], "/sys/fs/cgroup/unified");
        let back: Hierarchies = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, h);
    }
}
