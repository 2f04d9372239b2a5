//! Kernel overhead: a page-fault-heavy and a cgroup-churn microbenchmark, each timed without
//! the agent and with the agent's eBPF programs attached, alternating rounds in the same run.
//! Target: at most 1 % slowdown.

use std::{path::Path, time::Instant};

use anyhow::Context as _;
use smoothtask_agent::agent::AgentOptions;
use smoothtask_tests::{TestCgroup, unique_prefix};

use crate::{
    agent_run,
    report::{Benchmark, Figure},
};

const ROUNDS: usize = 7;
const FAULT_MIB: usize = 128;
const FAULT_REPEAT: usize = 8;
const CHURN: usize = 300;

/// Touches every page of a fresh anonymous mapping, `FAULT_REPEAT` times: one page fault per
/// page. Returns milliseconds.
fn page_faults() -> f64 {
    let len = FAULT_MIB << 20;
    let start = Instant::now();
    for _ in 0..FAULT_REPEAT {
        // SAFETY: a private anonymous mapping we unmap below; every write stays inside it.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED, "mmap failed");
            let bytes = p.cast::<u8>();
            for off in (0..len).step_by(4096) {
                bytes.add(off).write_volatile(1);
            }
            libc::munmap(p, len);
        }
    }
    start.elapsed().as_secs_f64() * 1e3
}

/// mkdir and rmdir `CHURN` cgroups under `parent`. Returns milliseconds.
fn cgroup_churn(parent: &Path) -> f64 {
    let start = Instant::now();
    for i in 0..CHURN {
        let dir = parent.join(format!("churn{i}"));
        if std::fs::create_dir(&dir).is_ok() {
            let _ = std::fs::remove_dir(&dir);
        }
    }
    start.elapsed().as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run() -> anyhow::Result<Benchmark> {
    let rt = agent_run::runtime()?;
    let top = TestCgroup::create(
        Path::new("/sys/fs/cgroup/memory"),
        &unique_prefix("bench-churn"),
    )
    .context("mkdir churn parent")?;
    let (mut faults_off, mut faults_on, mut churn_off, mut churn_on) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        faults_off.push(page_faults());
        churn_off.push(cgroup_churn(&top.dir));
        let agent = agent_run::start(&rt, AgentOptions::default(), 1 << 16)?;
        // A subscriber consumes every event, as the log sink would.
        let mut rx = agent.bus().subscribe();
        let drain = rt.spawn(async move { while rx.recv().await.is_ok() {} });
        faults_on.push(page_faults());
        churn_on.push(cgroup_churn(&top.dir));
        rt.block_on(agent.shutdown());
        drain.abort();
    }
    drop(top);
    let (f_off, f_on) = (median(faults_off), median(faults_on));
    let (c_off, c_on) = (median(churn_off), median(churn_on));
    let slowdown = |on: f64, off: f64| (on / off - 1.0) * 100.0;
    eprintln!(
        "kernel overhead: faults {f_off:.1} -> {f_on:.1} ms, churn {c_off:.1} -> {c_on:.1} ms"
    );
    Ok(Benchmark {
        name: "kernel overhead".into(),
        what: format!(
            "{FAULT_REPEAT} x {FAULT_MIB} MiB of page faults and {CHURN} cgroup mkdir/rmdir, median of {ROUNDS} alternating rounds"
        ),
        figures: vec![
            Figure::new(
                "page faults, agent attached",
                "ms",
                f_on,
                "without the agent",
                f_off,
            )
            .with_slowdown(slowdown(f_on, f_off), 1.0),
            Figure::new(
                "cgroup churn, agent attached",
                "ms",
                c_on,
                "without the agent",
                c_off,
            )
            .with_slowdown(slowdown(c_on, c_off), 1.0),
        ],
    })
}
