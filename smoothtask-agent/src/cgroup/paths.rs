//! Which cgroup a process or container is in on each hierarchy ([`CgroupPaths`]), and mapping
//! absolute host paths (mount points) into a [`HostRoot`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    error::CgroupError,
    file::read_parsed,
    hierarchies::HierarchyRef,
    proc_cgroup::{ProcCgroupEntry, parse_proc_cgroup},
};
use crate::host::HostRoot;

/// An absolute path of the running system (a mount point from mountinfo) under `host`'s roots:
/// `/sys/...` under `host.sys`, `/proc/...` under `host.proc`, `/run/...` under `host.run`,
/// anything else under `host.root`.
pub fn host_path(host: &HostRoot, absolute: &Path) -> PathBuf {
    for (prefix, base) in [
        ("/sys", &host.sys),
        ("/proc", &host.proc),
        ("/run", &host.run),
    ] {
        if let Ok(rest) = absolute.strip_prefix(prefix) {
            return if rest.as_os_str().is_empty() {
                base.clone()
            } else {
                base.join(rest)
            };
        }
    }
    let rest = absolute.strip_prefix("/").unwrap_or(absolute);
    host.root.join(rest)
}

/// The cgroup path of one process or container per hierarchy.
///
/// Either one path used on every hierarchy ([`CgroupPaths::uniform`], right for cgroup v2 and
/// for runtimes that use the same path on all v1 hierarchies), or the per-hierarchy lines of
/// `/proc/<pid>/cgroup` ([`CgroupPaths::for_pid`]); `default` covers hierarchies without a
/// line of their own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupPaths {
    /// Used for any hierarchy without its own entry.
    pub default: Option<String>,
    /// Per hierarchy, as in `/proc/<pid>/cgroup` (the v2 line has hierarchy id 0).
    pub entries: Vec<ProcCgroupEntry>,
}

impl CgroupPaths {
    /// One path for every hierarchy.
    pub fn uniform(path: impl Into<String>) -> Self {
        CgroupPaths {
            default: Some(path.into()),
            entries: Vec::new(),
        }
    }

    /// The lines of a `/proc/<pid>/cgroup`.
    pub fn from_entries(entries: Vec<ProcCgroupEntry>) -> Self {
        CgroupPaths {
            default: None,
            entries,
        }
    }

    /// Reads `/proc/<pid>/cgroup` under `host`.
    pub fn for_pid(host: &HostRoot, pid: u32) -> Result<Self, CgroupError> {
        let path = host.proc_path(&format!("{pid}/cgroup"));
        read_parsed(&path, parse_proc_cgroup).map(Self::from_entries)
    }

    /// Reads `/proc/self/cgroup` under `host`.
    pub fn for_self(host: &HostRoot) -> Result<Self, CgroupError> {
        read_parsed(&host.proc_path("self/cgroup"), parse_proc_cgroup).map(Self::from_entries)
    }

    /// The v2 path.
    pub fn v2(&self) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.is_v2())
            .map(|e| e.path.as_str())
            .or(self.default.as_deref())
    }

    /// The path on `hierarchy`.
    pub fn path_for(&self, hierarchy: HierarchyRef<'_>) -> Option<&str> {
        match hierarchy {
            HierarchyRef::V2(_) => self.v2(),
            HierarchyRef::V1(h) => self
                .entries
                .iter()
                .find(|e| h.matches_entry(e))
                .map(|e| e.path.as_str())
                .or(self.default.as_deref()),
        }
    }

    /// The directory of this cgroup on `hierarchy` under `host`, when it is visible there.
    pub fn dir_on(&self, host: &HostRoot, hierarchy: HierarchyRef<'_>) -> Option<PathBuf> {
        hierarchy.host_fs_path(host, self.path_for(hierarchy)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::Hierarchies;

    #[test]
    fn maps_mount_points_into_a_fixture() {
        let host = HostRoot::at("/fx");
        assert_eq!(
            host_path(&host, Path::new("/sys/fs/cgroup/memory")),
            PathBuf::from("/fx/sys/fs/cgroup/memory")
        );
        assert_eq!(
            host_path(&host, Path::new("/sys")),
            PathBuf::from("/fx/sys")
        );
        assert_eq!(
            host_path(&host, Path::new("/system/x")),
            PathBuf::from("/fx/system/x")
        );
        assert_eq!(
            host_path(&HostRoot::live(), Path::new("/sys/fs/cgroup")),
            PathBuf::from("/sys/fs/cgroup")
        );
    }

    #[test]
    fn per_hierarchy_paths() {
        let h = Hierarchies::from_mountinfo(
            "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
             35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
             41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
            "cpu 2 1 1\ncpuacct 2 1 1\nmemory 4 1 1\n",
        );
        let paths = CgroupPaths::from_entries(
            parse_proc_cgroup("4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/system.slice/docker.service\n")
                .expect("valid"),
        );
        let cpu = h.mount_for_controller("cpuacct").expect("cpuacct");
        assert_eq!(paths.path_for(cpu), Some("/docker/abc"));
        let v2 = h.by_hierarchy_id(0).expect("v2");
        assert_eq!(paths.path_for(v2), Some("/system.slice/docker.service"));
        let host = HostRoot::at("/fx");
        assert_eq!(
            paths.dir_on(&host, cpu),
            Some(PathBuf::from("/fx/sys/fs/cgroup/cpu,cpuacct/docker/abc"))
        );
        let uniform = CgroupPaths::uniform("/kubepods/pod1/abc");
        assert_eq!(uniform.path_for(cpu), Some("/kubepods/pod1/abc"));
        assert_eq!(uniform.v2(), Some("/kubepods/pod1/abc"));
        assert_eq!(CgroupPaths::default().path_for(v2), None);
    }
}
