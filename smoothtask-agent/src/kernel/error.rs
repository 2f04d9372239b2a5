//! Why kernel tracing is not available.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error(
        "this agent was built with SMOOTHTASK_EBPF_STUB=1 and embeds no eBPF programs; rebuild without it to trace the kernel"
    )]
    StubBuild,
    #[error("tracefs is not mounted and mounting it at {path} failed: {reason}")]
    Tracefs { path: PathBuf, reason: String },
    #[error("tracepoint {category}:{name} format at {path} could not be read: {source}")]
    FormatUnreadable {
        category: &'static str,
        name: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tracepoint {category}:{name} has an unexpected layout: {detail}")]
    FormatMismatch {
        category: &'static str,
        name: &'static str,
        detail: String,
    },
    #[error("loading the eBPF object failed: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("eBPF program {0} is missing from the object")]
    MissingProgram(&'static str),
    #[error("eBPF map {0} is missing from the object")]
    MissingMap(&'static str),
    #[error("eBPF program {program}: {source}")]
    Program {
        program: &'static str,
        source: aya::programs::ProgramError,
    },
    #[error("eBPF map {map}: {source}")]
    Map {
        map: &'static str,
        source: aya::maps::MapError,
    },
    #[error("registering the ring buffer with the runtime failed: {0}")]
    AsyncFd(std::io::Error),
}
