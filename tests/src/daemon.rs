//! Running the real `smoothtaskd` binary: where it is, and a handle that stops it on drop.

use std::{
    io::{BufRead as _, BufReader},
    path::PathBuf,
    process::{Child, ChildStdout, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// The `smoothtaskd` binary: `SMOOTHTASK_BIN`, else the workspace's debug build
/// (`cargo xtask test` builds it before running the tests).
pub fn smoothtaskd_path() -> PathBuf {
    if let Some(bin) = std::env::var_os("SMOOTHTASK_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug/smoothtaskd");
    assert!(
        bin.exists(),
        "{} not found: build it first (cargo build -p smoothtask-agent) or set SMOOTHTASK_BIN",
        bin.display()
    );
    bin
}

/// A running `smoothtaskd` whose stdout lines arrive on a channel. Killed (by PID) on drop.
pub struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Daemon {
    pub fn spawn(args: &[&str]) -> std::io::Result<Self> {
        Self::spawn_program(smoothtaskd_path(), args)
    }

    /// Runs smoothtaskd with extra environment variables (configuration overrides).
    pub fn spawn_env(args: &[&str], env: &[(&str, &str)]) -> std::io::Result<Self> {
        let mut cmd = Command::new(smoothtaskd_path());
        cmd.args(args).envs(env.iter().copied());
        Self::spawn_command(cmd)
    }

    /// Runs `program args` (a wrapper such as capsh that ends up exec'ing smoothtaskd).
    pub fn spawn_program(
        program: impl AsRef<std::ffi::OsStr>,
        args: &[&str],
    ) -> std::io::Result<Self> {
        let mut cmd = Command::new(program);
        cmd.args(args);
        Self::spawn_command(cmd)
    }

    fn spawn_command(mut cmd: Command) -> std::io::Result<Self> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout: ChildStdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self { child, lines })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line parsed as JSON for which `pred` holds, within `timeout`.
    pub fn wait_for(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            let value: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
            if pred(&value) {
                return Some(value);
            }
        }
    }

    /// Sends SIGTERM and waits for the exit status, at most `timeout`.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        // SAFETY: signalling a child this handle started and has not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
