//! Project tasks: `cargo xtask setup | build-ebpf | run | test | lint | bench | fuzz`.
//!
//! Every task that needs the eBPF toolchain runs `setup` first, so a fresh machine needs
//! nothing but rustup, cargo and the registries.

mod cmd;
mod setup;
mod tasks;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "SmoothTask's project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what building the eBPF programs needs: nightly rust-src and bpf-linker.
    Setup,
    /// Build the eBPF object alone (the agent's build script also does this).
    BuildEbpf,
    /// Build and run smoothtaskd on built-in defaults; arguments after `--` go to it.
    Run {
        /// Build and run the release profile.
        #[arg(long)]
        release: bool,
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Format check, clippy (host and eBPF target), build, then every test.
    Test {
        /// Arguments after `--` go to `cargo test` (for example a test name filter).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Format check and clippy with warnings denied.
    Lint,
    /// Run every benchmark (release build, as root): a table, and JSON in target/bench/.
    Bench,
    /// Fuzz the parsers: their never-panic property tests with a million inputs each.
    Fuzz {
        /// Inputs per property.
        #[arg(long, default_value_t = 1_000_000)]
        cases: u32,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Setup => setup::run(),
        Task::BuildEbpf => setup::run().and_then(|()| tasks::build_ebpf()),
        Task::Run { release, args } => setup::run().and_then(|()| tasks::run(release, &args)),
        Task::Test { args } => setup::run().and_then(|()| tasks::test(&args)),
        Task::Lint => setup::run().and_then(|()| tasks::lint()),
        Task::Bench => setup::run().and_then(|()| tasks::bench()),
        Task::Fuzz { cases } => setup::run().and_then(|()| tasks::fuzz(cases)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
