//! [`ControlFile`]: a control file kept open and re-read with `pread(fd, buf, 0)`, within an
//! [`FdBudget`] shared by many files so they stay under the open-file limit.

use std::{
    fs::File,
    io::{self, Read},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use super::{
    error::{CgroupError, is_gone},
    file::{as_text, io_error},
};

/// First buffer size for a read; control files are far smaller, `memory.stat` about 1.5 KiB.
const INITIAL_BUFFER: usize = 16 * 1024;

/// Shares a maximum number of kept-open files between readers, so that many [`ControlFile`]s
/// stay within the process's open-file limit. Clones share one budget.
#[derive(Debug, Clone)]
pub struct FdBudget(Arc<AtomicUsize>);

impl FdBudget {
    /// A budget of `max_open` files.
    pub fn new(max_open: usize) -> Self {
        FdBudget(Arc::new(AtomicUsize::new(max_open)))
    }

    /// The soft `RLIMIT_NOFILE` minus `reserve` files left for everything else.
    pub fn from_rlimit(reserve: usize) -> Self {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
        let soft = if rc == 0 {
            usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
        } else {
            1024
        };
        FdBudget::new(soft.saturating_sub(reserve))
    }

    /// The process's one budget for descriptors held long (kept-open control files, PSI
    /// triggers): the soft limit minus [`PROCESS_RESERVE`] for everything else (sockets, the
    /// policy's one-shot reads and its journal, logs).
    pub fn process() -> FdBudget {
        static BUDGET: std::sync::OnceLock<FdBudget> = std::sync::OnceLock::new();
        BUDGET
            .get_or_init(|| FdBudget::from_rlimit(PROCESS_RESERVE))
            .clone()
    }

    /// Files that may still be kept open.
    pub fn available(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// One descriptor's worth of the budget, given back when the token drops; `None` when the
    /// budget is spent.
    pub fn try_take(&self) -> Option<FdToken> {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .ok()
            .map(|_| FdToken(self.clone()))
    }
}

/// Descriptors [`FdBudget::process`] leaves for everything not held long.
pub const PROCESS_RESERVE: usize = 512;

/// One unit of an [`FdBudget`], given back when dropped.
#[derive(Debug)]
pub struct FdToken(FdBudget);

impl Drop for FdToken {
    fn drop(&mut self) {
        self.0.0.fetch_add(1, Ordering::AcqRel);
    }
}

#[derive(Debug)]
enum State {
    /// Not open: the next read opens it.
    Closed,
    /// Known not to exist (or its cgroup is gone) until [`ControlFile::reset`].
    Absent,
    Open {
        file: File,
        _token: Option<FdToken>,
    },
}

/// A control file read repeatedly. The first read opens it; it stays open when the budget
/// allows (otherwise each read opens, reads and closes it), and later reads are one `pread`
/// at offset 0, which makes the kernel regenerate the content.
#[derive(Debug)]
pub struct ControlFile {
    path: PathBuf,
    state: State,
    budget: Option<FdBudget>,
    keep_open: bool,
}

impl ControlFile {
    /// A handle that keeps the file open; with a budget only while the budget allows.
    pub fn kept_open(path: PathBuf, budget: Option<FdBudget>) -> Self {
        ControlFile {
            path,
            state: State::Closed,
            budget,
            keep_open: true,
        }
    }

    /// A handle that opens, reads and closes the file on every read (the naive baseline).
    pub fn one_shot(path: PathBuf) -> Self {
        ControlFile {
            path,
            state: State::Closed,
            budget: None,
            keep_open: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True while a descriptor is held.
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// Closes the file and forgets that it was absent; the next read starts afresh.
    pub fn reset(&mut self) {
        self.state = State::Closed;
    }

    /// Reads the whole file into `buf`. `Ok(None)` when the file does not exist or its cgroup
    /// is gone (remembered until [`reset`](Self::reset) for kept-open handles).
    pub fn read<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<Option<&'b str>, CgroupError> {
        let len = match &self.state {
            State::Absent => return Ok(None),
            State::Open { file, .. } => match pread_all(file, buf) {
                Ok(len) => len,
                Err(e) => return self.failed(e),
            },
            State::Closed => {
                let mut file = match File::open(&self.path) {
                    Ok(f) => f,
                    Err(e) => return self.failed(e),
                };
                let result = if self.keep_open {
                    pread_all(&file, buf)
                } else {
                    read_all(&mut file, buf)
                };
                let len = match result {
                    Ok(len) => len,
                    Err(e) => return self.failed(e),
                };
                if self.keep_open {
                    let token = match &self.budget {
                        None => Some(None),
                        Some(budget) => budget.try_take().map(Some),
                    };
                    if let Some(token) = token {
                        self.state = State::Open {
                            file,
                            _token: token,
                        };
                    }
                }
                len
            }
        };
        as_text(&self.path, &buf[..len]).map(Some)
    }

    fn failed<T>(&mut self, error: io::Error) -> Result<Option<T>, CgroupError> {
        if is_gone(&error) {
            self.state = if self.keep_open {
                State::Absent
            } else {
                State::Closed
            };
            Ok(None)
        } else {
            self.state = State::Closed;
            Err(io_error(&self.path, error))
        }
    }
}

/// Reads a file from the start with `pread`. A read returning less than half the buffer is
/// the end: cgroup and procfs files are seq_files, whose reads only fall short of the buffer at
/// the end or when the next record (one line, well under half of 16 KiB) does not fit.
fn pread_all(file: &File, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.len() < INITIAL_BUFFER {
        buf.resize(INITIAL_BUFFER, 0);
    }
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match file.read_at(&mut buf[len..], len as u64) {
            Ok(0) => return Ok(len),
            Ok(n) => {
                len += n;
                if len < buf.len() / 2 {
                    return Ok(len);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads a file to its end with plain `read` calls.
fn read_all(file: &mut File, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.clear();
    file.read_to_end(buf)?;
    Ok(buf.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::FlatKeyed;

    fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).expect("write fixture");
        path
    }

    #[test]
    fn kept_open_file_sees_new_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "memory.max", b"max\n");
        let budget = FdBudget::new(1);
        let mut file = ControlFile::kept_open(path.clone(), Some(budget.clone()));
        let mut buf = Vec::new();
        assert_eq!(file.read(&mut buf).expect("read"), Some("max\n"));
        assert!(file.is_open());
        assert_eq!(budget.available(), 0);
        // Same size, overwritten in place: pread at 0 sees the new bytes.
        std::fs::write(&path, b"1024\n").expect("rewrite");
        assert_eq!(file.read(&mut buf).expect("read"), Some("1024\n"));
        drop(file);
        assert_eq!(budget.available(), 1);
    }

    #[test]
    fn exhausted_budget_falls_back_to_reading_by_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "cpu.weight", b"100\n");
        let budget = FdBudget::new(0);
        let mut file = ControlFile::kept_open(path, Some(budget));
        let mut buf = Vec::new();
        assert_eq!(file.read(&mut buf).expect("read"), Some("100\n"));
        assert!(!file.is_open());
        assert_eq!(file.read(&mut buf).expect("read"), Some("100\n"));
    }

    #[test]
    fn missing_file_is_none_and_binary_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut missing = ControlFile::one_shot(dir.path().join("nope"));
        let mut buf = Vec::new();
        assert!(matches!(missing.read(&mut buf), Ok(None)));
        let bin = write(dir.path(), "bin", &[0xff, 0xfe, 0x00, 0x80]);
        let mut file = ControlFile::one_shot(bin.clone());
        let err = file.read(&mut buf).expect_err("binary");
        assert_eq!(err.path(), bin.as_path());
        assert!(matches!(err, CgroupError::Parse { .. }));
    }

    #[test]
    fn large_files_are_read_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let content: String = (0..5000).map(|i| format!("key{i} {i}\n")).collect();
        let path = write(dir.path(), "memory.stat", content.as_bytes());
        let mut file = ControlFile::kept_open(path, None);
        let mut buf = Vec::new();
        for _ in 0..2 {
            let text = file.read(&mut buf).expect("read").expect("present");
            assert_eq!(text.len(), content.len());
            assert_eq!(FlatKeyed::parse(text).expect("valid").0.len(), 5000);
        }
    }
}
