//! Steady state: the real `smoothtaskd` binary as a child process, following `n` docker-shaped
//! containers (cgroups in every hierarchy, one sleeping process each) with 1 s metrics
//! sampling: its CPU (utime + stime from /proc/<pid>/stat, % of one core) over a window that
//! starts once startup discovery is done, and its peak RSS (VmHWM, startup included). Baseline
//! in the same run, on the same containers: the same binary with eBPF off (inotify fallback)
//! and 1 s rescans. Targets: <= 1 % CPU, <= 30 MiB RSS.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use smoothtask_tests::{daemon::Daemon, http};

use crate::{
    containers::{Containers, HIERARCHIES},
    report::{Benchmark, Figure},
};

/// What one agent used.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub cpu_pct: f64,
    pub peak_rss_mib: f64,
}

pub struct Steady {
    pub n: usize,
    pub window: Duration,
    pub ebpf: Usage,
    pub polling: Usage,
}

/// The release `smoothtaskd` next to this binary (`cargo xtask bench` builds both), or
/// `SMOOTHTASK_BIN`.
fn smoothtaskd() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("SMOOTHTASK_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name("smoothtaskd");
    anyhow::ensure!(
        bin.exists(),
        "{} not found: build it with `cargo build --release -p smoothtask-agent` (cargo xtask bench does) or set SMOOTHTASK_BIN",
        bin.display()
    );
    Ok(bin)
}

/// A config file written for one run (policy explicitly in observe mode: the benchmark never
/// writes to a cgroup, least of all to ones it did not create); removed on drop.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn write(name: &str, ebpf: bool, port: u16) -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("{name}.yml"));
        let rescan = if ebpf { 30 } else { 1 };
        std::fs::write(
            &path,
            format!(
                "policy:\n  mode: observe\nebpf:\n  enabled: {ebpf}\ninventory:\n  rescan_interval_sec: {rescan}\ncontainer:\n  metrics:\n    interval_sec: 1\nevents:\n  output: none\napi:\n  listen: 127.0.0.1:{port}\nlog:\n  level: warn\n"
            ),
        )?;
        Ok(Self(path))
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// user + system CPU time of `pid` (all its threads) in seconds.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').context("stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    let ticks: u64 = fields.get(11).context("utime")?.parse::<u64>()?
        + fields.get(12).context("stime")?.parse::<u64>()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(ticks as f64 / hz)
}

/// VmHWM of `pid` in MiB.
fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .context("VmHWM")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb / 1024.0)
}

/// Runs one agent until it knows at least `n` containers, then measures it for `window`.
fn run_agent(
    bin: &Path,
    name: &str,
    ebpf: bool,
    n: usize,
    window: Duration,
) -> anyhow::Result<Usage> {
    let port = http::free_port();
    let config = ConfigFile::write(name, ebpf, port)?;
    let config_arg = config.0.to_string_lossy().into_owned();
    let started = Instant::now();
    let mut daemon = Daemon::spawn_program(bin, &["--config", &config_arg])?;
    let deadline = started + Duration::from_secs(120);
    loop {
        anyhow::ensure!(
            Instant::now() < deadline,
            "smoothtaskd did not list {n} containers within 120 s"
        );
        if let Ok(known) = containers_known(port)
            && known >= n
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let startup_s = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(2)); // startup work (PSI arming, first samples) done
    let pid = daemon.pid();
    let (cpu0, t0) = (cpu_seconds(pid)?, Instant::now());
    std::thread::sleep(window);
    let cpu_pct = (cpu_seconds(pid)? - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
    let peak = peak_rss_mib(pid)?;
    let _ = daemon.terminate(Duration::from_secs(10));
    eprintln!(
        "steady state {n} ({name}): ready in {startup_s:.1} s, {cpu_pct:.2} % CPU, peak RSS {peak:.1} MiB"
    );
    Ok(Usage {
        cpu_pct,
        peak_rss_mib: peak,
    })
}

/// Containers in the agent's inventory, from `/api/status` (its cheapest route: no metrics
/// are read for it).
fn containers_known(port: u16) -> anyhow::Result<usize> {
    let (status, body) = std::panic::catch_unwind(|| http::get(port, "/api/status"))
        .map_err(|_| anyhow::anyhow!("API not up"))?;
    anyhow::ensure!(status == 200, "status {status}");
    let v: serde_json::Value = serde_json::from_str(&body)?;
    v["containers"]
        .as_u64()
        .map(|c| c as usize)
        .context("no containers field")
}

pub fn measure(n: usize, window: Duration) -> anyhow::Result<Steady> {
    let bin = smoothtaskd()?;
    let started = Instant::now();
    let containers = Containers::create("bench-steady", &HIERARCHIES, n, true)?;
    eprintln!(
        "steady state: {n} containers with a process each in {} hierarchies, made in {:.1} s",
        HIERARCHIES.len(),
        started.elapsed().as_secs_f64()
    );
    let name = |mode: &str| format!("{}-{mode}", containers.prefix);
    let ebpf = run_agent(&bin, &name("ebpf"), true, n, window)?;
    let polling = run_agent(&bin, &name("polling"), false, n, window)?;
    drop(containers);
    Ok(Steady {
        n,
        window,
        ebpf,
        polling,
    })
}

pub fn figures(s: &Steady) -> Vec<Figure> {
    let (n, secs) = (s.n, s.window.as_secs());
    vec![
        Figure::new(
            &format!("{n} containers, agent CPU over {secs} s"),
            "% of one core",
            s.ebpf.cpu_pct,
            "eBPF off, inotify + 1 s rescans",
            s.polling.cpu_pct,
        )
        .at_most(1.0),
        Figure::new(
            &format!("{n} containers, agent peak RSS"),
            "MiB",
            s.ebpf.peak_rss_mib,
            "eBPF off, inotify + 1 s rescans",
            s.polling.peak_rss_mib,
        )
        .at_most(30.0),
    ]
}

pub fn benchmark(s: &Steady) -> Benchmark {
    Benchmark {
        name: "steady state".into(),
        what: format!(
            "smoothtaskd (release binary) following {} containers (cgroups in {} hierarchies, a sleeping process each), 1 s metrics sampling, events output none; CPU over {} s after startup discovery, peak RSS including startup",
            s.n,
            HIERARCHIES.len(),
            s.window.as_secs()
        ),
        figures: figures(s),
    }
}
