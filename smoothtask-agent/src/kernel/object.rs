//! The eBPF object embedded at build time (see build.rs): real, or empty under
//! `SMOOTHTASK_EBPF_STUB=1`.

static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/smoothtask"));

/// The embedded ELF object (empty in a stub build).
pub fn embedded_object() -> &'static [u8] {
    OBJECT
}

/// True when this binary was built with `SMOOTHTASK_EBPF_STUB=1` and carries no programs.
pub fn is_stub_build() -> bool {
    OBJECT.is_empty()
}
