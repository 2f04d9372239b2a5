//! The kernel/user-space wire format: record structs, event kind ids, map and program names.
//!
//! Everything here is `no_std` and `#[repr(C)]` so the eBPF programs and the agent agree on
//! every byte. The `user` feature adds `aya::Pod` impls and serde support for user space.
#![no_std]

pub mod cgroup;
pub mod header;
pub mod kind;
pub mod maps;
pub mod memory;

pub use cgroup::CgroupRecord;
pub use header::{DecodeError, RecordHeader};
pub use kind::EventKind;
pub use memory::MemoryRecord;
