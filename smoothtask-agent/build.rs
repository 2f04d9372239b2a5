//! Builds the eBPF object (`smoothtask-ebpf`, target bpfel-unknown-none, nightly with
//! `-Z build-std=core`) into OUT_DIR so the agent can embed it.
//!
//! `SMOOTHTASK_EBPF_STUB=1` embeds an empty object instead, so `cargo check` and `cargo clippy`
//! work on machines without the eBPF toolchain. An agent built that way says so at startup and
//! traces nothing.

use std::{env, fs, path::PathBuf};

use anyhow::{Context as _, anyhow};
use aya_build::Toolchain;

const STUB_ENV: &str = "SMOOTHTASK_EBPF_STUB";
const OBJECT: &str = "smoothtask";

fn main() -> anyhow::Result<()> {
    println!("cargo::rerun-if-env-changed={STUB_ENV}");
    println!("cargo::rustc-check-cfg=cfg(smoothtask_ebpf_stub)");
    let stub = env::var(STUB_ENV).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    if stub {
        let out_dir = PathBuf::from(env::var_os("OUT_DIR").context("OUT_DIR not set")?);
        fs::write(out_dir.join(OBJECT), []).context("writing the empty eBPF object")?;
        println!("cargo::rustc-cfg=smoothtask_ebpf_stub");
        println!(
            "cargo::warning={STUB_ENV}=1: embedding an EMPTY eBPF object; this agent will not trace the kernel"
        );
        return Ok(());
    }

    let cargo_metadata::Metadata { packages, .. } = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let ebpf = packages
        .into_iter()
        .find(|p| p.name.as_str() == "smoothtask-ebpf")
        .ok_or_else(|| anyhow!("smoothtask-ebpf package not found in the workspace"))?;
    let root_dir = ebpf
        .manifest_path
        .parent()
        .ok_or_else(|| anyhow!("no parent for {}", ebpf.manifest_path))?;
    aya_build::build_ebpf(
        [aya_build::Package {
            name: ebpf.name.as_str(),
            root_dir: root_dir.as_str(),
            ..Default::default()
        }],
        Toolchain::Nightly,
    )
    .context("building the eBPF object (run `cargo xtask setup`, or set SMOOTHTASK_EBPF_STUB=1 to embed an empty one)")
}
