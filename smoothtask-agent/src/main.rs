//! `smoothtaskd`: the SmoothTask agent. Events go to stdout as NDJSON (or a file), logs to
//! stderr. A bad configuration is refused before anything starts, with exit code 2.

use std::process::ExitCode;

use clap::Parser;
use smoothtask_agent::{
    cli::{Cli, Command},
    commands, config, daemon, detect,
    events_client::{self, EventsQuery},
    host::HostRoot,
};
use tracing_subscriber::EnvFilter;

/// Exit code for a configuration that cannot be used.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let host = HostRoot::live();
    if cli.print_default_config {
        print!("{}", config::default_config_yaml());
        return ExitCode::SUCCESS;
    }
    if let Some(Command::CheckConfig { file }) = &cli.command {
        return match config::check_config(file) {
            Ok(_) => {
                println!("{}: valid", file.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("{err}");
                ExitCode::from(EXIT_CONFIG)
            }
        };
    }
    if cli.container_info {
        return print(commands::container_info(&host, cli.json));
    }
    if cli.cgroup_info {
        return print(commands::cgroup_info(&host, cli.json));
    }
    if let Some(Command::Containers) = cli.command {
        return print(commands::containers(&host, cli.json));
    }

    // Everything below needs the configuration: refused before anything starts.
    let mut loaded = match config::load_from_process(cli.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("smoothtaskd: configuration refused, nothing started:\n{err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if cli.no_ebpf {
        loaded.config.ebpf.enabled = false;
    }
    let filter = loaded
        .config
        .log
        .filter(std::env::var("RUST_LOG").ok().as_deref())
        .to_string();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();

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
    if let Some(Command::Events {
        follow,
        kind,
        container,
        api,
    }) = cli.command
    {
        let query = EventsQuery {
            base: api.unwrap_or_else(|| format!("http://{}", loaded.config.api.listen)),
            follow,
            kinds: kind,
            container,
            json: cli.json,
            token: std::env::var(smoothtask_agent::api::TOKEN_ENV).ok(),
        };
        return match runtime.block_on(events_client::run(query)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("smoothtaskd events: {err}");
                ExitCode::FAILURE
            }
        };
    }

    let info = detect::get_container_info_at(&host);
    let adaptation = detect::adapt_for_container_at(&host);
    detect::log_adaptation(&info, &adaptation);
    runtime.block_on(daemon::run(loaded, cli.config, cli.dry_run, adaptation));
    // Background work still blocked in a system call is not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    tracing::info!("stopped");
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
