//! SmoothTask: a container-aware resource agent for Linux.
//!
//! Kernel programs (crate `smoothtask-ebpf`) trace cgroup lifecycle into a ring buffer; this
//! library loads them, turns their records into [`event::Event`]s, publishes them on one
//! [`bus::Bus`] and feeds the consumers (the NDJSON log sink first). See ARCHITECTURE.md.

pub mod agent;
pub mod api;
pub mod attribution;
pub mod bus;
pub mod cgroup;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod detect;
pub mod event;
pub mod events_client;
pub mod fallback;
pub mod host;
pub mod inventory;
pub mod kernel;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod pressure;
pub mod runtime;
pub mod sampler;
pub mod sink;

// The names users of the seed library know, at the crate root.
pub use detect::{
    Adaptation, ContainerInfo, adapt_for_container, detect_container_runtime, get_container_info,
    is_containerized,
};
pub use metrics::{ContainerMetrics, collect_container_metrics};
pub use runtime::ContainerRuntime;
