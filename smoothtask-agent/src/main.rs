//! `smoothtaskd`: the SmoothTask agent. Events go to stdout as NDJSON, logs to stderr.

use clap::Parser;
use smoothtask_agent::{
    agent::{self, AgentOptions},
    cli::Cli,
};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("smoothtaskd: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let options = AgentOptions {
        ebpf: !cli.no_ebpf,
        ..AgentOptions::default()
    };
    runtime.block_on(agent::run(
        options,
        smoothtask_agent::cli::shutdown_signal(),
    ));
    std::process::ExitCode::SUCCESS
}
