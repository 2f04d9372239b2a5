//! build-ebpf, run, lint and test.

use std::process::Command;

use anyhow::Context as _;

use crate::cmd::{self, cargo, nightly, workspace_root};

const EBPF_TARGET: &str = "bpfel-unknown-none";

pub fn build_ebpf() -> anyhow::Result<()> {
    cmd::run(nightly("cargo").args([
        "build",
        "--package",
        "smoothtask-ebpf",
        "--release",
        "--target",
        EBPF_TARGET,
        "-Z",
        "build-std=core",
    ]))
}

pub fn run(release: bool, args: &[String]) -> anyhow::Result<()> {
    let mut build = cargo();
    build.args([
        "build",
        "--package",
        "smoothtask-agent",
        "--bin",
        "smoothtaskd",
    ]);
    if release {
        build.arg("--release");
    }
    cmd::run(&mut build)?;
    let profile = if release { "release" } else { "debug" };
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let bin = target_dir.join(profile).join("smoothtaskd");
    // SAFETY: no arguments, cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "xtask run: not root: the agent needs root (CAP_BPF, CAP_PERFMON, tracefs) to trace the kernel; it will say what it lacks"
        );
    }
    cmd::run(Command::new(&bin).args(args)).with_context(|| format!("{} stopped", bin.display()))
}

pub fn lint() -> anyhow::Result<()> {
    cmd::run(cargo().args(["fmt", "--all", "--check"]))?;
    cmd::run(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        "smoothtask-ebpf",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    cmd::run(nightly("cargo").args([
        "clippy",
        "--package",
        "smoothtask-ebpf",
        "--release",
        "--target",
        EBPF_TARGET,
        "-Z",
        "build-std=core",
        "--",
        "-D",
        "warnings",
    ]))
}

pub fn test(args: &[String]) -> anyhow::Result<()> {
    lint()?;
    // The daemon and runtime tests run the real binary.
    cmd::run(cargo().args([
        "build",
        "--package",
        "smoothtask-agent",
        "--bin",
        "smoothtaskd",
    ]))?;
    let runtimes = workspace_root().join("tests/runtimes");
    // SAFETY: no arguments, cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        // Installs missing runtimes (unless SMOOTHTASK_ALLOW_APT=0), starts their daemons.
        let allow_apt = std::env::var("SMOOTHTASK_ALLOW_APT").unwrap_or_else(|_| "1".into());
        cmd::run(
            Command::new("bash")
                .arg(runtimes.join("prepare.sh"))
                .env("SMOOTHTASK_ALLOW_APT", allow_apt),
        )?;
    }
    let tested = cmd::run(
        cargo()
            .args(["test", "--workspace", "--exclude", "smoothtask-ebpf"])
            .args(args),
    );
    if root {
        // Stops only the daemons prepare.sh started; removes cgroups the runtimes left.
        if let Err(err) = cmd::run(Command::new("bash").arg(runtimes.join("teardown.sh"))) {
            eprintln!("xtask: teardown: {err:#}");
        }
    }
    tested
}

pub fn bench() -> anyhow::Result<()> {
    // smoothtaskd too: the steady state benchmark runs the release binary as a child process.
    cmd::run(cargo().args([
        "build",
        "--release",
        "--package",
        "smoothtask-bench",
        "--package",
        "smoothtask-agent",
    ]))?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    cmd::run(
        Command::new(target_dir.join("release/smoothtask-bench"))
            .arg(target_dir.join("bench/results.json")),
    )
}

/// The parsers' never-panic properties (mountinfo, /proc/<pid>/cgroup, control files, PSI,
/// the container id table, self-detection input) with `cases` inputs each, in release.
pub fn fuzz(cases: u32) -> anyhow::Result<()> {
    cmd::run(
        cargo()
            .args([
                "test",
                "--release",
                "--package",
                "smoothtask-agent",
                "--",
                "never_panic",
            ])
            .env("PROPTEST_CASES", cases.to_string())
            .env("SMOOTHTASK_FUZZ_CASES", cases.to_string()),
    )
}
