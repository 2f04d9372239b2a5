//! The agent's lifecycle: start the sources, publish on the bus, run until shutdown.

use std::{future::Future, sync::Arc, time::Duration, time::SystemTime};

use tokio::task::JoinHandle;

use crate::{
    attribution::Attributor,
    bus::Bus,
    cgroup::Hierarchies,
    clock::monotonic_ns,
    event::{EventBody, KernelMode, Source},
    fallback::InotifyFallback,
    host::HostRoot,
    inventory::{HierarchyLabels, Inventory, scan_hierarchies},
    kernel::{KernelOptions, KernelSource},
    pipeline::Pipeline,
    policy::{recovery::SharedActuator, runner::PolicyOptions},
    pressure::{PressureOptions, PressureWatcher},
    sampler::{SamplerOptions, Samples},
    sink,
};

/// What to start.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    /// Load and attach the eBPF programs.
    pub ebpf: bool,
    /// Write every event as NDJSON on stdout.
    pub stdout_events: bool,
    /// How often kernel counters (lost records, short reclaim stalls) are reported.
    pub counter_interval: Duration,
    /// Reclaim stalls at least this long are reported one by one; shorter ones are summed in
    /// the kernel and reported every `counter_interval`.
    pub stall_threshold: Duration,
    /// How often the cgroup filesystems are rescanned to repair drift (zero: never).
    pub rescan_interval: Duration,
    /// PSI triggers (system-wide and per container); `None` disables them.
    pub pressure: Option<PressureOptions>,
    /// The metrics sampler; `None` disables it.
    pub sampler: Option<SamplerOptions>,
    /// The policy (decisions published as `policy.action`, written in enforce mode); `None`
    /// disables it.
    pub policy: Option<PolicyOptions>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            ebpf: true,
            stdout_events: true,
            counter_interval: Duration::from_secs(1),
            stall_threshold: Duration::from_millis(1),
            rescan_interval: Duration::from_secs(30),
            pressure: Some(PressureOptions::default()),
            sampler: Some(SamplerOptions::default()),
            policy: None,
        }
    }
}

/// A running agent. Dropping it stops its sources (eBPF programs detach).
pub struct Agent {
    bus: Arc<Bus>,
    /// Sinks write what is queued, then end, when this turns true.
    stop_sinks: tokio::sync::watch::Sender<bool>,
    sinks: Vec<JoinHandle<()>>,
    fallback: Option<InotifyFallback>,
    cgroup_lifecycle: &'static str,
    pipeline: Arc<Pipeline>,
    samples: Arc<Samples>,
    pressure: Option<PressureWatcher>,
    kernel_mode: KernelMode,
    kernel: Option<KernelSource>,
    tasks: Vec<JoinHandle<()>>,
    /// The policy's actuator: shutdown puts every journalled original back through it.
    actuator: Option<SharedActuator>,
}

impl Agent {
    /// Starts every source on `bus`. An unavailable source is announced (log line and the
    /// `agent.started` event) and the agent runs without it; starting never fails.
    pub async fn start(options: &AgentOptions, bus: Arc<Bus>) -> Self {
        let mut tasks = Vec::new();
        let (stop_sinks, sink_stop) = tokio::sync::watch::channel(false);
        let mut sinks = Vec::new();
        if options.stdout_events {
            sinks.push(tokio::spawn(sink::write_ndjson(
                bus.subscribe(),
                tokio::io::stdout(),
                sink_stop,
            )));
        }

        let host = HostRoot::live();
        let hierarchies = Hierarchies::read(&host).unwrap_or_else(|err| {
            tracing::error!(target: "cgroup", "cannot read the cgroup hierarchies: {err}; containers will not be found");
            Hierarchies::from_mountinfo("", "")
        });
        tracing::info!(target: "cgroup", "cgroup layout: {:?}, {} v1 hierarchies, v2: {}", hierarchies.layout, hierarchies.v1.len(), hierarchies.v2.is_some());
        let pipeline = Pipeline::new(
            Arc::clone(&bus),
            Inventory::new(HierarchyLabels::from_hierarchies(&hierarchies)),
            Attributor::new(host.clone(), hierarchies.clone()),
        );
        // Before anything else: originals a crashed run left changed go back.
        let actuator = options.policy.as_ref().map(|p| {
            crate::policy::recovery::recover(&pipeline, &host, &hierarchies, &p.journal_path)
        });

        let (kernel, kernel_mode) = if !options.ebpf {
            let reason = "eBPF disabled by configuration".to_string();
            tracing::warn!(target: "kernel", "{reason}: no kernel events");
            (None, KernelMode::Disabled { reason })
        } else {
            let kernel_options = KernelOptions {
                report_every: options.counter_interval,
                stall_threshold: options.stall_threshold,
            };
            match KernelSource::start(Arc::clone(&pipeline), kernel_options) {
                Ok(source) => {
                    let programs: Vec<String> =
                        source.programs().iter().map(|p| p.to_string()).collect();
                    tracing::info!(
                        target: "kernel",
                        "eBPF programs attached: {} (tracefs {:?})",
                        programs.join(", "),
                        source.tracefs()
                    );
                    let skipped = source.skipped().to_vec();
                    (Some(source), KernelMode::Ebpf { programs, skipped })
                }
                Err(err) => {
                    let reason = explain(&err);
                    tracing::error!(target: "kernel", "KERNEL TRACING DISABLED: {reason}");
                    (None, KernelMode::Disabled { reason })
                }
            }
        };

        // Without kernel events, cgroup lifecycle comes from inotify (plus rescans).
        let fallback = if kernel.is_none() {
            match InotifyFallback::start(Arc::clone(&pipeline), &host, &hierarchies) {
                Ok(f) => {
                    tracing::warn!(target: "fallback", "cgroup lifecycle from inotify ({} watches) and rescans", f.watches);
                    Some(f)
                }
                Err(err) => {
                    tracing::error!(target: "fallback", "inotify unavailable ({err}): cgroup lifecycle from rescans only");
                    None
                }
            }
        } else {
            None
        };
        let cgroup_lifecycle = match (&kernel, &fallback) {
            (Some(_), _) => "ebpf",
            (None, Some(_)) => "inotify",
            (None, None) => "rescan",
        };
        bus.publish(
            Source::Agent,
            SystemTime::now(),
            monotonic_ns(),
            EventBody::AgentStarted {
                version: env!("CARGO_PKG_VERSION").to_string(),
                kernel: kernel_mode.clone(),
                cgroup_lifecycle,
            },
        );
        // Discovery after the kernel programs are attached: a container created in between is in
        // both, and the inventory keeps it once.
        let found = pipeline.reconcile(&scan_hierarchies(&host, &hierarchies), false);
        tracing::info!(target: "inventory", "{found} containers found at startup");
        pipeline.prime_oom_counters();
        let pressure = options.pressure.as_ref().map(|p| {
            let watcher = PressureWatcher::start(Arc::clone(&pipeline), &host, &hierarchies, p);
            tracing::info!(target: "pressure", "{} system PSI triggers armed", watcher.system_triggers);
            watcher
        });
        let samples = Arc::new(Samples::default());
        if let Some(sampler) = &options.sampler {
            tasks.push(tokio::spawn(crate::sampler::run(
                Arc::clone(&pipeline),
                host.clone(),
                hierarchies.clone(),
                sampler.clone(),
                Arc::clone(&samples),
            )));
        }
        if let (Some(policy), Some(actuator)) = (&options.policy, &actuator) {
            let memory = match hierarchies.mount_for_controller("memory") {
                Some(h) if h.is_v2() => crate::policy::MemoryVersion::V2,
                _ => crate::policy::MemoryVersion::V1,
            };
            tasks.push(tokio::spawn(crate::policy::runner::run(
                Arc::clone(&pipeline),
                policy.clone(),
                memory,
                actuator.clone(),
                crate::policy::check_write_access(&host, &hierarchies),
            )));
        }
        if !options.rescan_interval.is_zero() {
            tasks.push(tokio::spawn(rescan(
                Arc::clone(&pipeline),
                host,
                hierarchies,
                options.rescan_interval,
            )));
        }
        Self {
            bus,
            stop_sinks,
            sinks,
            fallback,
            cgroup_lifecycle,
            pipeline,
            samples,
            pressure,
            kernel_mode,
            kernel,
            tasks,
            actuator: actuator.and_then(Result::ok),
        }
    }

    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    /// The sampler's latest metrics per container.
    pub fn samples(&self) -> &Arc<Samples> {
        &self.samples
    }

    /// How pressure is watched: `("psi", None)` with every system trigger armed, `("degraded",
    /// reason)` when some could not be, `("disabled", reason)` when none could (no PSI: the
    /// sampler's usage and throttling polling still reports `memory.limit_near` and
    /// `cpu.throttled`).
    pub fn pressure_mode(&self) -> (&'static str, Option<String>) {
        match &self.pressure {
            None => (
                "disabled",
                Some("PSI triggers disabled by configuration".into()),
            ),
            Some(p) if p.system_triggers == 0 => (
                "disabled",
                Some(format!(
                    "no PSI trigger could be armed: {}",
                    p.notes.join("; ")
                )),
            ),
            Some(p) if p.notes.is_empty() => ("psi", None),
            Some(p) => ("degraded", Some(p.notes.join("; "))),
        }
    }

    /// Where cgroup lifecycle comes from: `ebpf`, `inotify` or `rescan`.
    pub fn cgroup_lifecycle(&self) -> &'static str {
        self.cgroup_lifecycle
    }

    pub fn kernel_mode(&self) -> &KernelMode {
        &self.kernel_mode
    }

    /// Stops the sources and background tasks, then lets the sinks write what is queued.
    pub async fn shutdown(mut self) {
        drop(self.kernel.take());
        drop(self.fallback.take());
        drop(self.pressure.take());
        for task in self.tasks.drain(..) {
            task.abort();
            // Wait for it to end: no policy write may follow the restore below.
            let _ = task.await;
        }
        if let Some(actuator) = self.actuator.take() {
            let restored = crate::policy::recovery::lock(&actuator).restore_all();
            crate::policy::recovery::publish_restored(&self.pipeline, "stop", &restored);
        }
        let _ = self.stop_sinks.send(true);
        for sink in self.sinks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), sink).await;
        }
    }
}

/// An error with every cause in its chain, and what to do when the cause is a missing
/// privilege.
fn explain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut denied = false;
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            denied |= io.kind() == std::io::ErrorKind::PermissionDenied;
        }
        source = cause.source();
    }
    if denied {
        text.push_str(" (loading eBPF needs CAP_BPF and CAP_PERFMON, or root; cgroup lifecycle falls back to inotify)");
    }
    text
}

/// Rescans the cgroup filesystems every `every` and repairs the inventory.
async fn rescan(
    pipeline: Arc<Pipeline>,
    host: HostRoot,
    hierarchies: Hierarchies,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; startup already scanned
    loop {
        tick.tick().await;
        let (host2, h2) = (host.clone(), hierarchies.clone());
        let observed =
            match tokio::task::spawn_blocking(move || scan_hierarchies(&host2, &h2)).await {
                Ok(observed) => observed,
                Err(err) => {
                    tracing::error!(target: "inventory", "rescan failed: {err}");
                    continue;
                }
            };
        let repaired = pipeline.reconcile(&observed, true);
        if repaired > 0 {
            tracing::warn!(target: "inventory", "rescan repaired {repaired} containers that events had missed");
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
