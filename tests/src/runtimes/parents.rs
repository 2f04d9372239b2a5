//! Parent cgroups a runtime creates for a test's containers (`/default`, `/kubepods/...`,
//! `/system.slice`): recorded (process-wide) when they did not exist before a container
//! started, and removed after a container stops once they are empty. A parent still holding
//! another test's container stays until that container's removal sweeps it.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::Mutex,
    time::Duration,
};

use super::poll;

static CREATED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn created() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    CREATED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A handle whose `remove` sweeps the recorded parents.
#[derive(Debug, Default)]
pub struct CreatedParents;

impl CreatedParents {
    /// Records the proper ancestors of `path` (in every hierarchy) that do not exist yet.
    pub(crate) fn before(path: &str) -> Self {
        let Ok(mounts) = std::fs::read_dir("/sys/fs/cgroup") else {
            return Self;
        };
        let mounts: Vec<PathBuf> = mounts
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|m| m.join("cgroup.procs").exists())
            .collect();
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut set = created();
        for depth in 1..parts.len() {
            let rel = parts[..depth].join("/");
            for mount in &mounts {
                let dir = mount.join(&rel);
                if !dir.exists() {
                    set.insert(dir);
                }
            }
        }
        Self
    }

    /// Removes every recorded parent that is empty now, deepest first.
    pub(crate) fn remove(&self) {
        let mut set = created();
        let mut dirs: Vec<PathBuf> = set.iter().cloned().collect();
        dirs.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for dir in dirs {
            if !dir.exists() || remove_if_empty(&dir) {
                set.remove(&dir);
            }
        }
    }
}

/// rmdir when the cgroup has no child cgroups, retrying briefly while the kernel finishes
/// releasing a child that was just removed.
fn remove_if_empty(dir: &Path) -> bool {
    let has_children = || {
        std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(Result::ok).any(|e| e.path().is_dir()))
            .unwrap_or(false)
    };
    if has_children() {
        return false;
    }
    poll(Duration::from_secs(1), || {
        (std::fs::remove_dir(dir).is_ok() || !dir.exists()).then_some(())
    })
    .is_some()
}
