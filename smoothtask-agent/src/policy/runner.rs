//! The policy at work: every bus event the engine cares about, and a tick, go through
//! [`PolicyEngine`]; each decision goes through the [`Actuator`] (written in enforce mode, only
//! read and rendered in observe mode) and is published as a `policy.action` event with its cause
//! and the file's content before and after.
//!
//! The mode is watched on the [`PolicyHandle`] (configuration, SIGHUP, the API). Switching from
//! enforce to observe puts every original back; any switch starts the engine afresh from the
//! inventory, so its idea of what it set matches the files.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime},
};

use tokio::sync::{broadcast::error::RecvError, watch};

use super::{
    Action, ContainerFacts, Input, MemoryVersion, PolicyEngine, Settings, Signal,
    actuator::Applied,
    recovery::{SharedActuator, lock, publish_restored},
};
use crate::{
    api::{PolicyHandle, PolicyMode, StatusHandle},
    clock::monotonic_ns,
    event::{EventBody, PolicyActionEvent, Source},
    pipeline::Pipeline,
};

/// How the agent runs its policy.
#[derive(Clone, Debug)]
pub struct PolicyOptions {
    pub settings: Settings,
    /// New settings on configuration reload (the policy then starts afresh).
    pub updates: Option<watch::Receiver<Settings>>,
    /// The requested mode (observe or enforce), watched for changes.
    pub mode: PolicyHandle,
    /// Where the `policy` subsystem's effective mode is shown (`/api/status`).
    pub status: StatusHandle,
    /// Where enforce mode journals originals (`policy.journal_path`).
    pub journal_path: PathBuf,
    /// How often pressure may end and deferred changes are retried.
    pub tick: Duration,
}

impl PolicyOptions {
    /// Options with a fresh mode handle in `mode`, a private status and a 1 s tick.
    pub fn new(settings: Settings, mode: PolicyMode, journal_path: PathBuf) -> Self {
        let handle = PolicyHandle::default();
        handle.set_mode(mode);
        PolicyOptions {
            settings,
            updates: None,
            mode: handle,
            status: StatusHandle::default(),
            journal_path,
            tick: Duration::from_secs(1),
        }
    }
}

struct Runner {
    pipeline: Arc<Pipeline>,
    settings: Settings,
    memory: MemoryVersion,
    engine: PolicyEngine,
    /// `Err`: why enforce mode cannot write (journal unusable, read-only cgroup filesystem).
    actuator: Result<SharedActuator, String>,
    status: StatusHandle,
    enforcing: bool,
    /// The effective mode shown in the status: `enforce`, `observe` or `degraded`.
    label: &'static str,
    permission_alerted: bool,
}

/// Runs the policy until the bus closes. `actuator` is what [`recover`] gave.
pub async fn run(
    pipeline: Arc<Pipeline>,
    options: PolicyOptions,
    memory: MemoryVersion,
    actuator: Result<SharedActuator, String>,
    writable: Result<(), String>,
) {
    let mut rx = pipeline.bus().subscribe();
    let mut mode_rx = options.mode.subscribe();
    let mut updates = options.updates.clone();
    let actuator = match (actuator, writable) {
        (Ok(a), Ok(())) => Ok(a),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let mut runner = Runner {
        engine: PolicyEngine::new(options.settings.clone()),
        settings: options.settings,
        pipeline,
        memory,
        actuator,
        status: options.status,
        enforcing: false,
        label: "observe",
        permission_alerted: false,
    };
    runner.set_mode(options.mode.mode());
    let mut ticker = tokio::time::interval(options.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let actions = tokio::select! {
            item = rx.recv() => match item {
                Ok(event) => match Input::from_event(&event, memory) {
                    Some(input) => {
                        let input = runner.with_originals(input);
                        runner.engine.on_input(&input, event.mono_ns)
                    }
                    None => continue,
                },
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(target: "policy", "the policy missed {n} events; it catches up from the next ones");
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
            _ = ticker.tick() => runner.engine.on_input(&Input::tick(), monotonic_ns()),
            changed = mode_rx.changed() => {
                if changed.is_err() {
                    std::future::pending::<()>().await;
                }
                let mode = mode_rx.borrow_and_update().mode;
                runner.set_mode(mode);
                continue;
            }
            update = next_settings(&mut updates) => {
                match update {
                    Some(settings) => runner.set_settings(settings),
                    None => updates = None,
                }
                continue;
            }
        };
        if !actions.is_empty() {
            // File I/O for every action: off the async workers when the runtime allows it.
            match tokio::runtime::Handle::current().runtime_flavor() {
                tokio::runtime::RuntimeFlavor::MultiThread => {
                    tokio::task::block_in_place(|| runner.act_all(actions));
                }
                _ => runner.act_all(actions),
            }
        }
    }
}

/// Up to this many actions at once are logged one by one at info; larger batches (a policy
/// over thousands of containers) get one summary line, the details at debug and in events.
const LOG_EACH_UP_TO: usize = 8;

/// The next settings sent on `updates`; `None` once the sender is gone (never without one).
async fn next_settings(updates: &mut Option<watch::Receiver<Settings>>) -> Option<Settings> {
    match updates {
        Some(rx) => match rx.changed().await {
            Ok(()) => Some(rx.borrow_and_update().clone()),
            Err(_) => None,
        },
        None => std::future::pending().await,
    }
}

impl Runner {
    /// New settings (a reload): every original goes back, then a fresh engine reclassifies the
    /// containers under the new classes and bounds.
    fn set_settings(&mut self, settings: Settings) {
        tracing::info!(target: "policy", "policy settings changed: restoring originals and reclassifying every container");
        if self.enforcing
            && let Ok(a) = &self.actuator
        {
            let restored = lock(a).restore_all();
            publish_restored(&self.pipeline, "reload", &restored);
        }
        self.settings = settings;
        self.reseed();
    }

    /// Applies a requested mode: enforce only when the actuator can write.
    fn set_mode(&mut self, requested: PolicyMode) {
        let enforce = requested == PolicyMode::Enforce;
        let (effective, reason) = match (&self.actuator, enforce) {
            (Ok(_), true) => (true, None),
            (Err(e), true) => (false, Some(format!("enforce requested, observing: {e}"))),
            (_, false) => (false, None),
        };
        let label = match (effective, &reason) {
            (true, _) => "enforce",
            (false, Some(_)) => "degraded",
            (false, None) => "observe",
        };
        if let Some(reason) = reason.as_ref().filter(|_| self.label != label) {
            tracing::error!(target: "policy", "{reason}");
            self.alert(reason.clone());
        }
        self.label = label;
        self.status
            .update(|s| s.set_subsystem("policy", label, reason.clone()));
        if self.enforcing
            && !effective
            && let Ok(a) = &self.actuator
        {
            let restored = lock(a).restore_all();
            publish_restored(&self.pipeline, "observe", &restored);
        }
        let changed = self.enforcing != effective;
        self.enforcing = effective;
        if changed || self.engine.state().containers.is_empty() {
            self.reseed();
        }
        tracing::info!(target: "policy", "policy mode: {label}");
    }

    /// A fresh engine that knows every container in the inventory, with its current values as
    /// originals.
    fn reseed(&mut self) {
        self.engine = PolicyEngine::new(self.settings.clone());
        let records: Vec<_> = self.pipeline.inventory().containers().cloned().collect();
        let now = monotonic_ns();
        for record in &records {
            let mut facts = ContainerFacts::from_record(record, self.memory);
            if let Ok(a) = &self.actuator {
                facts.baseline = lock(a).originals(record);
            }
            let input = Input {
                event_id: None,
                signal: Signal::ContainerAdded(Box::new(facts)),
            };
            // No episode runs in a fresh engine: adding a container asks for nothing.
            let _ = self.engine.on_input(&input, now);
        }
    }

    /// A container added: its facts with the current values of its knobs as originals.
    fn with_originals(&self, mut input: Input) -> Input {
        if let (Signal::ContainerAdded(facts), Ok(a)) = (&mut input.signal, &self.actuator) {
            let key = facts.key();
            let record = self.pipeline.inventory().get(&key).cloned();
            if let Some(record) = record {
                facts.baseline = lock(a).originals(&record);
            }
        }
        input
    }

    fn act_all(&mut self, actions: Vec<Action>) {
        let total = actions.len();
        let (mut written, mut failed, mut first_error) = (0, 0, None);
        for action in actions {
            let applied = self.act(action, total <= LOG_EACH_UP_TO);
            written += usize::from(applied.written);
            if let Some(e) = applied.error {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
        if total > LOG_EACH_UP_TO {
            let mode = if self.enforcing { "enforce" } else { "observe" };
            match first_error {
                Some(e) => {
                    tracing::warn!(target: "policy", "{total} actions ({mode}): {written} written, {failed} not applied (first: {e})")
                }
                None => {
                    tracing::info!(target: "policy", "{total} actions ({mode}): {written} written")
                }
            }
        }
    }

    /// Applies and publishes one action; returns what became of it.
    fn act(&mut self, action: Action, log_each: bool) -> Applied {
        let record = self.pipeline.inventory().get(&action.key).cloned();
        let applied = match &self.actuator {
            Ok(a) => lock(a).apply(record.as_ref(), &action, self.enforcing),
            Err(_) => Applied {
                file: None,
                before: None,
                after: action.to.to_string(),
                written: false,
                error: None,
                permission: false,
            },
        };
        let mode = if self.enforcing { "enforce" } else { "observe" };
        let file = applied.file.as_ref().map(|f| f.display().to_string());
        let shown = file.as_deref().unwrap_or(action.knob.file());
        match &applied.error {
            Some(e) if log_each => {
                tracing::warn!(target: "policy", "{} {}: {} not applied: {e}", action.class, action.key, action.knob.file())
            }
            Some(e) => {
                tracing::debug!(target: "policy", "{} {}: {} not applied: {e}", action.class, action.key, action.knob.file())
            }
            None if log_each => {
                tracing::info!(target: "policy", "{} {} {shown}: {:?} -> {} ({}) [{mode}{}]", action.class, action.key, applied.before, applied.after, action.reason, if applied.written { ": written" } else { ": not written" })
            }
            None => {
                tracing::debug!(target: "policy", "{} {} {shown}: {:?} -> {} [{mode}]", action.class, action.key, applied.before, applied.after)
            }
        }
        if applied.permission && !self.permission_alerted {
            self.permission_alerted = true;
            let why = applied.error.clone().unwrap_or_default();
            self.alert(format!("the policy cannot write cgroup files: {why}"));
            self.status.update(|s| {
                s.set_subsystem(
                    "policy",
                    "degraded",
                    Some(format!("cgroup writes fail: {why}")),
                )
            });
        }
        let body = EventBody::PolicyAction(PolicyActionEvent {
            container: action.container,
            class: action.class,
            knob: action.knob.file(),
            file,
            before: applied.before.clone(),
            after: applied.after.clone(),
            mode,
            written: applied.written,
            error: applied.error.clone(),
            reason: action.reason,
            cause_event_id: action.cause_event_id,
        });
        self.pipeline
            .ingest(Source::Policy, SystemTime::now(), monotonic_ns(), body);
        applied
    }

    fn alert(&self, message: String) {
        let body = EventBody::HealthAlert {
            subsystem: "policy",
            message,
        };
        self.pipeline
            .ingest(Source::Policy, SystemTime::now(), monotonic_ns(), body);
    }
}

#[cfg(test)]
mod tests;
