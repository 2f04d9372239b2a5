//! The on-disk journal of original cgroup values: enforce mode records a file's content here,
//! durably, before its first write to that file, so every original can be put back on stop,
//! when enforcement is switched off, and at the next start after a crash or `kill -9`.
//!
//! The journal is one JSON file (`policy.journal_path`), replaced atomically (written to a
//! temporary file beside it, synced, renamed, directory synced). It exists only while something
//! is changed: a complete restore removes it.

use std::{
    collections::BTreeMap,
    fs,
    io::{self, Write as _},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// The journal format's version; a journal with another one is refused, not guessed at.
const VERSION: u32 = 1;

/// One journalled file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The container the file belongs to (`<runtime>/<id>`), for people reading the journal.
    pub container: String,
    /// The file's content before the agent first wrote it, trimmed.
    pub original: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    /// By absolute file path.
    entries: BTreeMap<PathBuf, Entry>,
}

/// Why the journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot read the policy journal {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "the policy journal {path} is not valid ({reason}); it is left in place: restore the files it lists by hand, then remove it"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write the policy journal {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// What putting one journalled file back gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreOutcome {
    Restored,
    /// The cgroup is gone: nothing to restore.
    Vanished,
    Failed(String),
}

/// One file put back (or not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    pub file: PathBuf,
    pub container: String,
    pub value: String,
    pub outcome: RestoreOutcome,
}

/// The journal, loaded.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    entries: BTreeMap<PathBuf, Entry>,
}

impl Journal {
    /// Loads the journal at `path` (empty when the file does not exist).
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let entries = match fs::read(path) {
            Ok(bytes) => {
                let corrupt = |reason: String| JournalError::Corrupt {
                    path: path.to_path_buf(),
                    reason,
                };
                let on_disk: OnDisk =
                    serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
                if on_disk.version != VERSION {
                    return Err(corrupt(format!(
                        "version {} where {VERSION} is expected",
                        on_disk.version
                    )));
                }
                on_disk.entries
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(JournalError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(Journal {
            path: path.to_path_buf(),
            entries,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The original content of `file`, when journalled.
    pub fn original(&self, file: &Path) -> Option<&str> {
        self.entries.get(file).map(|e| e.original.as_str())
    }

    /// Records `original` for `file` unless it is already journalled (the first original
    /// stays), and makes the journal durable before returning.
    pub fn record(
        &mut self,
        file: &Path,
        container: &str,
        original: &str,
    ) -> Result<(), JournalError> {
        if self.entries.contains_key(file) {
            return Ok(());
        }
        self.entries.insert(
            file.to_path_buf(),
            Entry {
                container: container.to_string(),
                original: original.trim().to_string(),
            },
        );
        if let Err(err) = self.persist() {
            self.entries.remove(file);
            return Err(err);
        }
        Ok(())
    }

    /// Writes every original back. Files restored or gone leave the journal; failures stay in
    /// it (for the next start). The journal file is removed once nothing is left.
    pub fn restore_all(&mut self) -> Vec<Restored> {
        let mut report = Vec::with_capacity(self.entries.len());
        for (file, entry) in &self.entries {
            let outcome = match write_value(file, &entry.original) {
                Ok(()) => RestoreOutcome::Restored,
                Err(e) if is_vanished(&e) => RestoreOutcome::Vanished,
                Err(e) => RestoreOutcome::Failed(e.to_string()),
            };
            report.push(Restored {
                file: file.clone(),
                container: entry.container.clone(),
                value: entry.original.clone(),
                outcome,
            });
        }
        for r in &report {
            if !matches!(r.outcome, RestoreOutcome::Failed(_)) {
                self.entries.remove(&r.file);
            }
        }
        let saved = if self.entries.is_empty() {
            match fs::remove_file(&self.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(JournalError::Write {
                    path: self.path.clone(),
                    source: e,
                }),
                _ => Ok(()),
            }
        } else {
            self.persist()
        };
        if let Err(err) = saved {
            tracing::error!(target: "policy", "{err}");
        }
        report
    }

    fn persist(&self) -> Result<(), JournalError> {
        let error = |source| JournalError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(error)?;
        let body = serde_json::to_vec_pretty(&OnDisk {
            version: VERSION,
            entries: self.entries.clone(),
        })
        .map_err(|e| error(io::Error::other(e)))?;
        let mut tmp_name = self.path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = dir.join(tmp_name);
        let mut file = fs::File::create(&tmp).map_err(error)?;
        file.write_all(&body).map_err(error)?;
        file.sync_all().map_err(error)?;
        fs::rename(&tmp, &self.path).map_err(error)?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(error)?;
        Ok(())
    }
}

/// Writes `value` to a cgroup control file in one `write(2)` (never creating it).
pub fn write_value(file: &Path, value: &str) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(file)?;
    f.write_all(value.as_bytes())
}

/// The cgroup (or the file) is gone: `ENOENT`, or `ENODEV` from a removed cgroup's open file.
pub fn is_vanished(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENODEV)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_the_first_original_durably_and_restores_it() {
        let dir = tempfile::tempdir().unwrap();
        let journal_path = dir.path().join("state/journal.json");
        let knob = dir.path().join("cpu.shares");
        fs::write(&knob, "1024\n").unwrap();
        let mut j = Journal::open(&journal_path).unwrap();
        assert!(j.is_empty());
        j.record(&knob, "docker/a", "1024\n").unwrap();
        fs::write(&knob, "4096").unwrap();
        j.record(&knob, "docker/a", "4096").unwrap();
        assert_eq!(j.original(&knob), Some("1024"), "the first original stays");
        // A new process (after kill -9) finds it.
        let mut again = Journal::open(&journal_path).unwrap();
        assert_eq!(again.len(), 1);
        let report = again.restore_all();
        assert_eq!(report.len(), 1);
        assert_eq!(report[0].outcome, RestoreOutcome::Restored);
        assert_eq!(fs::read_to_string(&knob).unwrap(), "1024");
        assert!(
            !journal_path.exists(),
            "a complete restore removes the journal"
        );
    }

    #[test]
    fn a_vanished_cgroup_leaves_the_journal_and_a_failure_stays() {
        let dir = tempfile::tempdir().unwrap();
        let journal_path = dir.path().join("journal.json");
        let mut j = Journal::open(&journal_path).unwrap();
        j.record(&dir.path().join("gone/cpu.shares"), "docker/a", "1024")
            .unwrap();
        // A directory cannot be written as a file: a failure other than "gone".
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        j.record(&blocked, "docker/b", "7").unwrap();
        let report = j.restore_all();
        assert!(
            matches!(&report[0].outcome, RestoreOutcome::Failed(e) if e.contains("directory")),
            "{report:?}"
        );
        assert_eq!(report[1].outcome, RestoreOutcome::Vanished);
        assert_eq!(j.len(), 1, "the failure stays for the next start");
        assert!(journal_path.exists());
    }

    #[test]
    fn a_corrupt_journal_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.json");
        fs::write(&path, "{not json").unwrap();
        let err = Journal::open(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("not valid"), "{err}");
        fs::write(&path, r#"{"version":9,"entries":{}}"#).unwrap();
        let err = Journal::open(&path).unwrap_err().to_string();
        assert!(err.contains("version 9"), "{err}");
        assert!(path.exists(), "left in place");
    }
}
