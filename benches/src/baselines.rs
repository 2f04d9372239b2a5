//! The baselines' detectors of new cgroup directories: an inotify watch (IN_CREATE) and 1 s
//! polling scanners (readdir), each noting when it learned of every name.

use std::{
    collections::HashMap,
    ffi::CString,
    os::unix::ffi::OsStrExt as _,
    path::Path,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use smoothtask_agent::clock::monotonic_ns;

/// Scans of the polling baseline: 8 scanners of period 1 s, at phases 125 ms apart.
const SCAN_EVERY: Duration = Duration::from_millis(125);
pub const SCANNERS: usize = 8;

/// An inotify watch (IN_CREATE) on one directory; the fd is closed on drop.
pub struct Inotify(libc::c_int);

impl Inotify {
    pub fn watch(dir: &Path) -> anyhow::Result<Self> {
        // SAFETY: plain syscalls; the fd is owned by the returned value.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        anyhow::ensure!(
            fd >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        let this = Self(fd);
        let path = CString::new(dir.as_os_str().as_bytes())?;
        // SAFETY: valid fd and NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(fd, path.as_ptr(), libc::IN_CREATE) };
        anyhow::ensure!(
            wd >= 0,
            "inotify_add_watch: {}",
            std::io::Error::last_os_error()
        );
        Ok(this)
    }

    /// Names created, with when they were read (monotonic ns), until `n` or `stop`.
    pub fn collect(self, n: usize, stop: &AtomicBool) -> HashMap<String, u64> {
        let mut seen = HashMap::with_capacity(n);
        let mut buf = vec![0u8; 1 << 16];
        let header = std::mem::size_of::<libc::inotify_event>();
        while seen.len() < n && !stop.load(Ordering::Relaxed) {
            let mut pfd = libc::pollfd {
                fd: self.0,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; buf is writable for its length.
            let len = unsafe {
                if libc::poll(&mut pfd, 1, 50) <= 0 {
                    continue;
                }
                libc::read(self.0, buf.as_mut_ptr().cast(), buf.len())
            };
            let now = monotonic_ns();
            let Ok(len) = usize::try_from(len) else {
                continue;
            };
            let mut off = 0;
            while off + header <= len {
                // SAFETY: the kernel wrote whole events; read_unaligned copes with alignment.
                let ev: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
                let name = &buf[off + header..(off + header + ev.len as usize).min(len)];
                let name = name.split(|&b| b == 0).next().unwrap_or_default();
                if ev.mask & libc::IN_CREATE != 0 {
                    seen.entry(String::from_utf8_lossy(name).into_owned())
                        .or_insert(now);
                }
                off += header + ev.len as usize;
            }
        }
        seen
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        // SAFETY: closing the fd this value owns.
        unsafe { libc::close(self.0) };
    }
}

/// The polling baseline's scans: when each ended and the first scan that saw each name.
pub struct Scans {
    ended: Vec<u64>,
    first_seen: HashMap<String, usize>,
}

impl Scans {
    /// Each scanner's latency for each id: the end of its first scan at or after the first scan
    /// that saw the directory (directories stay, so every later scan sees it too).
    pub fn latencies(&self, ids: &[String], returned: &[u64]) -> Vec<f64> {
        let mut out = Vec::new();
        for (id, ret) in ids.iter().zip(returned) {
            let Some(&first) = self.first_seen.get(id) else {
                continue;
            };
            for k in 0..SCANNERS {
                let j = first + (k + SCANNERS - first % SCANNERS) % SCANNERS;
                if let Some(end) = self.ended.get(j) {
                    out.push(end.saturating_sub(*ret) as f64 / 1e3);
                }
            }
        }
        out
    }
}

/// readdir of `dir` every `SCAN_EVERY` until `stop`.
pub fn scan(dir: &Path, stop: &AtomicBool) -> anyhow::Result<Scans> {
    let start = Instant::now();
    let mut scans = Scans {
        ended: Vec::new(),
        first_seen: HashMap::new(),
    };
    while !stop.load(Ordering::Relaxed) {
        let index = scans.ended.len();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                scans
                    .first_seen
                    .entry(entry.file_name().to_string_lossy().into_owned())
                    .or_insert(index);
            }
        }
        scans.ended.push(monotonic_ns());
        let next = SCAN_EVERY * (index as u32 + 1);
        std::thread::sleep(next.saturating_sub(start.elapsed()));
    }
    Ok(scans)
}
