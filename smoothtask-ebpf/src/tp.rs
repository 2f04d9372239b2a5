//! Reading classic tracepoint records: `__data_loc` strings.

use aya_ebpf::{
    EbpfContext as _, helpers::bpf_probe_read_kernel_str_bytes, programs::TracePointContext,
};

/// Copies a `__data_loc char[]` field into `dst` (NUL-terminated, cut to fit). Returns the
/// string's full length in the kernel without its terminator.
#[inline(always)]
pub fn read_data_loc(ctx: &TracePointContext, field: usize, dst: &mut [u8]) -> Option<u32> {
    // SAFETY: `field` is a data_loc slot of this tracepoint; the helper bounds every read.
    let loc = unsafe { ctx.read_at::<u32>(field) }.ok()?;
    let offset = (loc & 0xffff) as usize;
    let full_len = loc >> 16;
    let src = unsafe { (ctx.as_ptr() as *const u8).add(offset) };
    unsafe { bpf_probe_read_kernel_str_bytes(src, dst) }.ok()?;
    Some(full_len.saturating_sub(1))
}
