//! The policy as the API shows and switches it: the mode (`observe` by default, `enforce` on
//! request) and the classes, in a [`PolicyHandle`] the policy engine watches. The API stores a
//! mode change here and publishes nothing else.

use std::{str::FromStr, sync::Arc};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// One definition of the mode, shared with the configuration (`policy.mode`).
pub use crate::config::PolicyMode;

/// A mode name that is neither `observe` nor `enforce`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy mode {0:?} (expected observe or enforce)")]
pub struct ParseModeError(pub String);

impl FromStr for PolicyMode {
    type Err = ParseModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "observe" => Ok(Self::Observe),
            "enforce" => Ok(Self::Enforce),
            other => Err(ParseModeError(other.to_string())),
        }
    }
}

/// What `GET /api/policy` shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicySnapshot {
    pub mode: PolicyMode,
    /// The policy's classes as the policy engine describes them (`[]` until it does).
    pub classes: serde_json::Value,
}

impl Default for PolicySnapshot {
    fn default() -> Self {
        Self {
            mode: PolicyMode::Observe,
            classes: serde_json::Value::Array(Vec::new()),
        }
    }
}

/// The shared policy snapshot. Clones share one; [`PolicyHandle::subscribe`] tells the policy
/// engine about every change.
#[derive(Clone, Debug)]
pub struct PolicyHandle(Arc<watch::Sender<PolicySnapshot>>);

impl PolicyHandle {
    pub fn new(snapshot: PolicySnapshot) -> Self {
        Self(Arc::new(watch::Sender::new(snapshot)))
    }

    pub fn snapshot(&self) -> PolicySnapshot {
        self.0.borrow().clone()
    }

    pub fn mode(&self) -> PolicyMode {
        self.0.borrow().mode
    }

    /// Sets the mode; returns the previous one.
    pub fn set_mode(&self, mode: PolicyMode) -> PolicyMode {
        let mut previous = mode;
        self.0.send_modify(|s| {
            previous = s.mode;
            s.mode = mode;
        });
        previous
    }

    /// Replaces the classes shown by `GET /api/policy`.
    pub fn set_classes(&self, classes: serde_json::Value) {
        self.0.send_modify(|s| s.classes = classes);
    }

    /// Receives every change of mode or classes.
    pub fn subscribe(&self) -> watch::Receiver<PolicySnapshot> {
        self.0.subscribe()
    }
}

impl Default for PolicyHandle {
    fn default() -> Self {
        Self::new(PolicySnapshot::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_changes_reach_watchers() {
        let policy = PolicyHandle::default();
        let mut rx = policy.subscribe();
        assert_eq!(policy.set_mode(PolicyMode::Enforce), PolicyMode::Observe);
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update().mode, PolicyMode::Enforce);
        assert_eq!("observe".parse::<PolicyMode>(), Ok(PolicyMode::Observe));
        assert!("Enforce!".parse::<PolicyMode>().is_err());
        assert_eq!(
            serde_json::to_string(&policy.snapshot()).unwrap(),
            r#"{"mode":"enforce","classes":[]}"#
        );
    }
}
