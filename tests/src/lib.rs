//! Shared pieces of the privileged integration tests: the privilege gate, cgroups owned by a
//! test (removed even when it fails), and child processes it started.
//!
//! Rule: a test writes only to cgroups it created under its own unique prefix.

pub mod agent;
pub mod cgroups;
pub mod daemon;
pub mod deploy;
pub mod http;
pub mod policy;
pub mod privilege;
pub mod runtimes;

pub use cgroups::{TestCgroup, TestChild, unique_prefix};
pub use privilege::{Requirement, require};
