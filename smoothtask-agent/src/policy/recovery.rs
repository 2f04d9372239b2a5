//! Putting originals back: the actuator shared by the runner and the agent's shutdown, the
//! restore a start does before anything else (after a crash or `kill -9`), and the
//! `policy.restored` events every restore publishes.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::SystemTime,
};

use super::{
    actuator::Actuator,
    journal::{Journal, RestoreOutcome, Restored},
};
use crate::{
    cgroup::Hierarchies,
    clock::monotonic_ns,
    event::{EventBody, PolicyRestoredEvent, Source},
    host::HostRoot,
    pipeline::Pipeline,
};

/// The actuator shared by the runner and the agent's shutdown (which restores through it).
pub type SharedActuator = Arc<Mutex<Actuator>>;

pub fn lock(actuator: &SharedActuator) -> MutexGuard<'_, Actuator> {
    actuator.lock().unwrap_or_else(|e| e.into_inner())
}

/// Opens the journal and puts back whatever a previous run left in it (after a crash or
/// `kill -9`), before anything else runs. `Err`: the journal cannot be used, and enforce mode
/// cannot run (the reason is alerted).
pub fn recover(
    pipeline: &Pipeline,
    host: &HostRoot,
    hierarchies: &Hierarchies,
    journal_path: &std::path::Path,
) -> Result<SharedActuator, String> {
    let mut journal = Journal::open(journal_path).map_err(|e| e.to_string())?;
    if !journal.is_empty() {
        tracing::warn!(
            target: "policy",
            "{} values were left changed by a previous run; restoring them from {}",
            journal.len(),
            journal_path.display()
        );
        let restored = journal.restore_all();
        publish_restored(pipeline, "startup", &restored);
    }
    Ok(Arc::new(Mutex::new(Actuator::new(
        host.clone(),
        hierarchies.clone(),
        journal,
    ))))
}

/// Publishes one `policy.restored` event per file.
pub fn publish_restored(pipeline: &Pipeline, trigger: &'static str, restored: &[Restored]) {
    for r in restored {
        let (outcome, error) = match &r.outcome {
            RestoreOutcome::Restored => ("restored", None),
            RestoreOutcome::Vanished => ("vanished", None),
            RestoreOutcome::Failed(e) => ("failed", Some(e.clone())),
        };
        match &error {
            Some(e) => {
                tracing::error!(target: "policy", "{}: original {:?} not restored: {e}", r.file.display(), r.value)
            }
            None => {
                tracing::info!(target: "policy", "{}: original {:?} {outcome}", r.file.display(), r.value)
            }
        }
        let body = EventBody::PolicyRestored(PolicyRestoredEvent {
            trigger,
            container: r.container.clone(),
            file: r.file.display().to_string(),
            value: r.value.clone(),
            outcome,
            error,
        });
        pipeline.ingest(Source::Policy, SystemTime::now(), monotonic_ns(), body);
    }
}
