//! The agent in the test's own process, with a subscriber that sees every event it publishes.

use std::sync::Arc;

use smoothtask_agent::{
    agent::{Agent, AgentOptions},
    bus::Bus,
    event::{Event, KernelMode},
};
use tokio::sync::broadcast::Receiver;

/// Starts the agent with `options` (events not printed) on a bus subscribed before it starts;
/// panics unless its eBPF programs attached (the callers require them).
pub async fn start_traced(options: AgentOptions) -> (Agent, Receiver<Arc<Event>>) {
    let bus = Bus::new(1 << 16);
    let rx = bus.subscribe();
    let options = AgentOptions {
        stdout_events: false,
        ..options
    };
    let agent = Agent::start(&options, bus).await;
    assert!(
        matches!(agent.kernel_mode(), KernelMode::Ebpf { .. }),
        "kernel tracing must be attached: {:?}",
        agent.kernel_mode()
    );
    (agent, rx)
}
