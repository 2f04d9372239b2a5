//! Rebuild the eBPF object when the bpf-linker on PATH changes (it is an undeclared
//! dependency of the build: cargo cannot track binaries on PATH by itself).
fn main() {
    match which::which("bpf-linker") {
        Ok(path) => println!("cargo:rerun-if-changed={}", path.display()),
        Err(err) => {
            println!("cargo:warning=bpf-linker not found on PATH ({err}); run `cargo xtask setup`")
        }
    }
}
