//! Loading and attaching the eBPF programs, reading their ring buffer and counters.
//!
//! `KernelSource::start` mounts tracefs when needed, checks the tracepoint formats against the
//! wire layout, loads the embedded object, attaches every program and spawns the ring buffer
//! reader. When any step cannot work it returns why; the agent then runs without kernel events
//! and says so (never exits).

mod counters;
mod decode;
mod error;
mod format;
mod loader;
mod object;
mod reader;
mod tracefs;

pub use counters::KernelCounters;
pub use decode::decode_record;
pub use error::KernelError;
pub use format::{TracepointFormat, check_layout};
pub use loader::{KernelOptions, KernelSource};
pub use object::{embedded_object, is_stub_build};
pub use tracefs::{TracefsStatus, ensure_tracefs};
