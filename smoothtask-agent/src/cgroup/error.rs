//! Errors of the cgroup module: pure parse errors (no path) and file errors (with the path).

use std::path::{Path, PathBuf};

/// What was wrong with a file's content. Pure parsers return this; readers wrap it with the
/// file's path in [`CgroupError::Parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The content was empty (or only whitespace) where a value was expected.
    #[error("empty content")]
    Empty,
    /// The content was not UTF-8 (binary data).
    #[error("content is not UTF-8")]
    NotUtf8,
    /// A number that does not parse or is out of range.
    #[error("invalid number {value:?}")]
    InvalidNumber { value: String },
    /// A line that does not have the expected shape.
    #[error("line {line}: {reason}: {text:?}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        reason: &'static str,
        /// The offending text, shortened.
        text: String,
    },
    /// A key that must be present is missing.
    #[error("missing key {key:?}")]
    MissingKey { key: &'static str },
}

/// Longest excerpt of bad input kept in an error.
const EXCERPT: usize = 80;

/// `text` shortened to at most [`EXCERPT`] characters, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

impl ParseError {
    pub(crate) fn number(value: &str) -> Self {
        ParseError::InvalidNumber {
            value: excerpt(value),
        }
    }

    pub(crate) fn malformed(line: usize, reason: &'static str, text: &str) -> Self {
        ParseError::Malformed {
            line,
            reason,
            text: excerpt(text),
        }
    }
}

/// A cgroup or procfs file that could not be read or parsed. Always names the file.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: ParseError,
    },
}

impl CgroupError {
    /// The file concerned.
    pub fn path(&self) -> &Path {
        match self {
            CgroupError::Io { path, .. } | CgroupError::Parse { path, .. } => path,
        }
    }

    /// True when the file does not exist (or its cgroup has been removed: `ENODEV`). Callers
    /// treat this as "not there" (`None`), not as a failure.
    pub fn is_not_found(&self) -> bool {
        match self {
            CgroupError::Io { source, .. } => is_gone(source),
            CgroupError::Parse { .. } => false,
        }
    }
}

/// `ENOENT`, or `ENODEV` which a kept-open cgroup file returns once its cgroup is removed.
pub(crate) fn is_gone(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::NotFound || error.raw_os_error() == Some(libc::ENODEV)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file() {
        let err = CgroupError::Parse {
            path: PathBuf::from("/sys/fs/cgroup/memory.max"),
            source: ParseError::number("12ab"),
        };
        assert_eq!(
            err.to_string(),
            "cannot parse /sys/fs/cgroup/memory.max: invalid number \"12ab\""
        );
        assert_eq!(err.path(), Path::new("/sys/fs/cgroup/memory.max"));
        assert!(!err.is_not_found());
        let gone = CgroupError::Io {
            path: PathBuf::from("/x"),
            source: std::io::Error::from_raw_os_error(libc::ENODEV),
        };
        assert!(gone.is_not_found());
    }

    #[test]
    fn excerpts_are_short_and_char_safe() {
        let long = "é".repeat(200);
        let short = excerpt(&long);
        assert_eq!(short.chars().count(), EXCERPT + 3);
    }
}
