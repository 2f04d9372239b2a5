//! Building [`Hierarchies`] from mountinfo (cgroup and cgroup2 mounts, grouped by superblock),
//! `/proc/cgroups` (v1 hierarchy ids) and `/proc/self/cgroup` (ids of named hierarchies).

use std::collections::BTreeMap;

use super::{
    error::CgroupError,
    file::read_text,
    hierarchies::{Hierarchies, Layout, Mount, V1Hierarchy, V2Hierarchy, sorted},
    mountinfo::{MountInfoEntry, parse_mountinfo},
    paths::host_path,
    proc_cgroup::{ProcCgroupEntry, parse_proc_cgroup, split_controllers},
    subsystems::{Subsystem, parse_proc_cgroups},
};
use crate::host::HostRoot;

/// Super options of a v1 cgroup mount that are not controllers.
fn is_v1_option(token: &str) -> bool {
    matches!(
        token,
        "rw" | "ro"
            | "xattr"
            | "seclabel"
            | "noprefix"
            | "clone_children"
            | "cpuset_v2_mode"
            | "favordynmods"
            | "none"
            | "all"
    ) || token.starts_with("release_agent=")
}

/// Mounts of one superblock (same `major:minor`), in mountinfo order.
struct Group<'e> {
    mounts: Vec<&'e MountInfoEntry>,
}

impl<'e> Group<'e> {
    /// The mount showing the most of the hierarchy (shortest root, first in mountinfo order)
    /// and the other mounts; `None` for an empty group.
    fn split(&self) -> Option<(&'e MountInfoEntry, Vec<Mount>)> {
        let primary = self
            .mounts
            .iter()
            .copied()
            .min_by_key(|m| m.root.trim_end_matches('/').split('/').count())?;
        let others = self
            .mounts
            .iter()
            .filter(|m| !std::ptr::eq(**m, primary))
            .map(|m| Mount {
                mount_point: m.mount_point.clone(),
                root: m.root.clone(),
            })
            .collect();
        Some((primary, others))
    }
}

fn group_by_device<'e>(entries: impl Iterator<Item = &'e MountInfoEntry>) -> Vec<Group<'e>> {
    let mut order: Vec<(u32, u32)> = Vec::new();
    let mut groups: BTreeMap<(u32, u32), Group<'e>> = BTreeMap::new();
    for e in entries {
        let key = (e.major, e.minor);
        groups
            .entry(key)
            .or_insert_with(|| {
                order.push(key);
                Group { mounts: Vec::new() }
            })
            .mounts
            .push(e);
    }
    order.iter().filter_map(|k| groups.remove(k)).collect()
}

impl Hierarchies {
    /// Reads `/proc/self/mountinfo`, `/proc/cgroups`, `/proc/self/cgroup` (for named
    /// hierarchies' ids) and the v2 root's `cgroup.controllers` under `host`. Only an
    /// unreadable mountinfo is an error; anything else missing becomes a warning.
    pub fn read(host: &HostRoot) -> Result<Self, CgroupError> {
        let mountinfo = read_text(&host.proc_path("self/mountinfo"))?;
        let mut warnings = Vec::new();
        let proc_cgroups = read_text(&host.proc_path("cgroups"))
            .map_err(|e| warnings.push(format!("{e}; v1 hierarchy ids unknown")))
            .ok();
        let self_cgroup = read_text(&host.proc_path("self/cgroup")).ok();
        let mut h = Self::from_sources(&mountinfo, proc_cgroups.as_deref(), self_cgroup.as_deref());
        h.warnings.splice(0..0, warnings);
        if let Some(v2) = &mut h.v2 {
            let path = host_path(host, &v2.mount_point).join("cgroup.controllers");
            match read_text(&path) {
                Ok(text) => {
                    v2.controllers = Some(text.split_ascii_whitespace().map(String::from).collect())
                }
                Err(e) => h.warnings.push(e.to_string()),
            }
        }
        Ok(h)
    }

    /// Pure: hierarchies from mountinfo text and `/proc/cgroups` text.
    pub fn from_mountinfo(mountinfo: &str, proc_cgroups: &str) -> Self {
        Self::from_sources(mountinfo, Some(proc_cgroups), None)
    }

    /// Pure: like [`from_mountinfo`](Self::from_mountinfo), with `/proc/cgroups` optional and
    /// `/proc/self/cgroup` (optional) to learn the ids of named hierarchies.
    pub fn from_sources(
        mountinfo: &str,
        proc_cgroups: Option<&str>,
        self_cgroup: Option<&str>,
    ) -> Self {
        let mut warnings = Vec::new();
        let mut entries = Vec::new();
        for parsed in parse_mountinfo(mountinfo) {
            match parsed {
                Ok(e) => entries.push(e),
                Err(e) => warnings.push(format!("mountinfo: skipped {e}")),
            }
        }
        let subsystems = match proc_cgroups.map(parse_proc_cgroups) {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                warnings.push(format!("/proc/cgroups: {e}; v1 hierarchy ids unknown"));
                Vec::new()
            }
            None => Vec::new(),
        };
        let self_entries = match self_cgroup.map(parse_proc_cgroup) {
            Some(Ok(e)) => e,
            Some(Err(e)) => {
                warnings.push(format!("/proc/self/cgroup: {e}"));
                Vec::new()
            }
            None => Vec::new(),
        };

        let mut v1 = Vec::new();
        for group in group_by_device(entries.iter().filter(|e| e.fs_type == "cgroup")) {
            let Some((primary, other_mounts)) = group.split() else {
                continue;
            };
            v1.push(Self::v1_hierarchy(
                primary,
                other_mounts,
                &subsystems,
                &mut warnings,
            ));
        }
        for h in &mut v1 {
            Self::id_from_self_cgroup(h, &self_entries, &mut warnings);
        }
        let v2 = group_by_device(entries.iter().filter(|e| e.fs_type == "cgroup2"))
            .into_iter()
            .find_map(|group| group.split())
            .map(|(primary, other_mounts)| V2Hierarchy {
                mount_point: primary.mount_point.clone(),
                root: primary.root.clone(),
                controllers: None,
                other_mounts,
            });
        let has_v1_controllers = v1.iter().any(|h| !h.controllers.is_empty());
        let layout = match (has_v1_controllers, v2.is_some()) {
            (true, true) => Layout::Hybrid,
            (_, true) => Layout::V2,
            (true, false) => Layout::V1,
            (false, false) if !v1.is_empty() => Layout::V1,
            (false, false) => Layout::None,
        };
        Hierarchies {
            layout,
            v1,
            v2,
            subsystems,
            warnings,
        }
    }

    fn v1_hierarchy(
        mount: &MountInfoEntry,
        other_mounts: Vec<Mount>,
        subsystems: &[Subsystem],
        warnings: &mut Vec<String>,
    ) -> V1Hierarchy {
        let (mut controllers, name) =
            split_controllers(mount.super_options.split(',').filter(|t| !is_v1_option(t)));
        if !subsystems.is_empty() {
            controllers.retain(|c| subsystems.iter().any(|s| &s.name == c));
        }
        let mut ids = controllers
            .iter()
            .filter_map(|c| subsystems.iter().find(|s| &s.name == c))
            .map(|s| s.hierarchy_id)
            .filter(|id| *id != 0);
        let hierarchy_id = ids.next();
        if let Some(id) = hierarchy_id
            && ids.any(|other| other != id)
        {
            warnings.push(format!(
                "/proc/cgroups: controllers {:?} report different hierarchy ids",
                controllers
            ));
        }
        V1Hierarchy {
            hierarchy_id,
            controllers,
            name,
            mount_point: mount.mount_point.clone(),
            root: mount.root.clone(),
            other_mounts,
        }
    }

    fn id_from_self_cgroup(
        h: &mut V1Hierarchy,
        entries: &[ProcCgroupEntry],
        warnings: &mut Vec<String>,
    ) {
        let found = entries.iter().find(|e| {
            !e.is_v2() && e.name == h.name && sorted(&e.controllers) == sorted(&h.controllers)
        });
        match (h.hierarchy_id, found) {
            (None, Some(e)) => h.hierarchy_id = Some(e.hierarchy_id),
            (Some(id), Some(e)) if id != e.hierarchy_id => warnings.push(format!(
                "hierarchy {} is {id} in /proc/cgroups but {} in /proc/self/cgroup",
                h.label(),
                e.hierarchy_id
            )),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::cgroup::HierarchyRef;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const PROC_CGROUPS: &str = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n\
cpu\t1\t1\t1\ncpuacct\t2\t1\t1\nmemory\t4\t23\t1\nhugetlb\t0\t1\t1\nrdma\t0\t1\t0\n";

    #[test]
    fn hybrid_with_separate_cpu_and_cpuacct() {
        let h =
            Hierarchies::from_sources(HYBRID, Some(PROC_CGROUPS), Some("9:name=systemd:/\n0::/\n"));
        assert_eq!(h.layout, Layout::Hybrid);
        assert_eq!(h.v1.len(), 4);
        let cpu = h.mount_for_controller("cpu").expect("cpu");
        assert_eq!(cpu.hierarchy_id(), Some(1));
        assert_eq!(cpu.mount_point(), Path::new("/sys/fs/cgroup/cpu"));
        assert_eq!(
            h.mount_for_controller("cpuacct")
                .and_then(|r| r.hierarchy_id()),
            Some(2)
        );
        assert_eq!(h.named("systemd").and_then(|s| s.hierarchy_id), Some(9));
        assert!(h.by_hierarchy_id(0).is_some_and(HierarchyRef::is_v2));
        assert_eq!(
            h.by_hierarchy_id(4).map(HierarchyRef::mount_point),
            Some(Path::new("/sys/fs/cgroup/memory"))
        );
        assert!(h.by_hierarchy_id(3).is_none());
        // v2 controllers unknown in pure parsing: a controller not on v1 may be on v2.
        assert!(
            h.mount_for_controller("hugetlb")
                .is_some_and(HierarchyRef::is_v2)
        );
        let text = h.render_human();
        assert!(text.contains("hybrid"), "{text}");
        assert!(text.contains("disabled: rdma"), "{text}");
        assert!(text.contains("name=systemd"), "{text}");
    }

    #[test]
    fn named_hierarchy_without_self_cgroup_has_no_id() {
        let h = Hierarchies::from_mountinfo(HYBRID, PROC_CGROUPS);
        assert_eq!(h.named("systemd").map(|s| s.hierarchy_id), Some(None));
        assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    }

    #[test]
    fn layouts() {
        assert_eq!(Hierarchies::from_mountinfo("", "").layout, Layout::None);
        let v2 = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(Hierarchies::from_mountinfo(v2, "").layout, Layout::V2);
        let v2_named =
            format!("{v2}31 30 0:40 / /run/systemd rw - cgroup cgroup rw,name=systemd\n");
        assert_eq!(
            Hierarchies::from_mountinfo(&v2_named, "").layout,
            Layout::V2
        );
        let v1 = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let h = Hierarchies::from_mountinfo(v1, "cpu 2 1 1\ncpuacct 2 1 1\n");
        assert_eq!(h.layout, Layout::V1);
        assert_eq!(h.v1[0].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(h.v1[0].hierarchy_id, Some(2));
    }

    #[test]
    fn super_options_that_are_not_controllers() {
        let line = "32 31 0:29 / /x rw - cgroup cgroup rw,seclabel,xattr,release_agent=/bin/x,cpu,noprefix\n";
        let h = Hierarchies::from_sources(line, None, None);
        assert_eq!(h.v1[0].controllers, vec!["cpu"]);
        assert_eq!(h.v1[0].hierarchy_id, None);
    }

    #[test]
    fn malformed_lines_become_warnings() {
        let text = format!("garbage line\n{HYBRID}");
        let h = Hierarchies::from_mountinfo(&text, "not a table\n");
        assert_eq!(h.layout, Layout::Hybrid);
        assert_eq!(h.warnings.len(), 2, "{:?}", h.warnings);
        assert!(h.v1.iter().all(|v| v.hierarchy_id.is_none()));
    }
}
