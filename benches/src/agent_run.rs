//! What the in-process benchmarks start with: a two-worker runtime, and the agent on it with its
//! eBPF programs attached (a benchmark without them would measure the fallback).

use smoothtask_agent::{
    agent::{Agent, AgentOptions},
    bus::Bus,
    event::KernelMode,
};
use tokio::runtime::Runtime;

/// A multi-thread runtime with two workers (the machine's cores).
pub fn runtime() -> anyhow::Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Starts the agent with `options` (events not printed) on a bus of `capacity`; an error when
/// its kernel programs did not attach.
pub fn start(rt: &Runtime, options: AgentOptions, capacity: usize) -> anyhow::Result<Agent> {
    let options = AgentOptions {
        stdout_events: false,
        ..options
    };
    let agent = rt.block_on(Agent::start(&options, Bus::new(capacity)));
    anyhow::ensure!(
        matches!(agent.kernel_mode(), KernelMode::Ebpf { .. }),
        "the agent did not attach its programs: {:?}",
        agent.kernel_mode()
    );
    Ok(agent)
}
