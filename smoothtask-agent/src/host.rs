//! Where the host's files are: `/proc`, `/sys`, `/run`, the filesystem root and the process
//! environment. Every reader takes a `HostRoot` so it can run against fixture trees.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// The roots a reader looks under. `HostRoot::live()` is the running system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRoot {
    /// The filesystem root (`/`): markers such as `/.dockerenv` live here.
    pub root: PathBuf,
    /// procfs (`/proc`).
    pub proc: PathBuf,
    /// sysfs (`/sys`).
    pub sys: PathBuf,
    /// `/run`.
    pub run: PathBuf,
    /// The environment of this process.
    pub env: BTreeMap<String, String>,
}

impl HostRoot {
    /// The running system with this process's environment.
    pub fn live() -> Self {
        Self {
            root: PathBuf::from("/"),
            proc: PathBuf::from("/proc"),
            sys: PathBuf::from("/sys"),
            run: PathBuf::from("/run"),
            env: std::env::vars().collect(),
        }
    }

    /// A fixture tree: `<dir>/proc`, `<dir>/sys`, `<dir>/run`, `<dir>` as the root, and an empty
    /// environment (set `env` to add variables).
    pub fn at(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        Self {
            root: dir.to_path_buf(),
            proc: dir.join("proc"),
            sys: dir.join("sys"),
            run: dir.join("run"),
            env: BTreeMap::new(),
        }
    }

    /// The same roots with `env` as the environment.
    pub fn with_env<I, K, V>(mut self, env: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        self
    }

    /// A path under the filesystem root: `root_path("/.dockerenv")`.
    pub fn root_path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    /// A path under procfs: `proc_path("self/cgroup")`.
    pub fn proc_path(&self, relative: &str) -> PathBuf {
        self.proc.join(relative.trim_start_matches('/'))
    }

    /// A path under sysfs: `sys_path("fs/cgroup")`.
    pub fn sys_path(&self, relative: &str) -> PathBuf {
        self.sys.join(relative.trim_start_matches('/'))
    }

    /// A path under `/run`: `run_path(".containerenv")`.
    pub fn run_path(&self, relative: &str) -> PathBuf {
        self.run.join(relative.trim_start_matches('/'))
    }

    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_paths_stay_under_the_fixture() {
        let host = HostRoot::at("/fx").with_env([("A", "1")]);
        assert_eq!(
            host.root_path("/.dockerenv"),
            PathBuf::from("/fx/.dockerenv")
        );
        assert_eq!(
            host.proc_path("self/cgroup"),
            PathBuf::from("/fx/proc/self/cgroup")
        );
        assert_eq!(
            host.sys_path("/fs/cgroup"),
            PathBuf::from("/fx/sys/fs/cgroup")
        );
        assert_eq!(
            host.run_path(".containerenv"),
            PathBuf::from("/fx/run/.containerenv")
        );
        assert_eq!(host.env_var("A"), Some("1"));
        assert_eq!(host.env_var("B"), None);
    }
}
