//! `smoothtask-bench`: runs the benchmarks, prints a table and writes the same figures as JSON
//! with the machine's facts. Run it through `cargo xtask bench` (release build, as root).
//!
//! Every benchmark works only on cgroups it creates under a unique prefix, removes them even
//! when it fails, and stops by itself.

mod api_stream;
mod kernel_overhead;
mod machine;
mod metrics_pass;
mod reaction;
mod report;

use std::path::PathBuf;

use report::Report;

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
    let mut report = Report::new(machine::facts());
    report.push(metrics_pass::run()?);
    report.push(kernel_overhead::run()?);
    report.push(reaction::run()?);
    report.push(api_stream::run()?);
    print!("{}", report.table());
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, serde_json::to_string_pretty(&report)? + "\n")?;
    println!("results written to {}", out.display());
    Ok(())
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
