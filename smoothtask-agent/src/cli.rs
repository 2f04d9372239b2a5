//! The `smoothtaskd` command line and its signal handling.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "smoothtaskd",
    version,
    about = "SmoothTask: a container-aware resource agent for Linux",
    after_help = "Examples:\n  smoothtaskd                         run on built-in defaults; events as NDJSON on stdout\n  smoothtaskd --container-info        where am I running? (runtime, container id, evidence)\n  smoothtaskd --container-info --json the same as JSON\n  smoothtaskd --cgroup-info           the host's cgroup hierarchies and layout\n  smoothtaskd containers --json       every container with limits and usage\n  RUST_LOG=debug smoothtaskd          more detail in the log (stderr)\n  smoothtaskd --no-ebpf               run without loading eBPF programs"
)]
pub struct Cli {
    /// Print whether and where this process runs in a container, then exit.
    #[arg(long)]
    pub container_info: bool,
    /// Print the host's cgroup hierarchies (v1 controllers, v2 mount, layout), then exit.
    #[arg(long, conflicts_with = "container_info")]
    pub cgroup_info: bool,
    /// Print JSON instead of a human summary (--container-info, --cgroup-info, containers).
    #[arg(long, global = true)]
    pub json: bool,
    /// Do not load eBPF programs (no kernel events).
    #[arg(long)]
    pub no_ebpf: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every container on the host with its limits and usage, then exit.
    Containers,
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(err) => {
            tracing::error!("cannot listen for SIGTERM: {err}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
}
