//! [`RawConfig`] to [`Config`]: every range and relation checked once, every problem collected
//! with the location of the value it is about, legacy aliases merged.

use std::{net::SocketAddr, time::Duration};

use super::{
    error::{Problem, ProblemKind},
    node::{KeyPath, Node},
    raw::{CPU_WEIGHT_MAX, CPU_WEIGHT_MIN, MAX_INTERVAL_SEC, RawConfig},
    types::*,
};

/// Legacy flat keys and the nested keys they spell: `(current, legacy)`.
pub(crate) const ALIASES: [(&str, &str); 3] = [
    (
        "container.metrics.interval_sec",
        "container.metrics_interval_sec",
    ),
    ("metrics.system.interval_sec", "metrics.system_interval_sec"),
    (
        "metrics.process.interval_sec",
        "metrics.process_interval_sec",
    ),
];

/// Validates `raw`. `root` is the tree it came from (locations, and whether a key was written);
/// problems at or under a `removed` path are dropped (that value was already reported).
pub(crate) fn validate(
    raw: &RawConfig,
    root: &Node,
    removed: &[KeyPath],
) -> Result<Config, Vec<Problem>> {
    let mut v = Checker {
        root,
        removed,
        problems: Vec::new(),
    };
    let config = v.config(raw);
    if v.problems.is_empty() {
        Ok(config)
    } else {
        Err(v.problems)
    }
}

pub(super) struct Checker<'a> {
    pub(super) root: &'a Node,
    removed: &'a [KeyPath],
    problems: Vec<Problem>,
}

pub(super) fn secs(s: i64) -> Duration {
    Duration::from_secs(s.max(0) as u64)
}

impl Checker<'_> {
    pub(super) fn problem(&mut self, path: &KeyPath, kind: ProblemKind) {
        if self.removed.iter().any(|r| path.starts_with(r)) {
            return;
        }
        self.problems.push(Problem {
            location: self.root.locate(path),
            path: path.to_string(),
            kind,
        });
    }

    pub(super) fn written(&self, path: &KeyPath) -> Option<&Node> {
        self.root.get(path).filter(|n| !n.is_null())
    }

    pub(super) fn range(
        &mut self,
        path: &KeyPath,
        v: i64,
        lo: i64,
        hi: i64,
        hint: Option<&'static str>,
    ) -> bool {
        let ok = (lo..=hi).contains(&v);
        if !ok {
            let expected = if hi == i64::MAX {
                format!("at least {lo}")
            } else {
                format!("between {lo} and {hi}")
            };
            self.problem(
                path,
                ProblemKind::OutOfRange {
                    value: v.to_string(),
                    expected,
                    hint,
                },
            );
        }
        ok
    }

    fn interval(&mut self, path: &str, v: i64, max: i64) -> Duration {
        self.range(&KeyPath::parse(path), v, 1, max, None);
        secs(v)
    }

    fn ratio(&mut self, path: &str, v: f64) -> f64 {
        if !(v > 0.0 && v <= 1.0) {
            self.problem(
                &KeyPath::parse(path),
                ProblemKind::OutOfRange {
                    value: v.to_string(),
                    expected: "above 0 and at most 1".into(),
                    hint: Some("a fraction"),
                },
            );
        }
        v
    }

    pub(super) fn not_empty(&mut self, path: &KeyPath, s: &str) {
        if s.trim().is_empty() {
            let kind = if self.written(path).is_some() {
                ProblemKind::Empty
            } else {
                ProblemKind::Missing
            };
            self.problem(path, kind);
        }
    }

    /// The value of a setting that has a current and a legacy key; reports the pair disagreeing.
    fn alias(
        &mut self,
        current: &str,
        legacy: &str,
        value: i64,
        legacy_value: Option<i64>,
    ) -> (i64, String) {
        let Some(old) = legacy_value else {
            return (value, current.to_string());
        };
        let (cur_path, old_path) = (KeyPath::parse(current), KeyPath::parse(legacy));
        let Some(cur_node) = self.written(&cur_path) else {
            return (old, legacy.to_string());
        };
        if old != value {
            let kind = ProblemKind::AliasConflict {
                value: old.to_string(),
                other_path: current.to_string(),
                other_value: value.to_string(),
                other_location: cur_node.loc.clone(),
                canonical: current.to_string(),
            };
            self.problem(&old_path, kind);
        }
        (value, current.to_string())
    }

    fn aliased_interval(
        &mut self,
        which: usize,
        value: i64,
        legacy_value: Option<i64>,
    ) -> Duration {
        let (current, legacy) = ALIASES[which];
        let (v, path) = self.alias(current, legacy, value, legacy_value);
        self.interval(&path, v, MAX_INTERVAL_SEC)
    }

    pub(super) fn weights(&mut self, path: &KeyPath, w: [i64; 2]) -> Option<WeightRange> {
        let mut ok = true;
        for (i, x) in w.iter().enumerate() {
            let hint = Some("cgroup v2 cpu.weight");
            ok &= self.range(&path.index(i), *x, CPU_WEIGHT_MIN, CPU_WEIGHT_MAX, hint);
        }
        if ok && w[0] > w[1] {
            self.problem(
                path,
                ProblemKind::MinAboveMax {
                    min: w[0].to_string(),
                    max: w[1].to_string(),
                },
            );
            ok = false;
        }
        ok.then(|| WeightRange {
            min: w[0] as u32,
            max: w[1] as u32,
        })
    }

    fn config(&mut self, raw: &RawConfig) -> Config {
        let c = &raw.container;
        let container = ContainerConfig {
            enabled: c.enabled,
            metrics_enabled: c.metrics.enabled,
            metrics_interval: self.aliased_interval(
                0,
                c.metrics.interval_sec,
                c.metrics_interval_sec,
            ),
            adaptation_interval: self.interval(
                "container.adaptation_interval_sec",
                c.adaptation_interval_sec,
                MAX_INTERVAL_SEC,
            ),
        };
        let m = &raw.metrics;
        let metrics = MetricsConfig {
            system_interval: self.aliased_interval(1, m.system.interval_sec, m.system_interval_sec),
            process_interval: self.aliased_interval(
                2,
                m.process.interval_sec,
                m.process_interval_sec,
            ),
        };
        let policy = self.policy(raw);
        let inventory = InventoryConfig {
            rescan_interval: self.interval(
                "inventory.rescan_interval_sec",
                raw.inventory.rescan_interval_sec,
                MAX_INTERVAL_SEC,
            ),
        };
        let ebpf = EbpfConfig {
            enabled: raw.ebpf.enabled,
            counter_interval: self.interval(
                "ebpf.counter_interval_sec",
                raw.ebpf.counter_interval_sec,
                3600,
            ),
        };
        let pressure = self.pressure(raw);
        let api = self.api(raw);
        let events = self.events(raw);
        let log = self.log(raw);
        Config {
            container,
            metrics,
            policy,
            inventory,
            ebpf,
            pressure,
            api,
            events,
            log,
        }
    }

    fn pressure(&mut self, raw: &RawConfig) -> PressureConfig {
        let p = &raw.pressure;
        let window_ok = self.range(
            &KeyPath::parse("pressure.psi.window_sec"),
            p.psi.window_sec,
            1,
            10,
            None,
        );
        let max_stall = if window_ok {
            p.psi.window_sec * 1_000_000
        } else {
            10_000_000
        };
        let stall_path = KeyPath::parse("pressure.psi.stall_us");
        self.range(
            &stall_path,
            p.psi.stall_us,
            1,
            max_stall,
            Some("within pressure.psi.window_sec"),
        );
        let reclaim_path = KeyPath::parse("pressure.reclaim_stall_threshold_us");
        self.range(
            &reclaim_path,
            p.reclaim_stall_threshold_us,
            1,
            10_000_000,
            None,
        );
        let near = self.ratio(
            "pressure.memory_limit_near_ratio",
            p.memory_limit_near_ratio,
        );
        let exit = self.ratio(
            "pressure.memory_limit_exit_ratio",
            p.memory_limit_exit_ratio,
        );
        if exit >= near {
            let kind = ProblemKind::Order {
                value: exit.to_string(),
                relation: "below",
                other_path: "pressure.memory_limit_near_ratio".into(),
                other: near.to_string(),
            };
            self.problem(&KeyPath::parse("pressure.memory_limit_exit_ratio"), kind);
        }
        PressureConfig {
            psi_enabled: p.psi.enabled,
            psi_stall: Duration::from_micros(p.psi.stall_us.max(0) as u64),
            psi_window: secs(p.psi.window_sec),
            reclaim_stall_threshold: Duration::from_micros(
                p.reclaim_stall_threshold_us.max(0) as u64
            ),
            memory_limit_near_ratio: near,
            memory_limit_exit_ratio: exit,
            cpu_throttled_ratio: self.ratio("pressure.cpu_throttled_ratio", p.cpu_throttled_ratio),
            poll_interval: self.interval("pressure.poll_interval_sec", p.poll_interval_sec, 3600),
        }
    }

    fn api(&mut self, raw: &RawConfig) -> ApiConfig {
        let a = &raw.api;
        let listen_path = KeyPath::parse("api.listen");
        let listen = match a.listen.trim().parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(err) => {
                let host = a.listen.rsplit_once(':').map(|(h, _)| h).unwrap_or("");
                let reason = if host.chars().any(|c| c.is_ascii_alphabetic()) && !host.contains('[')
                {
                    "a host name is not accepted".to_string()
                } else {
                    err.to_string()
                };
                let kind = ProblemKind::BadAddress {
                    value: a.listen.clone(),
                    reason,
                };
                self.problem(&listen_path, kind);
                None
            }
        };
        let token_path = KeyPath::parse("api.token");
        let file_path = KeyPath::parse("api.token_file");
        if let Some(t) = &a.token {
            self.not_empty(&token_path, t);
        }
        if let Some(f) = &a.token_file {
            self.not_empty(&file_path, &f.to_string_lossy());
        }
        let auth = match (&a.token, &a.token_file) {
            (Some(_), Some(_)) => {
                let kind = ProblemKind::Exclusive {
                    other_path: "api.token".into(),
                };
                self.problem(&file_path, kind);
                ApiAuth::None
            }
            (Some(t), None) => ApiAuth::Token(Secret::new(t.trim())),
            (None, Some(f)) => ApiAuth::TokenFile(f.clone()),
            (None, None) => ApiAuth::None,
        };
        if let Some(addr) = listen
            && a.enabled
            && !addr.ip().is_loopback()
            && a.token.is_none()
            && a.token_file.is_none()
        {
            let kind = ProblemKind::TokenRequired {
                listen: addr.to_string(),
            };
            self.problem(&listen_path, kind);
        }
        ApiConfig {
            enabled: a.enabled,
            listen: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            auth,
        }
    }

    fn events(&mut self, raw: &RawConfig) -> EventsConfig {
        let e = &raw.events;
        self.not_empty(
            &KeyPath::parse("events.file.path"),
            &e.file.path.to_string_lossy(),
        );
        self.range(
            &KeyPath::parse("events.file.max_bytes"),
            e.file.max_bytes,
            4096,
            i64::MAX,
            None,
        );
        self.range(
            &KeyPath::parse("events.file.keep"),
            e.file.keep,
            0,
            1000,
            None,
        );
        self.range(
            &KeyPath::parse("events.history"),
            e.history,
            0,
            1_000_000,
            None,
        );
        self.range(
            &KeyPath::parse("events.subscriber_queue"),
            e.subscriber_queue,
            1,
            1_000_000,
            None,
        );
        EventsConfig {
            output: e.output,
            file: EventsFileConfig {
                path: e.file.path.clone(),
                max_bytes: e.file.max_bytes.max(0) as u64,
                keep: e.file.keep.clamp(0, 1000) as u32,
            },
            history: e.history.clamp(0, 1_000_000) as usize,
            subscriber_queue: e.subscriber_queue.clamp(0, 1_000_000) as usize,
        }
    }

    fn log(&mut self, raw: &RawConfig) -> LogConfig {
        let path = KeyPath::parse("log.level");
        let level = raw.log.level.trim();
        const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];
        let single_word = !level.contains([',', '=', '[', ':']);
        if level.is_empty() {
            self.not_empty(&path, level);
        } else if single_word && !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            // A bare word would be taken as a target name: `verbose` would silently log nothing.
            let kind = ProblemKind::UnknownVariant {
                value: level.to_string(),
                expected: LEVELS.iter().map(|l| l.to_string()).collect(),
                suggestion: super::suggest::nearest(level, LEVELS).map(str::to_string),
            };
            self.problem(&path, kind);
        } else if let Err(err) = tracing_subscriber::EnvFilter::builder().parse(level) {
            let kind = ProblemKind::BadLogFilter {
                value: level.to_string(),
                reason: err.to_string(),
            };
            self.problem(&path, kind);
        }
        LogConfig {
            level: level.to_string(),
        }
    }
}
