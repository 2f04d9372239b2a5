//! Host-side library target: empty. The programs live in the `smoothtask` binary, which is only
//! built for `bpfel-unknown-none`; this target lets cargo track the crate as a build dependency.
#![no_std]
