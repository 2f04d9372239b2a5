//! Classification: which configured class a container belongs to (first match wins).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    config::{ClassConfig, Glob, Selector},
    event::ContainerRef,
    inventory::ContainerRecord,
    runtime::QosClass,
};

/// Which cgroup version holds a container's memory controller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryVersion {
    V1,
    #[default]
    V2,
}

/// Original values of a container's knobs, where the caller read them (v2 units; `None`:
/// unknown, the kernel default is assumed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Baseline {
    pub cpu_weight: Option<u64>,
    pub memory_min: Option<u64>,
    pub memory_low: Option<u64>,
    pub memory_soft_limit: Option<u64>,
    pub memory_high: Option<u64>,
}

/// What the policy knows of a container when it is added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContainerFacts {
    /// Runtime, id, name and pod (its QoS class) where known.
    pub container: ContainerRef,
    pub cgroup_path: Option<String>,
    /// Pod labels where known (empty otherwise).
    pub labels: BTreeMap<String, String>,
    pub memory: MemoryVersion,
    pub baseline: Baseline,
    /// Memory usage, where known (memory.low defaults to it when protecting).
    pub memory_usage_bytes: Option<u64>,
}

impl ContainerFacts {
    /// A container with nothing else known (v2 memory, kernel defaults as originals).
    pub fn new(container: ContainerRef) -> Self {
        Self {
            container,
            cgroup_path: None,
            labels: BTreeMap::new(),
            memory: MemoryVersion::V2,
            baseline: Baseline::default(),
            memory_usage_bytes: None,
        }
    }

    /// The facts an inventory record carries (no labels, no originals).
    pub fn from_record(record: &ContainerRecord, memory: MemoryVersion) -> Self {
        Self {
            cgroup_path: record.cgroup_path().map(str::to_string),
            memory,
            ..Self::new(record.to_ref())
        }
    }

    pub fn key(&self) -> String {
        container_key(&self.container)
    }

    /// The pod's QoS class, for containers of a Kubernetes pod.
    pub fn qos(&self) -> Option<QosClass> {
        self.container.pod.as_ref().map(|p| p.qos)
    }
}

/// `<runtime>/<id>`, the key the inventory uses.
pub fn container_key(container: &ContainerRef) -> String {
    format!("{}/{}", container.runtime.as_str(), container.id)
}

fn glob_matches(glob: &Option<Glob>, text: Option<&str>) -> bool {
    match glob {
        None => true,
        Some(g) => text.is_some_and(|t| g.matches(t)),
    }
}

/// Every key the selector gives must match; a key about something unknown (no name, no pod)
/// does not match.
pub fn selector_matches(selector: &Selector, facts: &ContainerFacts) -> bool {
    let c = &facts.container;
    selector.runtime.as_ref().is_none_or(|r| *r == c.runtime)
        && glob_matches(&selector.name, c.name.as_deref())
        && glob_matches(&selector.id, Some(&c.id))
        && glob_matches(&selector.cgroup_path, facts.cgroup_path.as_deref())
        && selector.qos.is_none_or(|q| facts.qos() == Some(q))
        && selector
            .pod_label
            .as_ref()
            .is_none_or(|l| facts.labels.iter().any(|(k, v)| l.matches(k, v)))
}

/// The index of the first class matching the container: a class without selectors matches
/// every container, else any of its selectors must match. `None`: the policy leaves it alone.
pub fn classify(classes: &[ClassConfig], facts: &ContainerFacts) -> Option<usize> {
    classes.iter().position(|class| {
        class.selectors.is_empty() || class.selectors.iter().any(|s| selector_matches(s, facts))
    })
}
