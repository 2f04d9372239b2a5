//! The `smoothtaskd` command line: raw flags parsed by clap, resolved in `main.rs`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "smoothtaskd",
    version,
    about = "SmoothTask: a container-aware resource agent for Linux",
    after_help = "Examples:
  smoothtaskd                            run on built-in defaults; events as NDJSON on stdout
  smoothtaskd --config /etc/smoothtask/smoothtask.yml --dry-run
  smoothtaskd --container-info --json    where am I running? (runtime, container id, evidence)
  smoothtaskd --cgroup-info              the host's cgroup hierarchies and layout
  smoothtaskd containers --json          every container with limits and usage
  smoothtaskd events --follow --kind memory.oom_kill
  smoothtaskd check-config my.yml        validate a config file (exit 2 when it is wrong)
  smoothtaskd --print-default-config     the defaults as commented YAML
  RUST_LOG=debug smoothtaskd             more detail in the log (stderr)

Configuration: --config, else SMOOTHTASK_CONFIG, else /etc/smoothtask/smoothtask.yml, else
the built-in defaults; SMOOTHTASK_<SECTION>__<KEY> overrides any key (docs/configuration.md).
Signals: SIGHUP reloads the configuration, SIGTERM and SIGINT stop cleanly."
)]
pub struct Cli {
    /// The configuration file (YAML).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Observe only: compute and publish policy actions, write no cgroup file.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not load eBPF programs (cgroup lifecycle from inotify and rescans).
    #[arg(long)]
    pub no_ebpf: bool,
    /// Print whether and where this process runs in a container, then exit.
    #[arg(long)]
    pub container_info: bool,
    /// Print the host's cgroup hierarchies (v1 controllers, v2 mount, layout), then exit.
    #[arg(long, conflicts_with = "container_info")]
    pub cgroup_info: bool,
    /// Print the built-in defaults as commented YAML, then exit.
    #[arg(long)]
    pub print_default_config: bool,
    /// Print JSON instead of a human summary (--container-info, --cgroup-info, containers,
    /// events).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every container on the host with its limits and usage, then exit.
    Containers,
    /// Print the running agent's events (a client of its /api/events stream).
    Events {
        /// Keep following new events (otherwise print the recent history and exit).
        #[arg(long)]
        follow: bool,
        /// Only these kinds (repeatable; `memory.*` selects a family).
        #[arg(long)]
        kind: Vec<String>,
        /// Only events about this container (id, or runtime/id).
        #[arg(long)]
        container: Option<String>,
        /// The agent's API (default: api.listen from the configuration).
        #[arg(long, value_name = "URL")]
        api: Option<String>,
    },
    /// Validate a configuration file: prints what is wrong and exits 2, or says it is valid.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
}
