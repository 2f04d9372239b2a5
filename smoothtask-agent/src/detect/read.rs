//! Reading evidence files without ever failing: bounded, non-blocking, lossy. A file that cannot be
//! read is a gap in the evidence (`None`), never an error.

use std::{
    fs::{File, OpenOptions},
    io::Read,
    os::unix::fs::OpenOptionsExt,
    path::Path,
};

/// The most read from a small file (markers, environ, cgroup, control files).
pub(super) const SMALL: u64 = 64 * 1024;
/// The most read from mountinfo (a Kubernetes node can have thousands of mounts).
pub(super) const LARGE: u64 = 8 * 1024 * 1024;

/// Up to `limit` bytes of a regular file. FIFOs, devices, directories, missing and unreadable
/// files give `None`; the open never blocks.
pub(super) fn read_bytes(path: &Path, limit: u64) -> Option<Vec<u8>> {
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut out = Vec::new();
    file.take(limit).read_to_end(&mut out).ok()?;
    Some(out)
}

/// [`read_bytes`] as text; invalid UTF-8 becomes U+FFFD.
pub(super) fn read_text(path: &Path, limit: u64) -> Option<String> {
    read_bytes(path, limit).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Something (file, directory, dangling symlink) is at `path`.
pub(super) fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// The target of a symlink (`/proc/self/ns/cgroup` → `cgroup:[4026531835]`).
pub(super) fn link(path: &Path) -> Option<String> {
    std::fs::read_link(path)
        .ok()
        .map(|target| target.to_string_lossy().into_owned())
}

/// A one-line value from a small file, trimmed; empty or unreadable gives `None`.
pub(super) fn read_value(path: &Path) -> Option<String> {
    let text = read_text(path, SMALL)?;
    let value = text.trim();
    (!value.is_empty()).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_directories_and_fifos_are_gaps() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_bytes(&dir.path().join("missing"), SMALL), None);
        assert_eq!(read_bytes(dir.path(), SMALL), None);
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(read_bytes(&fifo, SMALL), None);
        assert!(exists(&fifo));
    }

    #[test]
    fn reads_are_bounded_and_lossy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"ab\xffcd").unwrap();
        assert_eq!(read_text(&path, 3).as_deref(), Some("ab\u{fffd}"));
        std::fs::write(&path, b"  lxc \n").unwrap();
        assert_eq!(read_value(&path).as_deref(), Some("lxc"));
        std::fs::write(&path, b"\n").unwrap();
        assert_eq!(read_value(&path), None);
    }
}
