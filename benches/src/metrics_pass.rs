//! Metrics pass: the cost per container of reading every container's metrics, at 100 and 1000
//! containers, with files kept open and re-read (the agent's sampler) against naive
//! open/read/close of the same files, measured in the same run. Target: <= 20 us/container.

use std::{path::Path, time::Instant};

use anyhow::Context as _;
use smoothtask_agent::{
    cgroup::{CgroupPaths, FdBudget, Hierarchies},
    host::HostRoot,
    metrics::{MetricsReader, ReadMode, Selection},
};
use smoothtask_tests::{TestCgroup, unique_prefix};

use crate::report::{Benchmark, Figure};

const SIZES: [usize; 2] = [100, 1000];
const PASSES: usize = 15;
/// Open files left for everything but the kept-open control files.
const FD_RESERVE: usize = 256;

/// The hierarchies a container's metrics come from on this host's usual layouts.
const MOUNTS: [&str; 5] = ["memory", "cpu", "cpuacct", "pids", "unified"];

pub fn run() -> anyhow::Result<Benchmark> {
    let host = HostRoot::live();
    let hierarchies = Hierarchies::read(&host).context("reading cgroup hierarchies")?;
    let max = *SIZES.iter().max().unwrap_or(&0);
    let prefix = unique_prefix("bench-metrics");
    // Created in every hierarchy present; removed on drop, also on error.
    let mut tops = Vec::new();
    for mount in MOUNTS {
        let root = Path::new("/sys/fs/cgroup").join(mount);
        if !root.join("cgroup.procs").exists() {
            continue;
        }
        let mut top = TestCgroup::create(&root, &prefix)
            .with_context(|| format!("mkdir {}/{prefix}", root.display()))?;
        for i in 0..max {
            top.create_child(&format!("c{i}"))?;
        }
        tops.push(top);
    }
    eprintln!("metrics pass: {max} cgroups in {} hierarchies", tops.len());

    let mut figures = Vec::new();
    for n in SIZES {
        let budget = FdBudget::from_rlimit(FD_RESERVE);
        let mut readers: Vec<MetricsReader> = (0..n)
            .map(|i| {
                MetricsReader::new(
                    &host,
                    &hierarchies,
                    &CgroupPaths::uniform(format!("/{prefix}/c{i}")),
                    None,
                    Selection::ALL,
                    ReadMode::KeepOpen {
                        budget: Some(budget.clone()),
                    },
                )
            })
            .collect();
        let files: Vec<Vec<std::path::PathBuf>> = readers
            .iter()
            .map(|r| r.planned_files().map(Path::to_path_buf).collect())
            .collect();
        for r in &mut readers {
            let _ = r.collect(); // warm-up: opens the files
        }
        let kept = median_us(PASSES, || {
            for r in &mut readers {
                std::hint::black_box(r.collect());
            }
        }) / n as f64;
        let naive = median_us(PASSES, || {
            for container in &files {
                for f in container {
                    std::hint::black_box(std::fs::read(f).ok());
                }
            }
        }) / n as f64;
        let open: usize = readers.iter().map(MetricsReader::open_files).sum();
        eprintln!(
            "metrics pass: {n} containers, {} files each, {open} kept open",
            files.first().map_or(0, Vec::len)
        );
        figures.push(
            Figure::new(
                &format!("{n} containers, kept open"),
                "us/container",
                kept,
                "naive open/read/close",
                naive,
            )
            .at_most(20.0),
        );
    }
    drop(tops);
    Ok(Benchmark {
        name: "metrics pass".into(),
        what: "cost per container of a full metrics pass (memory, cpu, pids, PSI files)".into(),
        figures,
    })
}

/// Median wall time of `passes` runs of `f`, in microseconds.
fn median_us(passes: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..passes)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
