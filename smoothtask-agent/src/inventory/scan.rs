//! Scans of the cgroup filesystems: every container's own cgroup in every hierarchy, with its
//! inode number and member PIDs. Used at startup and by the periodic rescan that repairs drift.

use std::{os::unix::fs::MetadataExt as _, path::Path};

use crate::{
    cgroup::{Hierarchies, HierarchyRef},
    event::CgroupRef,
    host::HostRoot,
    runtime,
};

/// How deep below a hierarchy's mount a scan looks (kubepods systemd paths are 4 deep).
const MAX_DEPTH: usize = 8;

/// A container's own cgroup found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedCgroup {
    pub cgroup: CgroupRef,
    pub pids: Vec<u32>,
}

/// Every container cgroup in every hierarchy. Directories that vanish or cannot be read while
/// scanning are skipped (a container stopping mid-scan is not an error).
pub fn scan_hierarchies(host: &HostRoot, hierarchies: &Hierarchies) -> Vec<ObservedCgroup> {
    let mut found = Vec::new();
    let refs = hierarchies
        .v1
        .iter()
        .map(HierarchyRef::V1)
        .chain(hierarchies.v2.iter().map(HierarchyRef::V2));
    for h in refs {
        let Some(hierarchy_id) = h.hierarchy_id() else {
            continue;
        };
        let Some(mount) = h.host_fs_path(host, h.root()) else {
            continue;
        };
        let root = h.root().trim_end_matches('/').to_string();
        walk(&mount, &root, hierarchy_id, 0, &mut found);
    }
    found
}

fn walk(dir: &Path, path: &str, hierarchy_id: u32, depth: usize, found: &mut Vec<ObservedCgroup>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if !kind.is_dir() {
            continue;
        }
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let child_path = format!("{path}/{name}");
        let child_dir = entry.path();
        match runtime::locate(&child_path) {
            Some(located) if located.cgroup == child_path => {
                let Ok(meta) = std::fs::metadata(&child_dir) else {
                    continue;
                };
                found.push(ObservedCgroup {
                    cgroup: CgroupRef {
                        id: meta.ino(),
                        hierarchy_id,
                        hierarchy: None,
                        level: (depth + 1) as u32,
                        path: child_path,
                        path_truncated: false,
                    },
                    pids: read_pids(&child_dir),
                });
                // A container's nested cgroups belong to it; not descended.
            }
            _ => walk(&child_dir, &child_path, hierarchy_id, depth + 1, found),
        }
    }
}

fn read_pids(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .map(|text| text.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}
