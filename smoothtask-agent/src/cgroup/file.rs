//! One-shot typed reads of control files by path (`read_limit`, `read_cpu_max_v2`,
//! `read_psi`, ...), every error naming the file.

use std::{io, path::Path};

use super::{
    error::{CgroupError, ParseError},
    flat::FlatKeyed,
    limits::{CpuMax, Limit, MaxValue, parse_cfs_quota, parse_u64},
    psi::{Psi, parse_psi},
};

pub(super) fn io_error(path: &Path, source: io::Error) -> CgroupError {
    CgroupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn as_text<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str, CgroupError> {
    std::str::from_utf8(bytes).map_err(|_| CgroupError::Parse {
        path: path.to_path_buf(),
        source: ParseError::NotUtf8,
    })
}

/// Reads a whole file as UTF-8.
pub fn read_text(path: &Path) -> Result<String, CgroupError> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    String::from_utf8(bytes).map_err(|_| CgroupError::Parse {
        path: path.to_path_buf(),
        source: ParseError::NotUtf8,
    })
}

/// Reads `path` and parses it, naming the file in any error.
pub fn read_parsed<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Result<T, CgroupError> {
    let text = read_text(path)?;
    parse(&text).map_err(|source| CgroupError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Like [`read_parsed`], but a file that does not exist is `Ok(None)`.
pub fn read_optional<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Result<Option<T>, CgroupError> {
    match read_parsed(path, parse) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// A memory limit file (`memory.max`, `memory.limit_in_bytes`, ...).
pub fn read_limit(path: &Path) -> Result<Limit, CgroupError> {
    read_parsed(path, Limit::parse)
}

/// A single-number file (`memory.current`, `cpu.shares`, `cpu.weight`).
pub fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    read_parsed(path, parse_u64)
}

/// A `max`-or-number file (`pids.max`).
pub fn read_max_value(path: &Path) -> Result<MaxValue, CgroupError> {
    read_parsed(path, MaxValue::parse)
}

/// v2 `cpu.max` in the cgroup directory `dir`.
pub fn read_cpu_max_v2(dir: &Path) -> Result<CpuMax, CgroupError> {
    read_parsed(&dir.join("cpu.max"), CpuMax::parse_v2)
}

/// v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` in the cgroup directory `dir`.
pub fn read_cpu_max_v1(dir: &Path) -> Result<CpuMax, CgroupError> {
    let quota_path = dir.join("cpu.cfs_quota_us");
    let quota = read_text(&quota_path)?;
    let period_path = dir.join("cpu.cfs_period_us");
    let period = read_text(&period_path)?;
    let quota_us = parse_cfs_quota(&quota).map_err(|source| CgroupError::Parse {
        path: quota_path,
        source,
    })?;
    let period_us = parse_u64(&period).map_err(|source| CgroupError::Parse {
        path: period_path,
        source,
    })?;
    Ok(CpuMax {
        quota_us,
        period_us,
    })
}

/// A flat-keyed file (`memory.stat`, `cpu.stat`, `memory.events`).
pub fn read_flat_keyed(path: &Path) -> Result<FlatKeyed, CgroupError> {
    read_parsed(path, FlatKeyed::parse)
}

/// A pressure file (`cpu.pressure`, ...).
pub fn read_psi(path: &Path) -> Result<Psi, CgroupError> {
    read_parsed(path, parse_psi)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).expect("write fixture");
        path
    }

    #[test]
    fn missing_and_binary_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = write(dir.path(), "bin", &[0xff, 0xfe, 0x00, 0x80]);
        assert!(matches!(read_limit(&bin), Err(CgroupError::Parse { .. })));
        let missing = dir.path().join("nope");
        assert!(
            read_optional(&missing, Limit::parse)
                .expect("none")
                .is_none()
        );
        assert!(read_u64(&missing).expect_err("missing").is_not_found());
    }
    #[test]
    fn typed_reads_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "cpu.cfs_quota_us", b"-1\n");
        write(dir.path(), "cpu.cfs_period_us", b"garbage\n");
        let err = read_cpu_max_v1(dir.path()).expect_err("bad period");
        assert!(err.to_string().contains("cpu.cfs_period_us"), "{err}");
        write(dir.path(), "cpu.max", b"max 100000\n");
        assert_eq!(
            read_cpu_max_v2(dir.path()).expect("valid").quota_us,
            MaxValue::Unlimited
        );
    }
}
