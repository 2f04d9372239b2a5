//! cgroup hierarchies from mountinfo (v1, v2, hybrid), `/proc/<pid>/cgroup`, and typed reads of
//! control files (`max`, v1's "unlimited" sentinel, weight vs shares, flat-keyed, PSI).
//!
//! Pure parsers work on `&str`; readers take paths under a [`HostRoot`](crate::host::HostRoot)
//! so they run against fixture trees. This module only reads: it never writes a cgroup file.

mod control_file;
mod discover;
mod error;
mod file;
mod flat;
mod hierarchies;
mod limits;
mod mountinfo;
mod paths;
mod proc_cgroup;
mod psi;
mod render;
mod subsystems;
mod weight;

pub use control_file::{ControlFile, FdBudget, FdToken, PROCESS_RESERVE};
pub use error::{CgroupError, ParseError};
pub use file::{
    read_cpu_max_v1, read_cpu_max_v2, read_flat_keyed, read_limit, read_max_value, read_optional,
    read_parsed, read_psi, read_text, read_u64,
};
pub use flat::{FlatKeyed, flat_value};
pub use hierarchies::{Hierarchies, HierarchyRef, Layout, Mount, V1Hierarchy, V2Hierarchy};
pub use limits::{
    CpuMax, Limit, MaxValue, V1_UNLIMITED_4K, V1_UNLIMITED_THRESHOLD, parse_cfs_quota, parse_u64,
    v1_unlimited_for_page_size,
};
pub use mountinfo::{MountInfoEntry, parse_mountinfo, parse_mountinfo_line, unescape_octal};
pub use paths::{CgroupPaths, host_path};
pub use proc_cgroup::{ProcCgroupEntry, parse_proc_cgroup, parse_proc_cgroup_line};
pub use psi::{Psi, PsiLine, parse_psi};
pub use subsystems::{Subsystem, parse_proc_cgroups};
pub use weight::{
    CPU_SHARES_DEFAULT, CPU_SHARES_MAX, CPU_SHARES_MIN, CPU_WEIGHT_DEFAULT, CPU_WEIGHT_MAX,
    CPU_WEIGHT_MIN, kernel_shares_to_weight, kernel_weight_to_shares, runc_shares_to_weight,
    runc_shares_to_weight_linear, systemd_shares_to_weight, systemd_weight_to_shares,
};
