//! `smoothtaskd`'s run mode: the validated config turned into agent options, the agent, the
//! event output, the HTTP API, and the signals (SIGHUP reloads atomically, SIGTERM and SIGINT
//! stop cleanly).

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime},
};

use tokio::{
    net::TcpListener,
    signal::unix::{SignalKind, signal},
    sync::watch,
};

use crate::{
    agent::{Agent, AgentOptions},
    api::{self, ApiState, ApiToken, PolicyHandle, StatusHandle},
    bus::{Bus, DEFAULT_CAPACITY},
    clock::monotonic_ns,
    config::{self, Config, EventsOutput, LoadedConfig, PolicyMode},
    detect::Adaptation,
    event::{EventBody, Source},
    policy::{Settings, runner::PolicyOptions},
    pressure::{PressureOptions, Resource},
    sampler::SamplerOptions,
    sink,
};

/// The agent options a configuration asks for. The policy runs in the mode `policy` holds
/// (which SIGHUP and the API may change), shows its effective mode in `status`, and takes new
/// settings (classes, bounds) from `settings` on SIGHUP.
pub fn agent_options(
    config: &Config,
    adaptation: &Adaptation,
    policy: &PolicyHandle,
    status: &StatusHandle,
    settings: &watch::Receiver<Settings>,
) -> AgentOptions {
    AgentOptions {
        ebpf: config.ebpf.enabled,
        // The NDJSON output is started by the daemon (stdout or a rotated file).
        stdout_events: false,
        counter_interval: config.ebpf.counter_interval,
        stall_threshold: config.pressure.reclaim_stall_threshold,
        // A containerized agent with a small CPU quota rescans and samples less often.
        rescan_interval: adaptation.scaled_interval(config.inventory.rescan_interval),
        pressure: config.pressure.psi_enabled.then(|| PressureOptions {
            stall: config.pressure.psi_stall,
            window: config.pressure.psi_window,
            system: Resource::ALL.to_vec(),
            containers: config.container.enabled,
        }),
        sampler: (config.container.enabled && config.container.metrics_enabled).then(|| {
            SamplerOptions {
                interval: adaptation.scaled_interval(config.container.metrics_interval),
                limit_near_ratio: config.pressure.memory_limit_near_ratio,
            }
        }),
        policy: config.container.enabled.then(|| PolicyOptions {
            settings: settings.borrow().clone(),
            updates: Some(settings.clone()),
            mode: policy.clone(),
            status: status.clone(),
            journal_path: config.policy.journal_path.clone(),
            // A containerized agent under a small CPU quota decides less often.
            tick: adaptation.scaled_interval(Duration::from_secs(1)),
        }),
    }
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(
    loaded: LoadedConfig,
    cli_config: Option<PathBuf>,
    dry_run: bool,
    adaptation: Adaptation,
) {
    // Handlers first: a signal that arrives while the agent starts is handled, not fatal.
    let mut hup = signal(SignalKind::hangup()).ok();
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    let config = loaded.config.clone();
    tracing::info!("configuration: {}", loaded.source);
    if !loaded.env_overrides.is_empty() {
        tracing::info!("environment overrides: {}", loaded.env_overrides.join(", "));
    }
    let bus = Bus::new(DEFAULT_CAPACITY.max(config.events.history));
    let (stop_tx, stop_rx) = watch::channel(false);
    // The output stops last, on its own signal: the agent's shutdown still publishes (the
    // policy's restored originals).
    let (stop_output, output_stop_rx) = watch::channel(false);
    let output = start_output(&config, &bus, output_stop_rx);
    let mode = if dry_run {
        PolicyMode::Observe
    } else {
        config.policy.mode
    };
    let policy = PolicyHandle::default();
    policy.set_mode(mode);
    let status = StatusHandle::default();
    let (settings_tx, settings_rx) = watch::channel(Settings::for_agent(&config, &adaptation));
    let options = agent_options(&config, &adaptation, &policy, &status, &settings_rx);
    let agent = Agent::start(&options, Arc::clone(&bus)).await;
    status.update(|s| {
        s.set_kernel_mode(agent.kernel_mode());
        s.set_subsystem(
            "cgroup_lifecycle",
            agent.cgroup_lifecycle(),
            (agent.cgroup_lifecycle() != "ebpf").then(|| "kernel programs not attached".into()),
        );
        let (mode, reason) = agent.pressure_mode();
        s.set_subsystem("pressure", mode, reason);
    });
    let api_task = if config.api.enabled {
        start_api(
            &config,
            &agent,
            status.clone(),
            policy.clone(),
            stop_rx.clone(),
        )
        .await
    } else {
        None
    };

    loop {
        tokio::select! {
            _ = async { match &mut hup { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                reload(cli_config.as_deref(), dry_run, &bus, &policy, &settings_tx, &adaptation);
            }
            _ = async { match &mut term { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                tracing::info!("SIGTERM received");
                break;
            }
            _ = async { match &mut int { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                tracing::info!("SIGINT received");
                break;
            }
        }
    }
    tracing::info!("shutting down");
    // The API first (it ends open streams), then the sources; the output writes what is
    // queued last.
    let _ = stop_tx.send(true);
    if let Some(task) = api_task {
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
    tracing::debug!("API stopped");
    agent.shutdown().await;
    tracing::debug!("agent stopped");
    let _ = stop_output.send(true);
    if let Some(task) = output {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    tracing::debug!("event output flushed");
}

fn start_output(
    config: &Config,
    bus: &Arc<Bus>,
    stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    match config.events.output {
        EventsOutput::Stdout => Some(tokio::spawn(sink::write_ndjson(
            bus.subscribe(),
            tokio::io::stdout(),
            stop,
        ))),
        EventsOutput::File => Some(tokio::spawn(sink::write_ndjson_rotating(
            bus.subscribe(),
            config.events.file.path.clone(),
            config.events.file.max_bytes,
            config.events.file.keep,
            stop,
        ))),
        EventsOutput::None => None,
    }
}

async fn start_api(
    config: &Config,
    agent: &Agent,
    status: StatusHandle,
    policy: PolicyHandle,
    mut stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let token = match token(config) {
        Ok(token) => token,
        Err(err) => {
            tracing::error!(target: "api", "API not started: {err}");
            status.update(|s| s.set_subsystem("api", "disabled", Some(err)));
            return None;
        }
    };
    let state = ApiState::builder(Arc::clone(agent.pipeline()))
        .status(status.clone())
        .policy(policy)
        .token(token)
        .history_capacity(config.events.history)
        .stream_queue(config.events.subscriber_queue)
        .build();
    state.start_background();
    let listener = match TcpListener::bind(config.api.listen).await {
        Ok(l) => l,
        Err(err) => {
            let reason = format!("cannot listen on {}: {err}", config.api.listen);
            tracing::error!(target: "api", "API not started: {reason}");
            status.update(|s| s.set_subsystem("api", "disabled", Some(reason)));
            return None;
        }
    };
    tracing::info!(target: "api", "API listening on {}", config.api.listen);
    let shutdown = async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    Some(tokio::spawn(async move {
        if let Err(err) = api::serve(listener, state, shutdown).await {
            tracing::error!(target: "api", "API stopped: {err}");
        }
    }))
}

/// The API token: configuration (`api.token` / `api.token_file`), else `SMOOTHTASK_API_TOKEN`.
fn token(config: &Config) -> Result<Option<ApiToken>, String> {
    let secret = config.api.auth.resolve().map_err(|e| e.to_string())?;
    let raw = match secret {
        Some(secret) => Some(secret.expose().to_string()),
        None => std::env::var(api::TOKEN_ENV).ok().filter(|t| !t.is_empty()),
    };
    raw.map(|t| ApiToken::new(t).map_err(|e| e.to_string()))
        .transpose()
}

/// SIGHUP: load the configuration again; a bad one is rejected with an event and the running
/// one stays. What can change without a restart is applied: the policy's mode, and its classes
/// and bounds (the policy then starts afresh: originals restored, containers reclassified).
fn reload(
    cli_config: Option<&std::path::Path>,
    dry_run: bool,
    bus: &Arc<Bus>,
    policy: &PolicyHandle,
    settings: &watch::Sender<Settings>,
    adaptation: &Adaptation,
) {
    let body = match config::load_from_process(cli_config) {
        Ok(loaded) => {
            let new = Settings::for_agent(&loaded.config, adaptation);
            settings.send_if_modified(|current| {
                let changed = *current != new;
                if changed {
                    *current = new;
                }
                changed
            });
            let mode = if dry_run {
                PolicyMode::Observe
            } else {
                loaded.config.policy.mode
            };
            policy.set_mode(mode);
            tracing::info!("configuration reloaded from {}", loaded.source);
            EventBody::ConfigReloaded {
                from: loaded.source.to_string(),
                policy_mode: mode.as_str(),
            }
        }
        Err(err) => {
            tracing::error!(
                "configuration reload rejected; the running configuration stays:\n{err}"
            );
            EventBody::ConfigRejected {
                message: err.to_string(),
            }
        }
    };
    bus.publish(Source::Agent, SystemTime::now(), monotonic_ns(), body);
}
