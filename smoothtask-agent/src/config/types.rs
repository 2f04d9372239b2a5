//! The validated configuration every other module reads: ranges checked, relations resolved,
//! legacy aliases merged, intervals as `Duration`s.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::glob::Glob;
use crate::runtime::{ContainerRuntime, QosClass};

/// The agent's configuration, validated. `Config::default()` is the built-in defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub container: ContainerConfig,
    pub metrics: MetricsConfig,
    pub policy: PolicyConfig,
    pub inventory: InventoryConfig,
    pub ebpf: EbpfConfig,
    pub pressure: PressureConfig,
    pub api: ApiConfig,
    pub events: EventsConfig,
    pub log: LogConfig,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ContainerConfig {
    pub enabled: bool,
    pub metrics_enabled: bool,
    /// `container.metrics.interval_sec` (or its legacy spelling `container.metrics_interval_sec`).
    pub metrics_interval: Duration,
    pub adaptation_interval: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MetricsConfig {
    /// `metrics.system.interval_sec` (or `metrics.system_interval_sec`).
    pub system_interval: Duration,
    /// `metrics.process.interval_sec` (or `metrics.process_interval_sec`).
    pub process_interval: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PolicyConfig {
    pub mode: PolicyMode,
    pub cpu_weight_range: WeightRange,
    pub memory_protection: bool,
    /// Minimum time in a state before a container may change state again.
    pub dwell: Duration,
    /// Rate limit per container.
    pub max_actions_per_min: u32,
    pub journal_path: PathBuf,
    /// In order: the first class that matches a container is its class.
    pub classes: Vec<ClassConfig>,
}

/// Observe (dry-run, the default) or enforce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    /// Compute, log and publish actions; write nothing.
    #[default]
    Observe,
    /// Write cgroup files (journalled, restored on stop).
    Enforce,
}

impl PolicyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Observe => "observe",
            Self::Enforce => "enforce",
        }
    }
}

impl fmt::Display for PolicyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Inclusive cgroup v2 `cpu.weight` bounds, `1 <= min <= max <= 10000`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct WeightRange {
    pub min: u32,
    pub max: u32,
}

impl WeightRange {
    pub fn clamp(self, weight: u32) -> u32 {
        weight.clamp(self.min, self.max)
    }

    pub fn contains(self, weight: u32) -> bool {
        (self.min..=self.max).contains(&weight)
    }
}

impl fmt::Display for WeightRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.min, self.max)
    }
}

/// How the policy treats a class under pressure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Priority {
    /// Protected: weight and memory protection raised under pressure.
    LatencyCritical,
    /// Bounded, neither protected nor squeezed.
    #[default]
    Normal,
    /// Gives way: weight lowered, memory.high set on offenders.
    Batch,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LatencyCritical => "latency-critical",
            Self::Normal => "normal",
            Self::Batch => "batch",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClassConfig {
    pub name: String,
    pub priority: Priority,
    /// Any of these; empty matches every container.
    pub selectors: Vec<Selector>,
    /// Within [`PolicyConfig::cpu_weight_range`].
    pub cpu_weight: WeightRange,
    pub memory_min_bytes: Option<u64>,
    pub memory_low_bytes: Option<u64>,
    pub memory_high_bytes: Option<u64>,
}

/// Every field given must match; an empty selector matches every container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selector {
    pub runtime: Option<ContainerRuntime>,
    pub name: Option<Glob>,
    pub id: Option<Glob>,
    pub cgroup_path: Option<Glob>,
    pub qos: Option<QosClass>,
    pub pod_label: Option<LabelSelector>,
}

/// `key=value`, or `key` alone for "has the label".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelSelector {
    pub key: String,
    pub value: Option<String>,
}

impl LabelSelector {
    pub fn matches(&self, key: &str, value: &str) -> bool {
        key == self.key && self.value.as_deref().is_none_or(|v| v == value)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct InventoryConfig {
    pub rescan_interval: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EbpfConfig {
    pub enabled: bool,
    pub counter_interval: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PressureConfig {
    pub psi_enabled: bool,
    /// PSI trigger: this much stall within `psi_window` (`some <stall_us> <window_us>`).
    pub psi_stall: Duration,
    pub psi_window: Duration,
    pub reclaim_stall_threshold: Duration,
    /// Enter threshold, `0 < exit < near <= 1`.
    pub memory_limit_near_ratio: f64,
    /// Exit threshold.
    pub memory_limit_exit_ratio: f64,
    pub cpu_throttled_ratio: f64,
    /// Polling interval without PSI.
    pub poll_interval: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ApiConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
    /// Required (validated) when `listen` is not a loopback address.
    pub auth: ApiAuth,
}

/// Where the API's bearer token comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiAuth {
    /// No token: only allowed on loopback; the write endpoint is then refused.
    None,
    Token(Secret),
    /// Read with [`ApiAuth::resolve`] at startup and on reload.
    TokenFile(PathBuf),
}

impl ApiAuth {
    /// The token, reading the token file if that is where it is. A file's surrounding
    /// whitespace is trimmed; an empty file is an error.
    pub fn resolve(&self) -> Result<Option<Secret>, super::ConfigError> {
        match self {
            Self::None => Ok(None),
            Self::Token(t) => Ok(Some(t.clone())),
            Self::TokenFile(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| {
                    super::ConfigError::TokenFile {
                        path: path.clone(),
                        source,
                    }
                })?;
                let token = text.trim();
                if token.is_empty() {
                    return Err(super::ConfigError::TokenFile {
                        path: path.clone(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "the token file is empty",
                        ),
                    });
                }
                Ok(Some(Secret::new(token)))
            }
        }
    }
}

/// A secret string: `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventsConfig {
    pub output: EventsOutput,
    pub file: EventsFileConfig,
    /// Events kept for replay (`?since=`); 0 keeps none.
    pub history: usize,
    pub subscriber_queue: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventsOutput {
    /// NDJSON on standard output.
    #[default]
    Stdout,
    /// NDJSON to `events.file.path`, rotated by size.
    File,
    /// No event log (the API streams still work).
    None,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventsFileConfig {
    pub path: PathBuf,
    pub max_bytes: u64,
    pub keep: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogConfig {
    /// A tracing `EnvFilter` directive string (checked).
    pub level: String,
}

impl LogConfig {
    /// The filter to use: `RUST_LOG` when set and not empty, else `log.level`.
    pub fn filter<'a>(&'a self, rust_log: Option<&'a str>) -> &'a str {
        rust_log
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&self.level)
    }
}
