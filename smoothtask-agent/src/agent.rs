//! The agent's lifecycle: start the sources, publish on the bus, run until shutdown.

use std::{future::Future, sync::Arc, time::Duration, time::SystemTime};

use tokio::task::JoinHandle;

use crate::{
    bus::Bus,
    clock::monotonic_ns,
    event::{EventBody, KernelMode, Source},
    kernel::KernelSource,
    sink,
};

/// What to start.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    /// Load and attach the eBPF programs.
    pub ebpf: bool,
    /// Write every event as NDJSON on stdout.
    pub stdout_events: bool,
    /// How often kernel loss counters are checked and reported.
    pub counter_interval: Duration,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            ebpf: true,
            stdout_events: true,
            counter_interval: Duration::from_secs(1),
        }
    }
}

/// A running agent. Dropping it stops its sources (eBPF programs detach).
pub struct Agent {
    bus: Arc<Bus>,
    kernel_mode: KernelMode,
    kernel: Option<KernelSource>,
    tasks: Vec<JoinHandle<()>>,
}

impl Agent {
    /// Starts every source on `bus`. An unavailable source is announced (log line and the
    /// `agent.started` event) and the agent runs without it; starting never fails.
    pub async fn start(options: &AgentOptions, bus: Arc<Bus>) -> Self {
        let mut tasks = Vec::new();
        if options.stdout_events {
            tasks.push(tokio::spawn(sink::write_ndjson(
                bus.subscribe(),
                tokio::io::stdout(),
            )));
        }

        let (kernel, kernel_mode) = if !options.ebpf {
            let reason = "eBPF disabled by configuration".to_string();
            tracing::warn!(target: "kernel", "{reason}: no kernel events");
            (None, KernelMode::Disabled { reason })
        } else {
            match KernelSource::start(Arc::clone(&bus), options.counter_interval) {
                Ok(source) => {
                    let programs: Vec<String> =
                        source.programs().iter().map(|p| p.to_string()).collect();
                    tracing::info!(
                        target: "kernel",
                        "eBPF programs attached: {} (tracefs {:?})",
                        programs.join(", "),
                        source.tracefs()
                    );
                    (Some(source), KernelMode::Ebpf { programs })
                }
                Err(err) => {
                    let reason = err.to_string();
                    tracing::error!(target: "kernel", "KERNEL TRACING DISABLED: {reason}");
                    (None, KernelMode::Disabled { reason })
                }
            }
        };

        bus.publish(
            Source::Agent,
            SystemTime::now(),
            monotonic_ns(),
            EventBody::AgentStarted {
                version: env!("CARGO_PKG_VERSION").to_string(),
                kernel: kernel_mode.clone(),
            },
        );
        Self {
            bus,
            kernel_mode,
            kernel,
            tasks,
        }
    }

    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    pub fn kernel_mode(&self) -> &KernelMode {
        &self.kernel_mode
    }

    /// Stops the sources, then lets the sinks write what is queued.
    pub async fn shutdown(mut self) {
        drop(self.kernel.take());
        // Sinks end when the bus closes; give them a moment to flush.
        let tasks = std::mem::take(&mut self.tasks);
        drop(self);
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
    }
}

/// Runs the agent until `shutdown` completes.
pub async fn run(options: AgentOptions, shutdown: impl Future<Output = ()>) {
    let bus = Bus::new(crate::bus::DEFAULT_CAPACITY);
    let agent = Agent::start(&options, bus).await;
    shutdown.await;
    tracing::info!("shutting down");
    agent.shutdown().await;
}
