//! The runtime harness: real containers from docker, podman, containerd (ctr), runc and lxc.
//!
//! `tests/runtimes/prepare.sh` installs the runtimes, starts their daemons and makes the local
//! busybox image; the harness runs it once per test process when it has not run. A test asks
//! for a container with limits through a runtime and gets its id, init PID and cgroup paths;
//! the container (and any cgroup the runtime made for it alone) is removed on drop, also when
//! the test fails.

mod containerd;
mod docker;
mod lxc;
mod parents;
mod runc;
mod spec;

use std::{
    collections::BTreeMap,
    fmt,
    path::PathBuf,
    process::{Command, Output, Stdio},
    sync::OnceLock,
    time::Duration,
};

pub use spec::{AGENT_IN_CONTAINER, ContainerSpec, DETECT_VIRT_IN_CONTAINER};

use crate::privilege::REQUIRE_ENV;

/// A container runtime the harness drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Runtime {
    Docker,
    Podman,
    Containerd,
    Runc,
    Lxc,
}

impl Runtime {
    pub const ALL: [Runtime; 5] = [
        Runtime::Docker,
        Runtime::Podman,
        Runtime::Containerd,
        Runtime::Runc,
        Runtime::Lxc,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Containerd => "containerd",
            Runtime::Runc => "runc",
            Runtime::Lxc => "lxc",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A running container. Stopped and removed on drop.
#[derive(Debug)]
pub struct Container {
    pub runtime: Runtime,
    /// The id the runtime reported (64 hex for docker and podman; the name for ctr, runc, lxc).
    pub id: String,
    pub name: String,
    pub init_pid: u32,
    /// `/proc/<init pid>/cgroup`: hierarchy id -> (controllers, path).
    pub cgroups: BTreeMap<u32, (String, String)>,
    pub(crate) cleanup: Cleanup,
}

#[derive(Debug)]
pub(crate) enum Cleanup {
    Docker,
    Podman,
    Containerd {
        namespace: String,
        parents: parents::CreatedParents,
    },
    Runc {
        bundle: PathBuf,
        parents: parents::CreatedParents,
    },
    Lxc {
        config: PathBuf,
    },
}

impl Container {
    /// The container's cgroup path in the v1 hierarchy of `controller` ("memory"), or in v2
    /// with "" (the `0::` line).
    pub fn cgroup_path(&self, controller: &str) -> Option<&str> {
        self.cgroups.iter().find_map(|(hid, (ctrls, path))| {
            let hit = if controller.is_empty() {
                *hid == 0
            } else {
                ctrls.split(',').any(|c| c == controller)
            };
            hit.then_some(path.as_str())
        })
    }

    /// Runs a command inside the container. `ctr task exec` can return before it copied the
    /// command's output; an exec that succeeded with no output at all is run again (twice at
    /// most), so use it for commands that print something.
    pub fn exec(&self, args: &[&str]) -> std::io::Result<Output> {
        let mut out = self.exec_once(args)?;
        for _ in 0..2 {
            if !(self.runtime == Runtime::Containerd
                && out.status.success()
                && out.stdout.is_empty())
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            out = self.exec_once(args)?;
        }
        Ok(out)
    }

    fn exec_once(&self, args: &[&str]) -> std::io::Result<Output> {
        let mut cmd = match self.runtime {
            Runtime::Docker => docker::exec_command(docker::Engine::Docker, &self.id),
            Runtime::Podman => docker::exec_command(docker::Engine::Podman, &self.id),
            Runtime::Containerd => containerd::exec_command(&self.cleanup, &self.id),
            Runtime::Runc => runc::exec_command(&self.id),
            Runtime::Lxc => lxc::exec_command(&self.name),
        };
        cmd.args(args).stdin(Stdio::null()).output()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let result = match &self.cleanup {
            Cleanup::Docker => docker::remove(docker::Engine::Docker, &self.id),
            Cleanup::Podman => docker::remove(docker::Engine::Podman, &self.id),
            Cleanup::Containerd { namespace, .. } => containerd::remove(namespace, &self.id),
            Cleanup::Runc { bundle, .. } => runc::remove(&self.id, bundle),
            Cleanup::Lxc { config } => lxc::remove(&self.name, config),
        };
        if let Err(err) = result {
            eprintln!(
                "cleanup: removing {} container {}: {err}",
                self.runtime, self.id
            );
        }
        // Some runtimes remove the container's cgroups after their CLI returns.
        let dirs: Vec<PathBuf> = self
            .cgroups
            .iter()
            .filter_map(|(hid, (ctrls, path))| cgroup_dir(*hid, ctrls, path))
            .collect();
        if poll(Duration::from_secs(5), || {
            dirs.iter().all(|d| !d.exists()).then_some(())
        })
        .is_none()
        {
            eprintln!(
                "cleanup: {} container {} left cgroups behind: {dirs:?}",
                self.runtime, self.id
            );
        }
        if let Cleanup::Containerd { parents, .. } | Cleanup::Runc { parents, .. } = &self.cleanup {
            parents.remove();
        }
    }
}

/// The directory of a `/proc/<pid>/cgroup` entry under this host's usual mounts.
fn cgroup_dir(hierarchy_id: u32, controllers: &str, path: &str) -> Option<PathBuf> {
    let mount = if hierarchy_id == 0 {
        "unified".to_string()
    } else {
        let first = controllers.split(',').next()?;
        first.strip_prefix("name=").unwrap_or(first).to_string()
    };
    let dir = PathBuf::from("/sys/fs/cgroup")
        .join(mount)
        .join(path.trim_start_matches('/'));
    (path != "/").then_some(dir)
}

/// Starts a container through `runtime`.
pub fn start(runtime: Runtime, spec: &ContainerSpec) -> std::io::Result<Container> {
    let name = unique_name(runtime);
    let container = match runtime {
        Runtime::Docker => docker::start(docker::Engine::Docker, &name, spec),
        Runtime::Podman => docker::start(docker::Engine::Podman, &name, spec),
        Runtime::Containerd => containerd::start(&name, spec),
        Runtime::Runc => runc::start(&name, spec),
        Runtime::Lxc => lxc::start(&name, spec),
    }?;
    if spec.with_eth0 {
        add_eth0(container.init_pid)?;
    }
    Ok(container)
}

/// Moves one end of a new veth pair into `pid`'s network namespace as `eth0` and brings both
/// ends up. The pair disappears with the namespace.
fn add_eth0(pid: u32) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let host_end = format!(
        "smt{}v{}",
        pid % 100_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    run_cli(Command::new("ip").args([
        "link",
        "add",
        &host_end,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &pid.to_string(),
    ]))?;
    run_cli(Command::new("ip").args(["link", "set", &host_end, "up"]))?;
    run_cli(Command::new("nsenter").args([
        "-t",
        &pid.to_string(),
        "-n",
        "ip",
        "link",
        "set",
        "eth0",
        "up",
    ]))?;
    Ok(())
}

fn unique_name(runtime: Runtime) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "smoothtask-test-{}-{}-{}",
        runtime.name(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where prepare.sh keeps its state (rootfs, logs, pid files, podman config).
pub fn state_dir() -> PathBuf {
    std::env::var_os("SMOOTHTASK_RUNTIME_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/runtimes"))
}

/// prepare.sh's verdict per runtime: Ok, or why it is missing.
fn readiness() -> &'static BTreeMap<String, Result<(), String>> {
    static READY: OnceLock<BTreeMap<String, Result<(), String>>> = OnceLock::new();
    READY.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runtimes/prepare.sh");
        let out = Command::new("bash")
            .arg(&script)
            .env("SMOOTHTASK_RUNTIME_STATE", state_dir())
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output();
        let text = match out {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
            Err(err) => format!(
                "runtime all: missing: cannot run {}: {err}",
                script.display()
            ),
        };
        parse_readiness(&text)
    })
}

fn parse_readiness(text: &str) -> BTreeMap<String, Result<(), String>> {
    text.lines()
        .filter_map(|l| l.strip_prefix("runtime "))
        .filter_map(|l| l.split_once(": "))
        .map(|(name, verdict)| {
            let verdict = match verdict.strip_prefix("missing: ") {
                Some(why) => Err(why.to_string()),
                None => Ok(()),
            };
            (name.to_string(), verdict)
        })
        .collect()
}

/// True when `runtime` can be used. Otherwise prints `skipped: <test>: <runtime> missing:
/// <why>` and returns false, or panics under `SMOOTHTASK_REQUIRE_PRIVILEGED=1` (CI).
pub fn require_runtime(test: &str, runtime: Runtime) -> bool {
    if !crate::require(test, &[crate::Requirement::Root]) {
        return false;
    }
    let ready = readiness();
    let verdict = ready
        .get(runtime.name())
        .or_else(|| ready.get("all"))
        .cloned()
        .unwrap_or_else(|| Err("prepare.sh did not report it".into()));
    match verdict {
        Ok(()) => true,
        Err(why) => {
            if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
                panic!(
                    "{test}: runtime {runtime} is missing ({REQUIRE_ENV}=1 forbids skipping): {why}"
                );
            }
            println!("skipped: {test}: runtime {runtime} missing: {why}");
            false
        }
    }
}

/// Runs a runtime CLI and returns its trimmed stdout, or an error carrying its stderr.
pub(crate) fn run_cli(cmd: &mut Command) -> std::io::Result<String> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(std::io::Error::other(format!(
            "{:?} failed ({}): {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// `/proc/<pid>/cgroup` as hierarchy id -> (controllers, path).
pub(crate) fn proc_cgroups(pid: u32) -> std::io::Result<BTreeMap<u32, (String, String)>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let hid = parts.next()?.parse().ok()?;
            let ctrls = parts.next()?.to_string();
            let path = parts.next()?.to_string();
            Some((hid, (ctrls, path)))
        })
        .collect())
}

/// Waits until `f` returns Some, polling every 20 ms, at most `timeout`.
pub(crate) fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_lines_parse_into_verdicts() {
        let v = parse_readiness(
            "runtime docker: ready\nnoise\nruntime lxc: missing: lxc not installed\n",
        );
        assert_eq!(v["docker"], Ok(()));
        assert_eq!(v["lxc"], Err("lxc not installed".to_string()));
        assert_eq!(v.len(), 2);
    }
}
