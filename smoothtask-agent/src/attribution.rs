//! Which cgroup and container a memory event belongs to: the kernel's cgroup v2 id (through
//! the inventory), the task's memory cgroup from `/proc/<pid>/cgroup`, and for an OOM victim
//! that is already gone, the container whose oom_kill counter rose.

use std::collections::HashMap;

use crate::{
    cgroup::{CgroupPaths, Hierarchies, read_flat_keyed},
    event::MemoryTarget,
    host::HostRoot,
    inventory::Inventory,
    runtime,
};

/// Reads what attribution needs from /proc and cgroupfs. Owned by the pipeline.
#[derive(Debug)]
pub struct Attributor {
    host: HostRoot,
    hierarchies: Hierarchies,
    /// oom_kill count per container key when last looked at.
    oom_seen: HashMap<String, u64>,
}

impl Attributor {
    pub fn new(host: HostRoot, hierarchies: Hierarchies) -> Self {
        Self {
            host,
            hierarchies,
            oom_seen: HashMap::new(),
        }
    }

    /// The task's cgroup in the hierarchy holding the memory controller (v1 `memory`, else
    /// v2), from `/proc/<pid>/cgroup`; `None` when the task is gone.
    pub fn memory_cgroup_of(&self, pid: u32) -> Option<String> {
        let paths = CgroupPaths::for_pid(&self.host, pid).ok()?;
        let hierarchy = self.hierarchies.mount_for_controller("memory")?;
        paths.path_for(hierarchy).map(str::to_string)
    }

    /// Fills `target` (its `cgroup_id` set by the kernel) for the task `pid`. Reads /proc; call
    /// it without holding the inventory.
    pub fn resolve(&self, pid: u32, target: &mut MemoryTarget) {
        if pid != 0 {
            target.memory_cgroup = self.memory_cgroup_of(pid);
        }
    }

    /// Attributes `target` to a container from the inventory: by cgroup v2 id, else by the
    /// memory cgroup path.
    pub fn attribute(&self, inventory: &Inventory, target: &mut MemoryTarget) {
        if let Some(c) = inventory.container_by_cgroup_id(target.cgroup_id) {
            target.container = Some(c.to_ref());
            target.attributed_by = Some("cgroup_id");
            return;
        }
        let Some(path) = target.memory_cgroup.as_deref() else {
            return;
        };
        let Some(located) = runtime::locate(path) else {
            return;
        };
        let identity = located.identity;
        target.container = Some(
            match inventory.get(&format!("{}/{}", identity.runtime.as_str(), identity.id)) {
                Some(c) => c.to_ref(),
                None => crate::event::ContainerRef {
                    runtime: identity.runtime,
                    id: identity.id,
                    name: identity.name,
                    pod: identity.pod,
                },
            },
        );
        target.attributed_by = Some("proc");
    }

    /// The memory cgroup directories of the inventory's containers (taken under the lock).
    pub fn oom_candidates(&self, inventory: &Inventory) -> Vec<(String, std::path::PathBuf)> {
        let Some(memory) = self.hierarchies.mount_for_controller("memory") else {
            return Vec::new();
        };
        inventory
            .containers()
            .filter_map(|c| {
                let path = c.cgroup_path()?;
                Some((c.key.clone(), memory.host_fs_path(&self.host, path)?))
            })
            .collect()
    }

    /// Records the current oom_kill counters of `candidates` (at startup: containers that had
    /// OOM kills before the agent started are not blamed for new ones).
    pub fn prime_oom_counters(&mut self, candidates: &[(String, std::path::PathBuf)]) {
        let _ = self.oom_risen(candidates);
    }

    /// Reads the oom_kill counters of `candidates` (v1 `memory.oom_control`, v2
    /// `memory.events`) and returns the container keys whose count rose since last seen, the
    /// largest rise first. The first reading of a container only records it.
    pub fn oom_risen(&mut self, candidates: &[(String, std::path::PathBuf)]) -> Vec<String> {
        let mut risen = Vec::new();
        for (key, dir) in candidates {
            let count = ["memory.oom_control", "memory.events"]
                .iter()
                .find_map(|f| read_flat_keyed(&dir.join(f)).ok()?.get("oom_kill"));
            let Some(count) = count else { continue };
            // A container first seen now started after priming: it started at zero.
            let before = self.oom_seen.insert(key.clone(), count).unwrap_or(0);
            if count > before {
                risen.push((count - before, key.clone()));
            }
        }
        risen.sort_by_key(|r| std::cmp::Reverse(r.0));
        risen.into_iter().map(|(_, k)| k).collect()
    }
}
