//! What the policy tests share: three container-shaped cgroups the test creates in the v1 cpu
//! and memory hierarchies (`/<prefix>/docker-<64 hex>.scope`, which the agent discovers as
//! docker containers), an enforce or observe configuration that selects two of them, and a
//! page-cache hog that gives the batch one memory pressure.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{TestCgroup, unique_prefix};

pub const CPU: &str = "/sys/fs/cgroup/cpu";
pub const MEMORY: &str = "/sys/fs/cgroup/memory";
/// The batch cgroup's memory limit: the hog's page cache fills it, so reclaim stalls follow.
pub const BATCH_LIMIT: u64 = 32 << 20;
/// The bystander's cpu.shares: matches a runtime pattern but no class, so it must stay.
pub const BYSTANDER_SHARES: &str = "777";
/// The protected class's memory.soft_limit_in_bytes under memory pressure.
pub const PROTECTED_LOW: u64 = 64 << 20;

/// The three roles, by the first hex digit of their id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Protected,
    Batch,
    Bystander,
}

impl Role {
    fn digit(self) -> char {
        match self {
            Role::Protected => 'a',
            Role::Batch => 'b',
            Role::Bystander => 'c',
        }
    }
}

/// Three container cgroups in the cpu and memory hierarchies, removed on drop.
pub struct Fleet {
    pub prefix: String,
    pub dir: PathBuf,
    roots: Vec<TestCgroup>,
}

impl Fleet {
    pub fn create(label: &str) -> std::io::Result<Fleet> {
        let prefix = unique_prefix(label);
        let mut roots = Vec::new();
        for mount in [CPU, MEMORY] {
            let mut root = TestCgroup::create(Path::new(mount), &prefix)?;
            for role in [Role::Protected, Role::Batch, Role::Bystander] {
                root.create_child(&scope(&prefix, role))?;
            }
            roots.push(root);
        }
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir)?;
        let fleet = Fleet { prefix, dir, roots };
        let batch = fleet.cgroup_dir(MEMORY, Role::Batch);
        std::fs::write(batch.join("memory.limit_in_bytes"), BATCH_LIMIT.to_string())?;
        let memsw = batch.join("memory.memsw.limit_in_bytes");
        if memsw.exists() {
            std::fs::write(memsw, BATCH_LIMIT.to_string())?;
        }
        std::fs::write(
            fleet.cgroup_dir(CPU, Role::Bystander).join("cpu.shares"),
            BYSTANDER_SHARES,
        )?;
        Ok(fleet)
    }

    /// The container id of `role` (64 hex).
    pub fn id(&self, role: Role) -> String {
        id(&self.prefix, role)
    }

    pub fn cgroup_path(&self, role: Role) -> String {
        format!("/{}/{}", self.prefix, scope(&self.prefix, role))
    }

    pub fn cgroup_dir(&self, mount: &str, role: Role) -> PathBuf {
        Path::new(mount).join(self.cgroup_path(role).trim_start_matches('/'))
    }

    /// A control file's content, trimmed.
    pub fn read(&self, mount: &str, role: Role, file: &str) -> String {
        let path = self.cgroup_dir(mount, role).join(file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .to_string()
    }

    /// The files the policy may change and the bystander's, with their contents now.
    pub fn snapshot(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for role in [Role::Protected, Role::Batch, Role::Bystander] {
            for (mount, file) in [(CPU, "cpu.shares"), (MEMORY, "memory.soft_limit_in_bytes")] {
                let name = format!("{role:?} {file}");
                out.push((name, self.read(mount, role, file)));
            }
        }
        out
    }

    pub fn journal(&self) -> PathBuf {
        self.dir.join("journal.json")
    }

    /// A configuration file selecting the protected and the batch cgroup (see [`config`]).
    pub fn config(&self, mode: &str, dwell_sec: u64) -> PathBuf {
        let glob = |role: Role| format!("cgroup_path: '/{}/docker-{}*'", self.prefix, role.digit());
        let text = config(
            mode,
            dwell_sec,
            &self.journal(),
            &glob(Role::Protected),
            &glob(Role::Batch),
        );
        let path = self.dir.join(format!("{mode}.yml"));
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// Moves a process the test started into `role`'s cgroups.
    pub fn enter(&self, role: Role, pid: u32) -> std::io::Result<()> {
        for mount in [CPU, MEMORY] {
            std::fs::write(
                self.cgroup_dir(mount, role).join("cgroup.procs"),
                pid.to_string(),
            )?;
        }
        Ok(())
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.roots.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A policy configuration in `mode` with `dwell_sec`, journalled at `journal`: class
/// `protected` (latency-critical, cpu.weight [100, 400], memory protection [`PROTECTED_LOW`])
/// selected by `protected` and class `batch` (cpu.weight [10, 100]) by `batch`, each a selector
/// as YAML (`id: '3f2a*'`). Pressure comes only from reclaim stalls: PSI and the sampler are
/// off, so nothing else on the machine enters or prolongs an episode by a trigger.
pub fn config(mode: &str, dwell_sec: u64, journal: &Path, protected: &str, batch: &str) -> String {
    format!(
        "policy:
  mode: {mode}
  dwell_sec: {dwell_sec}
  max_actions_per_min: 60
  cpu_weight_range: [10, 500]
  memory_protection: true
  journal_path: {journal}
  classes:
    - name: protected
      priority: latency-critical
      match:
        - {protected}
      cpu_weight: [100, 400]
      memory_low_bytes: {PROTECTED_LOW}
    - name: batch
      priority: batch
      match:
        - {batch}
      cpu_weight: [10, 100]
pressure:
  psi:
    enabled: false
  reclaim_stall_threshold_us: 1
container:
  metrics:
    enabled: false
api:
  enabled: false
events:
  output: stdout
",
        journal = journal.display(),
    )
}

fn scope(prefix: &str, role: Role) -> String {
    format!("docker-{}.scope", id(prefix, role))
}

/// 64 hex digits: the role's digit, then the prefix's hash repeated.
fn id(prefix: &str, role: Role) -> String {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    prefix.hash(&mut h);
    let hash = format!("{:016x}", h.finish());
    format!("{}{}", role.digit(), hash.repeat(4))[..64].to_string()
}

/// Page cache written in a loop inside the batch cgroup (past its limit, so the kernel reclaims
/// and tasks stall). Stopped, and its file removed, on drop.
pub struct Hog {
    child: Child,
    stop: PathBuf,
    file: PathBuf,
}

impl Hog {
    pub fn start(fleet: &Fleet) -> Hog {
        let file = PathBuf::from("/var/tmp").join(format!("{}-hog", fleet.prefix));
        let stop = fleet.dir.join("hog.stop");
        let _ = std::fs::remove_file(&stop);
        let script = format!(
            "read go; while [ ! -e {stop} ]; do dd if=/dev/zero of={file} bs=1M count=64 2>/dev/null; done",
            stop = stop.display(),
            file = file.display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn the hog");
        fleet
            .enter(Role::Batch, child.id())
            .expect("move the hog into the batch cgroup");
        child
            .stdin
            .as_mut()
            .expect("stdin")
            .write_all(b"go\n")
            .expect("go");
        Hog { child, stop, file }
    }

    /// Asks the loop to end and waits for it (the dd in flight finishes first).
    pub fn stop(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        let _ = std::fs::write(&self.stop, "");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Polls `f` every 10 ms until it returns `Some`, at most `timeout`.
pub fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
