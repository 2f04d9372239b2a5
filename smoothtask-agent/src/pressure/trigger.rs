//! One PSI trigger: the pressure file opened read-write, the trigger line written, and the fd
//! registered with tokio for POLLPRI.

use std::{
    fs::OpenOptions,
    io::{self, Write as _},
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
};

use tokio::io::{Interest, unix::AsyncFd};

use super::TriggerSpec;

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("cannot open {path} for a PSI trigger: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("the kernel refused the PSI trigger `{line}` on {path}: {source}")]
    Refused {
        path: PathBuf,
        line: String,
        source: io::Error,
    },
    #[error("cannot watch the PSI trigger on {path}: {source}")]
    Register { path: PathBuf, source: io::Error },
}

/// What a trigger wait ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fired {
    /// The threshold was crossed.
    Threshold,
    /// The file is gone (POLLERR: the cgroup was removed).
    Gone,
}

/// An armed trigger. Dropping it closes the fd and removes the trigger.
#[derive(Debug)]
pub struct Trigger {
    fd: AsyncFd<std::fs::File>,
    path: PathBuf,
    spec: TriggerSpec,
}

impl Trigger {
    /// Arms `spec` on the pressure file at `path` (`/proc/pressure/memory`,
    /// `<cgroup dir>/memory.pressure`). The spec must already be one the kernel accepts
    /// ([`TriggerSpec::accepted`]).
    pub fn arm(path: &Path, spec: TriggerSpec) -> Result<Self, TriggerError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|source| TriggerError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let line = spec.line();
        // The kernel wants the line with its terminating NUL in one write.
        let mut bytes = line.clone().into_bytes();
        bytes.push(0);
        file.write_all(&bytes)
            .map_err(|source| TriggerError::Refused {
                path: path.to_path_buf(),
                line,
                source,
            })?;
        // SAFETY: the File owns its fd and keeps it open until the AsyncFd drops it.
        let fd =
            unsafe { AsyncFd::register_with_interest(file, Interest::PRIORITY | Interest::ERROR) }
                .map_err(|e| TriggerError::Register {
                    path: path.to_path_buf(),
                    source: e.into_parts().1,
                })?;
        Ok(Self {
            fd,
            path: path.to_path_buf(),
            spec,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn spec(&self) -> TriggerSpec {
        self.spec
    }

    /// Waits until the threshold is crossed or the file goes away.
    pub async fn fired(&self) -> Fired {
        match self.fd.ready(Interest::PRIORITY | Interest::ERROR).await {
            Ok(mut guard) => {
                let ready = guard.ready();
                guard.clear_ready();
                if ready.is_error() || ready.is_read_closed() {
                    Fired::Gone
                } else {
                    Fired::Threshold
                }
            }
            Err(_) => Fired::Gone,
        }
    }

    /// The file's current averages (`some avg10=... total=...`), read through the same fd.
    pub fn read_now(&self) -> Option<crate::cgroup::Psi> {
        let mut buf = [0u8; 512];
        // SAFETY: reading into a local buffer from an fd we own, at offset 0.
        let n = unsafe {
            libc::pread(
                std::os::fd::AsRawFd::as_raw_fd(self.fd.get_ref()),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
            )
        };
        let n = usize::try_from(n).ok()?;
        crate::cgroup::parse_psi(std::str::from_utf8(&buf[..n]).ok()?).ok()
    }
}
