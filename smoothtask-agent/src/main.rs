//! `smoothtaskd`: the SmoothTask agent. Events go to stdout as NDJSON, logs to stderr.

use std::process::ExitCode;

use clap::Parser;
use smoothtask_agent::{
    agent::{self, AgentOptions},
    cli::{Cli, Command, shutdown_signal},
    commands, detect,
    host::HostRoot,
};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let host = HostRoot::live();
    if cli.container_info {
        return print(commands::container_info(&host, cli.json));
    }
    if cli.cgroup_info {
        return print(commands::cgroup_info(&host, cli.json));
    }
    if let Some(Command::Containers) = cli.command {
        return print(commands::containers(&host, cli.json));
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("smoothtaskd: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let info = detect::get_container_info();
    let adaptation = detect::adapt_for_container();
    detect::log_adaptation(&info, &adaptation);
    let defaults = AgentOptions::default();
    let options = AgentOptions {
        ebpf: !cli.no_ebpf,
        // A containerized agent with a small CPU quota rescans less often.
        rescan_interval: adaptation.scaled_interval(defaults.rescan_interval),
        ..defaults
    };
    runtime.block_on(agent::run(options, shutdown_signal()));
    ExitCode::SUCCESS
}

fn print<E: std::fmt::Display>(output: Result<String, E>) -> ExitCode {
    match output {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("smoothtaskd: {err}");
            ExitCode::FAILURE
        }
    }
}
