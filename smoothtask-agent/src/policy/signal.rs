//! The engine's inputs: signals derived from bus events, and the tick that lets pressure end.

use crate::{
    event::{ContainerRef, Event, EventBody},
    policy::ContainerFacts,
};

/// A PSI resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    Cpu,
    Memory,
    Io,
}

impl Resource {
    pub fn parse(name: &str) -> Option<Resource> {
        match name {
            "cpu" => Some(Resource::Cpu),
            "memory" => Some(Resource::Memory),
            "io" => Some(Resource::Io),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
            Resource::Io => "io",
        }
    }
}

/// Something the policy reacts to.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    /// A container appeared: classify it (no action unless an episode runs). For a container
    /// already known, only its facts (originals, usage) are updated; its class stays.
    ContainerAdded(Box<ContainerFacts>),
    /// A container went: forget it (no action).
    ContainerRemoved { key: String },
    /// Tasks stalled in memory reclaim (memcg or direct), attributed where known.
    ReclaimStall {
        container: Option<ContainerRef>,
        duration_ns: u64,
    },
    /// A PSI trigger fired, system-wide (`container: None`) or in a container's cgroup.
    Psi {
        container: Option<ContainerRef>,
        resource: Resource,
    },
    /// A container's memory usage relative to its limit (a `memory.limit_near` event or a sample).
    MemoryLimit {
        container: ContainerRef,
        ratio: f64,
        usage_bytes: u64,
    },
    /// A container's throttled periods since the previous sample.
    CpuThrottled {
        container: ContainerRef,
        throttled_periods: u64,
        periods: u64,
    },
    /// Time passed with nothing else to say: pressure may end (relief) and deferred changes may
    /// now be allowed.
    Tick,
}

/// A signal and the id of the event it came from (none for ticks).
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub event_id: Option<u64>,
    pub signal: Signal,
}

impl Input {
    pub fn tick() -> Input {
        Input {
            event_id: None,
            signal: Signal::Tick,
        }
    }

    /// The signal a bus event carries, if the policy cares. `container.added` gives facts
    /// without labels or originals; `memory` says where the host keeps its memory controller.
    pub fn from_event(event: &Event, memory: crate::policy::MemoryVersion) -> Option<Input> {
        let signal = match &event.body {
            EventBody::ContainerAdded { container, .. } => {
                let mut facts = ContainerFacts::new(container.container.clone());
                facts.cgroup_path = container.cgroup_path.clone();
                facts.memory = memory;
                Signal::ContainerAdded(Box::new(facts))
            }
            EventBody::ContainerRemoved { container, .. } => Signal::ContainerRemoved {
                key: crate::policy::container_key(&container.container),
            },
            EventBody::MemoryReclaimStall(s) | EventBody::MemoryDirectReclaim(s) => {
                Signal::ReclaimStall {
                    container: s.target.container.clone(),
                    duration_ns: s.duration_ns,
                }
            }
            EventBody::PressureThreshold(p) => Signal::Psi {
                container: p.container.clone(),
                resource: Resource::parse(p.resource)?,
            },
            EventBody::MemoryLimitNear(n) => Signal::MemoryLimit {
                container: n.container.clone(),
                ratio: n.ratio,
                usage_bytes: n.usage_bytes,
            },
            EventBody::CpuThrottled(c) => Signal::CpuThrottled {
                container: c.container.clone(),
                throttled_periods: c.throttled_periods,
                periods: c.periods,
            },
            _ => return None,
        };
        Some(Input {
            event_id: Some(event.id),
            signal,
        })
    }
}
