//! Parent cgroups a runtime creates for a test's container (`/default`, `/kubepods/...`):
//! recorded before the container starts, removed after it when still empty.

use std::{path::Path, time::Duration};

use super::poll;

/// Parent cgroups (`/<namespace>`, `/kubepods/...`) that did not exist before this container
/// and that the runtime created for it: removed after it, deepest first, when empty.
#[derive(Debug, Default)]
pub struct CreatedParents(Vec<std::path::PathBuf>);

impl CreatedParents {
    pub(crate) fn before(path: &str) -> Self {
        let mut missing = Vec::new();
        let Ok(mounts) = std::fs::read_dir("/sys/fs/cgroup") else {
            return Self(missing);
        };
        let mounts: Vec<_> = mounts.filter_map(Result::ok).map(|e| e.path()).collect();
        // Every proper ancestor of the container's own cgroup.
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        for depth in 1..parts.len() {
            let rel = parts[..depth].join("/");
            for mount in &mounts {
                if !mount.join("cgroup.procs").exists() {
                    continue;
                }
                let dir = mount.join(&rel);
                if !dir.exists() {
                    missing.push(dir);
                }
            }
        }
        missing.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        Self(missing)
    }

    pub(crate) fn remove(&self) {
        for dir in &self.0 {
            // Only empty cgroups can be removed; a busy one belongs to someone else now.
            let _ = poll(Duration::from_secs(2), || {
                (std::fs::remove_dir(dir).is_ok() || !Path::new(dir).exists()).then_some(())
            });
        }
    }
}
