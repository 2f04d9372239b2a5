//! SmoothTask's kernel programs: one module per hook family, each entry point a thin wrapper
//! around a fallible function. Nothing here panics; failures are counted in per-CPU maps.
#![no_std]
#![no_main]

mod cgroup;
mod maps;
mod memory;
mod tp;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
