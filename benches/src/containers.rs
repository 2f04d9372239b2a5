//! Docker-shaped container cgroups a benchmark owns: `/<prefix>/docker/<64 hex>` in each
//! hierarchy asked for (the runtime table's docker cgroupfs layout, so the agent counts them as
//! containers), optionally with a sleeping process in each. On drop the processes are killed by
//! PID, then the cgroups are removed deepest first, also when the benchmark fails.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use smoothtask_tests::{TestCgroup, TestChild, unique_prefix};

/// Every hierarchy a container lives in on this host's layout (hybrid: v1 controllers and the
/// controller-less v2 tree with its *.pressure files).
pub const HIERARCHIES: [&str; 5] = ["memory", "cpu", "cpuacct", "pids", "unified"];

/// The cgroup filesystem's mount point of `hierarchy`.
pub fn mount(hierarchy: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup").join(hierarchy)
}

/// A docker container id (64 lowercase hex) unique to this process and `i`.
pub fn container_id(i: usize) -> String {
    format!("{:016x}{:016x}{:032x}", 0xbe7c_u64, std::process::id(), i)
}

/// Containers owned by a benchmark. Field order is drop order: processes die first.
pub struct Containers {
    processes: Vec<TestChild>,
    tops: Vec<TestCgroup>,
    /// `smoothtask-test-<pid>-<nanos>-<label>`, directly under each hierarchy's root.
    pub prefix: String,
    pub ids: Vec<String>,
}

impl Containers {
    /// Only the parents `/<prefix>/docker` in `hierarchies`; containers are added with
    /// [`Containers::add`] or by the benchmark itself (then it removes them).
    pub fn parents(label: &str, hierarchies: &[&str]) -> anyhow::Result<Self> {
        let prefix = unique_prefix(label);
        let mut tops = Vec::new();
        for h in hierarchies {
            let root = mount(h);
            anyhow::ensure!(
                root.join("cgroup.procs").exists(),
                "{} is not a cgroup hierarchy",
                root.display()
            );
            let mut top = TestCgroup::create(&root, &prefix)
                .with_context(|| format!("mkdir {}/{prefix}", root.display()))?;
            top.child_or_create("docker")?;
            tops.push(top);
        }
        Ok(Self {
            processes: Vec::new(),
            tops,
            prefix,
            ids: Vec::new(),
        })
    }

    /// `n` containers in every hierarchy, each with a sleeping process when `process`.
    pub fn create(
        label: &str,
        hierarchies: &[&str],
        n: usize,
        process: bool,
    ) -> anyhow::Result<Self> {
        let mut this = Self::parents(label, hierarchies)?;
        for i in 0..n {
            this.add(&container_id(i), process)?;
        }
        Ok(this)
    }

    /// One more container `id` in every hierarchy, with a sleeping process when `process`.
    pub fn add(&mut self, id: &str, process: bool) -> anyhow::Result<()> {
        for top in &mut self.tops {
            top.child_or_create("docker")?.create_child(id)?;
        }
        self.ids.push(id.to_string());
        if process {
            let child = TestChild::sleep()?;
            for top in &self.tops {
                let procs = top.dir.join("docker").join(id).join("cgroup.procs");
                std::fs::write(&procs, child.pid().to_string())
                    .with_context(|| format!("writing {}", procs.display()))?;
            }
            self.processes.push(child);
        }
        Ok(())
    }

    /// `/<prefix>/docker` in `hierarchy` on disk.
    pub fn parent_dir(&self, hierarchy: &str) -> PathBuf {
        mount(hierarchy).join(&self.prefix).join("docker")
    }
}
