//! tracefs: classic tracepoints are attached by the id tracefs gives them. This machine boots
//! without it mounted, so the agent mounts it when it may and says exactly why when it cannot.

use std::{
    ffi::CString,
    io,
    os::unix::ffi::OsStrExt as _,
    path::{Path, PathBuf},
};

use super::KernelError;

/// Where aya looks for tracefs, in its order.
pub const TRACEFS_PATHS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// How tracefs became available.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TracefsStatus {
    AlreadyMounted(PathBuf),
    MountedByAgent(PathBuf),
}

impl TracefsStatus {
    pub fn path(&self) -> &Path {
        match self {
            TracefsStatus::AlreadyMounted(p) | TracefsStatus::MountedByAgent(p) => p,
        }
    }
}

fn is_populated(path: &Path) -> bool {
    path.join("events").is_dir()
}

/// Finds a populated tracefs, mounting one at `/sys/kernel/tracing` if none is.
///
/// Must run before the first tracepoint attach in this process: aya caches the tracefs
/// location on first use.
pub fn ensure_tracefs() -> Result<TracefsStatus, KernelError> {
    if let Some(found) = TRACEFS_PATHS
        .iter()
        .map(Path::new)
        .find(|p| is_populated(p))
    {
        return Ok(TracefsStatus::AlreadyMounted(found.to_path_buf()));
    }
    let target = Path::new(TRACEFS_PATHS[0]);
    mount_tracefs(target).map_err(|err| KernelError::Tracefs {
        path: target.to_path_buf(),
        reason: explain_mount_error(&err),
    })?;
    if is_populated(target) {
        Ok(TracefsStatus::MountedByAgent(target.to_path_buf()))
    } else {
        Err(KernelError::Tracefs {
            path: target.to_path_buf(),
            reason: "mounted, but it has no events/ directory (kernel without tracepoint support?)"
                .into(),
        })
    }
}

fn mount_tracefs(target: &Path) -> io::Result<()> {
    if !target.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the mount point does not exist (kernel without CONFIG_TRACING?)",
        ));
    }
    let source = c"nodev";
    let fstype = c"tracefs";
    let target = CString::new(target.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: NUL-terminated strings that outlive the call; no data argument.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn explain_mount_error(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => format!(
            "{err}: mounting needs CAP_SYS_ADMIN in the initial mount namespace; run as root or mount it first with `mount -t tracefs nodev /sys/kernel/tracing` (in a container: bind-mount the host's /sys/kernel/tracing)"
        ),
        Some(libc::ENODEV) => format!("{err}: this kernel has no tracefs (CONFIG_TRACING off)"),
        _ => err.to_string(),
    }
}
