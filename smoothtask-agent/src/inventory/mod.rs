//! The live set of containers on the host, keyed by runtime-qualified id (`docker/<id>`) and by
//! kernel cgroup id. Updated from cgroup mkdir/rmdir/attach events as they arrive, and repaired
//! by scans of the cgroup filesystems (`scan.rs`). Pure state: no I/O here.

mod scan;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    time::SystemTime,
};

use serde::Serialize;

pub use scan::{ObservedCgroup, scan_hierarchies};

use crate::{
    event::{CgroupRef, ContainerRef, EventBody},
    runtime::{self, ContainerRuntime, PodIdentity},
};

/// One hierarchy's cgroup of a container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub hierarchy_id: u32,
    /// Path relative to the hierarchy root.
    pub path: String,
    /// Kernel cgroup id (inode number of the directory).
    pub cgroup_id: u64,
}

/// A container the agent knows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContainerRecord {
    /// `<runtime>/<id>`: unique across runtimes.
    pub key: String,
    pub runtime: ContainerRuntime,
    pub id: String,
    pub name: Option<String>,
    pub pod: Option<PodIdentity>,
    /// The container's cgroup per hierarchy, keyed by hierarchy label (`memory`, `cpu`,
    /// `name=systemd`, `unified`).
    pub cgroups: BTreeMap<String, Membership>,
    /// Member PIDs seen (attach events and scans of `cgroup.procs`).
    pub pids: BTreeSet<u32>,
    #[serde(serialize_with = "crate::event::rfc3339")]
    pub first_seen: SystemTime,
}

impl ContainerRecord {
    pub fn to_ref(&self) -> ContainerRef {
        ContainerRef {
            runtime: self.runtime.clone(),
            id: self.id.clone(),
            name: self.name.clone(),
            pod: self.pod.clone(),
        }
    }

    /// The container's cgroup path (the same in every hierarchy for the runtimes known here).
    pub fn cgroup_path(&self) -> Option<&str> {
        self.cgroups.values().next().map(|m| m.path.as_str())
    }
}

/// What changed in the inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Added(ContainerRecord),
    Removed(ContainerRecord),
}

/// Names hierarchies by kernel hierarchy id (`memory`, `cpu,cpuacct`, `name=systemd`; v2 is
/// `unified`). Unknown ids are named `hierarchy-<id>`.
#[derive(Clone, Debug, Default)]
pub struct HierarchyLabels(BTreeMap<u32, String>);

impl HierarchyLabels {
    pub fn new(labels: impl IntoIterator<Item = (u32, String)>) -> Self {
        Self(labels.into_iter().collect())
    }

    pub fn from_hierarchies(h: &crate::cgroup::Hierarchies) -> Self {
        let mut labels = BTreeMap::new();
        if h.v2.is_some() {
            labels.insert(0, "unified".to_string());
        }
        for v1 in &h.v1 {
            if let Some(id) = v1.hierarchy_id {
                labels.insert(id, v1.label());
            }
        }
        Self(labels)
    }

    pub fn label(&self, hierarchy_id: u32) -> String {
        self.0
            .get(&hierarchy_id)
            .cloned()
            .unwrap_or_else(|| format!("hierarchy-{hierarchy_id}"))
    }
}

#[derive(Debug, Default)]
pub struct Inventory {
    containers: BTreeMap<String, ContainerRecord>,
    by_cgroup_id: HashMap<u64, String>,
    labels: HierarchyLabels,
}

fn key_of(runtime: &ContainerRuntime, id: &str) -> String {
    format!("{}/{id}", runtime.as_str())
}

impl Inventory {
    pub fn new(labels: HierarchyLabels) -> Self {
        Self {
            labels,
            ..Self::default()
        }
    }

    pub fn labels(&self) -> &HierarchyLabels {
        &self.labels
    }

    pub fn len(&self) -> usize {
        self.containers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
    }

    pub fn containers(&self) -> impl Iterator<Item = &ContainerRecord> {
        self.containers.values()
    }

    /// A container by runtime-qualified key (`docker/<id>`) or by bare id when unambiguous.
    pub fn get(&self, key_or_id: &str) -> Option<&ContainerRecord> {
        if let Some(c) = self.containers.get(key_or_id) {
            return Some(c);
        }
        let mut hits = self.containers.values().filter(|c| c.id == key_or_id);
        let first = hits.next()?;
        hits.next().is_none().then_some(first)
    }

    /// The container owning the cgroup with this kernel id (its own cgroup in any hierarchy).
    pub fn container_by_cgroup_id(&self, id: u64) -> Option<&ContainerRecord> {
        self.by_cgroup_id
            .get(&id)
            .and_then(|k| self.containers.get(k))
    }

    /// The container a cgroup belongs to (its own cgroup or one nested in it).
    pub fn container_of(&self, cgroup: &CgroupRef) -> Option<&ContainerRecord> {
        if let Some(c) = self
            .by_cgroup_id
            .get(&cgroup.id)
            .and_then(|k| self.containers.get(k))
        {
            return Some(c);
        }
        let located = runtime::locate(&cgroup.path)?;
        self.containers
            .get(&key_of(&located.identity.runtime, &located.identity.id))
    }

    /// Applies one kernel event; returns the containers it added or removed.
    pub fn apply(&mut self, body: &EventBody, now: SystemTime) -> Vec<Change> {
        match body {
            EventBody::CgroupMkdir { cgroup, .. } => self.add_cgroup(cgroup, now),
            EventBody::CgroupRmdir { cgroup, .. } => self.remove_cgroup(cgroup),
            EventBody::CgroupAttach { cgroup, pid, .. } => {
                let mut changes = self.add_cgroup(cgroup, now);
                if let Some(key) = self.owner_key(cgroup)
                    && let Some(c) = self.containers.get_mut(&key)
                {
                    c.pids.insert(*pid);
                    // An attach into a container's cgroup is newer than any Added we return.
                    for change in &mut changes {
                        if let Change::Added(added) = change
                            && added.key == key
                        {
                            added.pids.insert(*pid);
                        }
                    }
                }
                changes
            }
            _ => Vec::new(),
        }
    }

    fn owner_key(&self, cgroup: &CgroupRef) -> Option<String> {
        self.container_of(cgroup).map(|c| c.key.clone())
    }

    /// Records a container's own cgroup; nested cgroups only belong to a known container.
    fn add_cgroup(&mut self, cgroup: &CgroupRef, now: SystemTime) -> Vec<Change> {
        let Some(located) = runtime::locate(&cgroup.path) else {
            return Vec::new();
        };
        if located.cgroup != cgroup.path {
            return Vec::new();
        }
        let identity = located.identity;
        let key = key_of(&identity.runtime, &identity.id);
        let label = self.labels.label(cgroup.hierarchy_id);
        let membership = Membership {
            hierarchy_id: cgroup.hierarchy_id,
            path: cgroup.path.clone(),
            cgroup_id: cgroup.id,
        };
        self.by_cgroup_id.insert(cgroup.id, key.clone());
        match self.containers.get_mut(&key) {
            Some(existing) => {
                if let Some(old) = existing.cgroups.insert(label, membership)
                    && old.cgroup_id != cgroup.id
                {
                    self.by_cgroup_id.remove(&old.cgroup_id);
                }
                Vec::new()
            }
            None => {
                let record = ContainerRecord {
                    key: key.clone(),
                    runtime: identity.runtime,
                    id: identity.id,
                    name: identity.name,
                    pod: identity.pod,
                    cgroups: BTreeMap::from([(label, membership)]),
                    pids: BTreeSet::new(),
                    first_seen: now,
                };
                self.containers.insert(key, record.clone());
                vec![Change::Added(record)]
            }
        }
    }

    /// Forgets a container's cgroup; the container goes when its last cgroup does.
    fn remove_cgroup(&mut self, cgroup: &CgroupRef) -> Vec<Change> {
        let Some(key) = self.by_cgroup_id.remove(&cgroup.id) else {
            return Vec::new();
        };
        let Some(record) = self.containers.get_mut(&key) else {
            return Vec::new();
        };
        record.cgroups.retain(|_, m| m.cgroup_id != cgroup.id);
        if !record.cgroups.is_empty() {
            return Vec::new();
        }
        self.containers
            .remove(&key)
            .map(|r| vec![Change::Removed(r)])
            .unwrap_or_default()
    }

    /// Replaces the inventory's view with a scan of the cgroup filesystems: containers the scan
    /// found that events missed are added, containers it no longer finds are removed, and member
    /// PIDs are refreshed. Returns what it had to repair.
    pub fn reconcile(&mut self, observed: &[ObservedCgroup], now: SystemTime) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut seen_ids: BTreeSet<u64> = BTreeSet::new();
        let mut pids: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        for o in observed {
            seen_ids.insert(o.cgroup.id);
            changes.extend(self.add_cgroup(&o.cgroup, now));
            if let Some(key) = self.by_cgroup_id.get(&o.cgroup.id) {
                pids.entry(key.clone()).or_default().extend(&o.pids);
            }
        }
        let gone: Vec<CgroupRef> = self
            .containers
            .values()
            .flat_map(|c| c.cgroups.values())
            .filter(|m| !seen_ids.contains(&m.cgroup_id))
            .map(|m| CgroupRef {
                id: m.cgroup_id,
                hierarchy_id: m.hierarchy_id,
                hierarchy: None,
                level: 0,
                path: m.path.clone(),
                path_truncated: false,
            })
            .collect();
        for cgroup in gone {
            changes.extend(self.remove_cgroup(&cgroup));
        }
        for (key, set) in pids {
            if let Some(c) = self.containers.get_mut(&key) {
                c.pids = set;
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests;
