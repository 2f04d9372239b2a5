//! Which cgroup and container a memory event belongs to: the kernel's cgroup v2 id (through
//! the inventory), the task's memory cgroup from `/proc/<pid>/cgroup`, and for an OOM victim
//! that is already gone, the container whose oom_kill counter rose.

use std::collections::{HashMap, VecDeque};

/// Processes remembered from attach events (pid -> memory cgroup), oldest forgotten first.
const ATTACH_MEMORY: usize = 16_384;

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
    /// The memory cgroup each recently attached process was moved to, from the kernel's
    /// attach events: attribution for a task already gone from /proc (an OOM victim).
    attached: HashMap<u32, String>,
    attach_order: VecDeque<u32>,
    /// Kernel hierarchy id of the hierarchy holding the memory controller (0 for v2).
    memory_hierarchy: Option<u32>,
}

impl Attributor {
    pub fn new(host: HostRoot, hierarchies: Hierarchies) -> Self {
        let memory_hierarchy = hierarchies
            .mount_for_controller("memory")
            .and_then(|h| h.hierarchy_id());
        Self {
            host,
            hierarchies,
            oom_seen: HashMap::new(),
            attached: HashMap::new(),
            attach_order: VecDeque::new(),
            memory_hierarchy,
        }
    }

    /// Remembers where a process was moved in the memory hierarchy (a `cgroup.attach`).
    pub fn note_attach(&mut self, pid: u32, hierarchy_id: u32, path: &str) {
        if Some(hierarchy_id) != self.memory_hierarchy || pid == 0 {
            return;
        }
        if self.attached.insert(pid, path.to_string()).is_none() {
            self.attach_order.push_back(pid);
            if self.attach_order.len() > ATTACH_MEMORY
                && let Some(old) = self.attach_order.pop_front()
            {
                self.attached.remove(&old);
            }
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
    /// A task already gone from /proc is looked up among the recent attach events.
    ///
    /// On a v1 memory hierarchy the kernel shows an exiting task (an OOM victim being killed)
    /// in `/`, so a path read while the task exits is not trusted there; the attach events
    /// know where it was.
    pub fn resolve(&self, pid: u32, target: &mut MemoryTarget) {
        if pid == 0 {
            return;
        }
        let from_proc = self.memory_cgroup_of(pid);
        // Checked after the read: an exiting task never stops exiting.
        let from_proc =
            from_proc.filter(|_| self.memory_hierarchy == Some(0) || !self.exiting(pid));
        target.memory_cgroup = from_proc.or_else(|| self.attached.get(&pid).cloned());
    }

    /// The task is exiting (`PF_EXITING` in the flags of `/proc/<pid>/stat`) or already gone.
    fn exiting(&self, pid: u32) -> bool {
        const PF_EXITING: u64 = 0x4;
        let Ok(stat) = std::fs::read_to_string(self.host.proc_path(&format!("{pid}/stat"))) else {
            return true;
        };
        // After the command name in parentheses: state ppid pgrp session tty_nr tpgid flags.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(6)?.parse::<u64>().ok())
            .is_none_or(|flags| flags & PF_EXITING != 0)
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

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup cgroup rw,memory\n31 25 0:27 / /sys/fs/cgroup/cpu rw,relatime shared:11 - cgroup cgroup rw,cpu\n";
    const PROC_CGROUPS: &str =
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\nmemory\t4\t1\t1\n";

    #[test]
    fn a_task_gone_from_proc_is_found_by_its_attach_in_the_memory_hierarchy() {
        let hierarchies = Hierarchies::from_mountinfo(MOUNTINFO, PROC_CGROUPS);
        let mut a = Attributor::new(HostRoot::at("/nonexistent-fixture"), hierarchies);
        a.note_attach(42, 1, "/elsewhere"); // the cpu hierarchy: not memory
        a.note_attach(42, 4, "/test/oom");
        let mut target = MemoryTarget::default();
        a.resolve(42, &mut target);
        assert_eq!(target.memory_cgroup.as_deref(), Some("/test/oom"));
        let mut unknown = MemoryTarget::default();
        a.resolve(43, &mut unknown);
        assert_eq!(unknown.memory_cgroup, None);
    }

    #[test]
    fn an_exiting_task_shown_in_the_v1_root_is_found_by_its_attach() {
        let dir = tempfile::tempdir().unwrap();
        let proc_dir = dir.path().join("proc/42");
        std::fs::create_dir_all(&proc_dir).unwrap();
        std::fs::write(proc_dir.join("cgroup"), "4:memory:/\n1:cpu:/\n").unwrap();
        let stat = |flags: u64| format!("42 (mem hog) R 1 42 42 0 -1 {flags} 0 0 0 0 0 0\n");
        // PF_EXITING | PF_SIGNALED: the kernel shows it in "/" on v1.
        std::fs::write(proc_dir.join("stat"), stat(0x404)).unwrap();
        let hierarchies = Hierarchies::from_mountinfo(MOUNTINFO, PROC_CGROUPS);
        let mut a = Attributor::new(HostRoot::at(dir.path()), hierarchies);
        a.note_attach(42, 4, "/test/oom");
        let mut target = MemoryTarget::default();
        a.resolve(42, &mut target);
        assert_eq!(target.memory_cgroup.as_deref(), Some("/test/oom"));
        // A live task: /proc is the truth (the attach cache may be older than a fork).
        std::fs::write(proc_dir.join("stat"), stat(0x400100)).unwrap();
        let mut live = MemoryTarget::default();
        a.resolve(42, &mut live);
        assert_eq!(live.memory_cgroup.as_deref(), Some("/"));
    }

    #[test]
    fn the_attach_memory_is_bounded() {
        let hierarchies = Hierarchies::from_mountinfo(MOUNTINFO, PROC_CGROUPS);
        let mut a = Attributor::new(HostRoot::at("/nonexistent-fixture"), hierarchies);
        for pid in 1..=(ATTACH_MEMORY as u32 + 10) {
            a.note_attach(pid, 4, "/c");
        }
        assert_eq!(a.attached.len(), ATTACH_MEMORY);
        assert!(!a.attached.contains_key(&1), "the oldest is forgotten");
        assert!(a.attached.contains_key(&(ATTACH_MEMORY as u32 + 10)));
    }
}
