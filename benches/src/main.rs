//! `smoothtask-bench`: runs the benchmarks, prints a table and writes the same figures as JSON
//! with the machine's facts. Run it through `cargo xtask bench` (release build, as root).
//!
//! Every benchmark works only on cgroups it creates under a unique prefix, removes them even
//! when it fails, and stops by itself.

mod agent_run;
mod api_stream;
mod baselines;
mod containers;
mod kernel_overhead;
mod lifecycle;
mod machine;
mod metrics_pass;
mod pressure_action;
mod reaction;
mod report;
mod scale;
mod stats;
mod steady_state;
mod throughput;

use std::{path::PathBuf, time::Duration};

use report::Report;

/// Cgroups created back to back by the lifecycle benchmark.
const LIFECYCLE_SMALL: usize = 1000;
/// Containers followed in the steady state benchmark, and its measured window.
const STEADY_SMALL: usize = 500;
const STEADY_WINDOW_SMALL: Duration = Duration::from_secs(60);
/// The scale benchmark's size (lifecycle and steady state), and its steady state window.
const SCALE: usize = 5000;
const STEADY_WINDOW_LARGE: Duration = Duration::from_secs(60);

fn main() -> std::process::ExitCode {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench/results.json"));
    match run(&out) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("smoothtask-bench: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(out: &std::path::Path) -> anyhow::Result<()> {
    raise_nofile_limit();
    // SMOOTHTASK_BENCH_ONLY=lifecycle,throughput runs only those (while working on them).
    let only = std::env::var("SMOOTHTASK_BENCH_ONLY").ok();
    let want = |name: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|n| n == name))
    };
    let mut report = Report::new(machine::facts());
    if want("metrics") {
        report.push(metrics_pass::run()?);
    }
    if want("kernel") {
        report.push(kernel_overhead::run()?);
    }
    if want("reaction") {
        report.push(reaction::run()?);
    }
    if want("api") {
        report.push(api_stream::run()?);
    }
    let lifecycle_small = if want("lifecycle") || want("scale") {
        let l = lifecycle::measure(LIFECYCLE_SMALL)?;
        report.push(lifecycle::benchmark(&l));
        Some(l)
    } else {
        None
    };
    if want("throughput") {
        report.push(throughput::run()?);
    }
    if want("pressure") {
        report.push(pressure_action::run()?);
    }
    let steady_small = if want("steady") || want("scale") {
        let s = steady_state::measure(STEADY_SMALL, window(STEADY_WINDOW_SMALL))?;
        report.push(steady_state::benchmark(&s));
        Some(s)
    } else {
        None
    };
    if want("scale")
        && let (Some(small_l), Some(small_s)) = (&lifecycle_small, &steady_small)
    {
        let large_l = lifecycle::measure(SCALE)?;
        let large_s = steady_state::measure(SCALE, window(STEADY_WINDOW_LARGE))?;
        report.push(scale::benchmark(small_l, &large_l, small_s, &large_s));
    }
    print!("{}", report.table());
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, serde_json::to_string_pretty(&report)? + "\n")?;
    println!("results written to {}", out.display());
    Ok(())
}
/// A steady state window, or SMOOTHTASK_BENCH_STEADY_SECS (shorter runs while working on it;
/// the table states the window used).
fn window(default: Duration) -> Duration {
    std::env::var("SMOOTHTASK_BENCH_STEADY_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(default, Duration::from_secs)
}

/// Lifts the soft open-file limit to the hard one (allowed without CAP_SYS_RESOURCE).
fn raise_nofile_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out pointer; setrlimit only lowers nothing and raises soft up to hard.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
