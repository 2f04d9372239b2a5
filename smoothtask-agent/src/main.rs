//! `smoothtaskd`: the SmoothTask agent. Events go to stdout as NDJSON, logs to stderr.

use std::process::ExitCode;

use clap::Parser;
use smoothtask_agent::{
    agent::{self, AgentOptions},
    cli::{Cli, shutdown_signal},
    detect,
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

    if cli.container_info {
        return print_container_info(cli.json);
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
    let options = AgentOptions {
        ebpf: !cli.no_ebpf,
        ..AgentOptions::default()
    };
    runtime.block_on(agent::run(options, shutdown_signal()));
    ExitCode::SUCCESS
}

fn print_container_info(json: bool) -> ExitCode {
    let info = detect::get_container_info();
    if json {
        match serde_json::to_string_pretty(&info) {
            Ok(text) => println!("{text}"),
            Err(err) => {
                eprintln!("smoothtaskd: cannot serialize the container info: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", detect::render_human(&info));
    }
    ExitCode::SUCCESS
}
