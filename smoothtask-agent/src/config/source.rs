//! Which config file to load: `--config PATH`, else `SMOOTHTASK_CONFIG`, else the default path
//! if a file is there, else the built-in defaults.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use super::env::{CONFIG_VAR, EnvMap};

/// Where the packaged agent looks when nothing names a file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/smoothtask/smoothtask.yml";

/// Where a config came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// `--config PATH`.
    CommandLine(PathBuf),
    /// `SMOOTHTASK_CONFIG=PATH` (an empty value counts as unset).
    Environment(PathBuf),
    /// The default path ([`DEFAULT_CONFIG_PATH`]), where a file exists.
    DefaultPath(PathBuf),
    /// No file: the built-in defaults (environment overrides still apply).
    BuiltIn,
}

impl ConfigSource {
    /// Resolves the source from explicit inputs: the command line's path, the environment and
    /// the default path. A named file (command line or environment) is used whether or not it
    /// exists (loading then reports it missing); the default path only if something is there.
    pub fn resolve(cli_path: Option<&Path>, env: &EnvMap, default_path: &Path) -> ConfigSource {
        if let Some(path) = cli_path {
            return Self::CommandLine(path.to_path_buf());
        }
        if let Some(path) = env.get(CONFIG_VAR).filter(|p| !p.trim().is_empty()) {
            return Self::Environment(PathBuf::from(path));
        }
        match default_path.try_exists() {
            Ok(false) => Self::BuiltIn,
            // Present, or not knowable (permissions): loading says which.
            Ok(true) | Err(_) => Self::DefaultPath(default_path.to_path_buf()),
        }
    }

    /// The file to read, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::CommandLine(p) | Self::Environment(p) | Self::DefaultPath(p) => Some(p),
            Self::BuiltIn => None,
        }
    }

    /// How the file was named, for error messages.
    pub(crate) fn via(&self) -> &'static str {
        match self {
            Self::CommandLine(_) => " (named by --config)",
            Self::Environment(_) => " (named by SMOOTHTASK_CONFIG)",
            Self::DefaultPath(_) | Self::BuiltIn => "",
        }
    }
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CommandLine(p) => write!(f, "{} (--config)", p.display()),
            Self::Environment(p) => write!(f, "{} ({CONFIG_VAR})", p.display()),
            Self::DefaultPath(p) => write!(f, "{} (default path)", p.display()),
            Self::BuiltIn => f.write_str("built-in defaults"),
        }
    }
}
