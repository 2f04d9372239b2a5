//! `cargo xtask setup`: the nightly toolchain with rust-src, and bpf-linker built against the
//! nightly toolchain's own libLLVM (no system LLVM of the right major version is packaged).
//! Idempotent, and near-instant when everything is present.

use std::{fs, os::unix::fs::symlink, path::PathBuf, process::Command};

use anyhow::{Context as _, anyhow, bail};

use crate::cmd::{self, nightly, output};

/// bpf-linker releases that build against LLVM 22 and the aya versions pinned here.
const BPF_LINKER_VERSION: &str = "^0.13";

pub fn run() -> anyhow::Result<()> {
    check_rustup()?;
    ensure_nightly()?;
    ensure_rust_src()?;
    ensure_bpf_linker()?;
    Ok(())
}

fn step(what: &str) {
    eprintln!("xtask setup: {what}");
}

fn check_rustup() -> anyhow::Result<()> {
    output(Command::new("rustup").arg("--version")).map(|_| ()).ok_or_else(|| {
        anyhow!("setup: rustup not found on PATH; it manages the nightly toolchain the eBPF build needs (https://rustup.rs)")
    })
}

fn ensure_nightly() -> anyhow::Result<()> {
    let installed = output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if installed.lines().any(|l| l.starts_with("nightly")) {
        return Ok(());
    }
    step("installing the nightly toolchain (builds the eBPF programs)");
    cmd::run(Command::new("rustup").args([
        "toolchain",
        "install",
        "nightly",
        "--profile",
        "minimal",
        "--component",
        "rust-src",
    ]))
    .context("setup: the nightly toolchain is missing and could not be installed")
}

fn ensure_rust_src() -> anyhow::Result<()> {
    let components = output(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        "nightly",
        "--installed",
    ]))
    .unwrap_or_default();
    if components.lines().any(|l| l.starts_with("rust-src")) {
        return Ok(());
    }
    step("adding rust-src to nightly (-Z build-std=core needs it)");
    cmd::run(Command::new("rustup").args([
        "component",
        "add",
        "rust-src",
        "--toolchain",
        "nightly",
    ]))
    .context("setup: rust-src could not be added to the nightly toolchain")
}

fn ensure_bpf_linker() -> anyhow::Result<()> {
    if let Some(version) = output(nightly("bpf-linker").arg("--version")) {
        if version.contains(" 0.13.") {
            return Ok(());
        }
        step(&format!(
            "found {} but need bpf-linker {BPF_LINKER_VERSION}; reinstalling",
            version.trim()
        ));
    }
    let llvm = NightlyLlvm::find()?;
    let prefix = llvm.prefix()?;
    step(&format!(
        "installing bpf-linker {BPF_LINKER_VERSION} against {} (LLVM {}), about a minute",
        llvm.library.display(),
        llvm.major
    ));
    cmd::run(
        nightly("cargo")
            .args(["install", "--force", "bpf-linker", "--version", BPF_LINKER_VERSION])
            .args(["--no-default-features", "--features"])
            .arg(format!("llvm-{}", llvm.major))
            .env("LLVM_PREFIX", &prefix),
    )
    .context("setup: building bpf-linker failed (crates.io reachable? a C++ toolchain for its build script?)")?;
    output(nightly("bpf-linker").arg("--version"))
        .map(|_| ())
        .ok_or_else(|| anyhow!("setup: bpf-linker was installed but does not run"))
}

/// The nightly toolchain's bundled libLLVM.
struct NightlyLlvm {
    library: PathBuf,
    major: u32,
}

impl NightlyLlvm {
    fn find() -> anyhow::Result<Self> {
        let verbose = output(Command::new("rustc").args(["+nightly", "-vV"]))
            .ok_or_else(|| anyhow!("setup: `rustc +nightly -vV` failed"))?;
        let major = verbose
            .lines()
            .find_map(|l| l.strip_prefix("LLVM version: "))
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.trim().parse().ok())
            .ok_or_else(|| anyhow!("setup: `rustc +nightly -vV` does not name its LLVM version"))?;
        let sysroot = output(Command::new("rustc").args(["+nightly", "--print", "sysroot"]))
            .ok_or_else(|| anyhow!("setup: `rustc +nightly --print sysroot` failed"))?;
        let lib = PathBuf::from(sysroot.trim()).join("lib");
        let wanted = format!("libLLVM.so.{major}");
        let library = fs::read_dir(&lib)
            .with_context(|| format!("setup: cannot list {}", lib.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&wanted))
            })
            .ok_or_else(|| {
                anyhow!(
                    "setup: no {wanted}* in {}: this nightly ships no libLLVM to build bpf-linker against",
                    lib.display()
                )
            })?;
        Ok(Self { library, major })
    }

    /// A directory whose `lib/` holds `libLLVM.so` and the library's soname, both linking to
    /// the toolchain's file, as bpf-linker's build (LLVM_PREFIX) and its runpath expect.
    fn prefix(&self) -> anyhow::Result<PathBuf> {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            .ok_or_else(|| anyhow!("setup: neither CARGO_HOME nor HOME is set"))?;
        let prefix = cargo_home.join(format!("smoothtask-llvm-{}", self.major));
        let lib = prefix.join("lib");
        fs::create_dir_all(&lib)
            .with_context(|| format!("setup: cannot create {}", lib.display()))?;
        let soname = self
            .library
            .file_name()
            .ok_or_else(|| anyhow!("setup: bad library path"))?;
        for name in [std::ffi::OsStr::new("libLLVM.so"), soname] {
            let link = lib.join(name);
            if fs::symlink_metadata(&link).is_ok() {
                fs::remove_file(&link)
                    .with_context(|| format!("setup: cannot replace {}", link.display()))?;
            }
            symlink(&self.library, &link)
                .with_context(|| format!("setup: cannot link {}", link.display()))?;
        }
        if !lib.join("libLLVM.so").exists() {
            bail!(
                "setup: {} does not resolve",
                lib.join("libLLVM.so").display()
            );
        }
        Ok(prefix)
    }
}
