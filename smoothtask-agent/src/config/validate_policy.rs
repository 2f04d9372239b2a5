//! Validation of `policy`: the global weight range, classes (names, bounds within the global
//! range, memory protection order) and their selectors (runtimes, globs, labels).

use std::collections::HashMap;

use super::{
    error::{Location, ProblemKind},
    glob::Glob,
    node::KeyPath,
    raw::{QosName, RawClass, RawConfig, RawSelector, RuntimeName},
    types::*,
    validate::{Checker, secs},
};
use crate::runtime::{ContainerRuntime, QosClass};

impl Checker<'_> {
    pub(super) fn policy(&mut self, raw: &RawConfig) -> PolicyConfig {
        let p = &raw.policy;
        let range_path = KeyPath::parse("policy.cpu_weight_range");
        let global = self.weights(&range_path, p.cpu_weight_range);
        let dwell_path = KeyPath::parse("policy.dwell_sec");
        self.range(&dwell_path, p.dwell_sec, 0, 3600, None);
        let rate_path = KeyPath::parse("policy.max_actions_per_min");
        self.range(&rate_path, p.max_actions_per_min, 1, 600, None);
        let journal_path = KeyPath::parse("policy.journal_path");
        self.not_empty(&journal_path, &p.journal_path.to_string_lossy());
        let classes_path = KeyPath::parse("policy.classes");
        let written = self.written(&classes_path).is_some();
        let mut first_names: HashMap<&str, Location> = HashMap::new();
        let mut classes = Vec::with_capacity(p.classes.len());
        for (i, class) in p.classes.iter().enumerate() {
            let path = classes_path.index(i);
            let name_path = path.key("name");
            self.not_empty(&name_path, &class.name);
            let here = self.root.locate(&name_path);
            if let Some(first) = first_names.get(class.name.as_str()) {
                let kind = ProblemKind::DuplicateName {
                    name: class.name.clone(),
                    first: first.clone(),
                };
                self.problem(&name_path, kind);
            } else if !class.name.is_empty() {
                first_names.insert(&class.name, here);
            }
            classes.push(self.class(&path, class, global, written));
        }
        PolicyConfig {
            mode: p.mode,
            cpu_weight_range: global.unwrap_or(WeightRange {
                min: 1,
                max: 10_000,
            }),
            memory_protection: p.memory_protection,
            dwell: secs(p.dwell_sec),
            max_actions_per_min: p.max_actions_per_min.clamp(0, u32::MAX as i64) as u32,
            journal_path: p.journal_path.clone(),
            classes,
        }
    }

    /// Built-in classes (`written` false) are narrowed to the global range; written ones must lie
    /// within it.
    fn class(
        &mut self,
        path: &KeyPath,
        class: &RawClass,
        global: Option<WeightRange>,
        written: bool,
    ) -> ClassConfig {
        let weight_path = path.key("cpu_weight");
        let own = match class.cpu_weight {
            Some(w) => self.weights(&weight_path, w),
            None => global,
        };
        let cpu_weight = match (own, global) {
            (Some(own), Some(g)) if !written => WeightRange {
                min: g.clamp(own.min),
                max: g.clamp(own.max),
            },
            (Some(own), Some(g)) => {
                if own.min < g.min || own.max > g.max {
                    let kind = ProblemKind::NotWithin {
                        value: own.to_string(),
                        outer_path: "policy.cpu_weight_range".into(),
                        outer: g.to_string(),
                    };
                    self.problem(&weight_path, kind);
                }
                own
            }
            (own, _) => own.unwrap_or(WeightRange {
                min: 1,
                max: 10_000,
            }),
        };
        let bytes = |me: &mut Self, key: &str, v: Option<i64>| -> Option<u64> {
            let v = v?;
            me.range(&path.key(key), v, 0, i64::MAX, None);
            Some(v.max(0) as u64)
        };
        let memory_min_bytes = bytes(self, "memory_min_bytes", class.memory_min_bytes);
        let memory_low_bytes = bytes(self, "memory_low_bytes", class.memory_low_bytes);
        let memory_high_bytes = bytes(self, "memory_high_bytes", class.memory_high_bytes);
        let order = [
            (
                "memory_min_bytes",
                memory_min_bytes,
                "memory_low_bytes",
                memory_low_bytes,
            ),
            (
                "memory_low_bytes",
                memory_low_bytes,
                "memory_high_bytes",
                memory_high_bytes,
            ),
            (
                "memory_min_bytes",
                memory_min_bytes,
                "memory_high_bytes",
                memory_high_bytes,
            ),
        ];
        for (key, value, other_key, other) in order {
            if let (Some(v), Some(o)) = (value, other)
                && v > o
            {
                let kind = ProblemKind::Order {
                    value: v.to_string(),
                    relation: "at most",
                    other_path: path.key(other_key).to_string(),
                    other: o.to_string(),
                };
                self.problem(&path.key(key), kind);
                break;
            }
        }
        let selectors = (class.selectors.iter().enumerate())
            .map(|(j, s)| self.selector(&path.key("match").index(j), s))
            .collect();
        ClassConfig {
            name: class.name.clone(),
            priority: class.priority,
            selectors,
            cpu_weight,
            memory_min_bytes,
            memory_low_bytes,
            memory_high_bytes,
        }
    }

    fn selector(&mut self, path: &KeyPath, s: &RawSelector) -> Selector {
        let glob = |me: &mut Self, key: &str, pattern: &Option<String>| -> Option<Glob> {
            let pattern = pattern.as_ref()?;
            match Glob::new(pattern) {
                Ok(g) => Some(g),
                Err(err) => {
                    let kind = ProblemKind::BadGlob {
                        pattern: pattern.clone(),
                        reason: err.to_string(),
                    };
                    me.problem(&path.key(key), kind);
                    None
                }
            }
        };
        let name = glob(self, "name", &s.name);
        let id = glob(self, "id", &s.id);
        let cgroup_path = glob(self, "cgroup_path", &s.cgroup_path);
        let pod_label = s.pod_label.as_ref().and_then(|text| {
            let (key, value) = match text.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().to_string())),
                None => (text.trim(), None),
            };
            if key.is_empty() || key.contains(char::is_whitespace) {
                let kind = ProblemKind::BadLabel {
                    value: text.clone(),
                };
                self.problem(&path.key("pod_label"), kind);
                return None;
            }
            Some(LabelSelector {
                key: key.to_string(),
                value,
            })
        });
        Selector {
            runtime: s.runtime.map(|r| match r {
                RuntimeName::Docker => ContainerRuntime::Docker,
                RuntimeName::Podman => ContainerRuntime::Podman,
                RuntimeName::Containerd => ContainerRuntime::Containerd,
                RuntimeName::CriO => ContainerRuntime::CriO,
                RuntimeName::Lxc => ContainerRuntime::Lxc,
                RuntimeName::SystemdNspawn => ContainerRuntime::SystemdNspawn,
            }),
            name,
            id,
            cgroup_path,
            qos: s.qos.map(|q| match q {
                QosName::Guaranteed => QosClass::Guaranteed,
                QosName::Burstable => QosClass::Burstable,
                QosName::Besteffort => QosClass::BestEffort,
            }),
            pod_label,
        }
    }
}
