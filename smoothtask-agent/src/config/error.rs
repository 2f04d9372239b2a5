//! Config errors: where (file, line, column or environment variable), which key, what is wrong.

use std::{fmt, io, path::PathBuf};

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    /// A position in a config file (or a named string); line and column count from 1, the
    /// column in characters.
    File {
        file: String,
        line: usize,
        column: usize,
    },
    /// The value of an environment variable (`SMOOTHTASK_POLICY__MODE=...`).
    Env { var: String },
    /// A built-in default.
    Default,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { file, line, column } => write!(f, "{file}:{line}:{column}"),
            Self::Env { var } => write!(f, "environment variable {var}"),
            Self::Default => f.write_str("built-in default"),
        }
    }
}

/// One thing wrong with a config: where, at which key path, and what.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub location: Location,
    /// The key path, as `policy.cpu_weight_range` or `policy.classes[1].cpu_weight`; empty for
    /// the document itself.
    pub path: String,
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        match &self.kind {
            ProblemKind::UnknownKey { suggestion } => {
                write!(f, "unknown key `{}`", self.path)?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean `{s}`")?;
                    if matches!(self.location, Location::Env { .. }) {
                        write!(f, " ({})", super::env::var_name(s))?;
                    }
                    f.write_str("?")?;
                }
                Ok(())
            }
            kind if self.path.is_empty() => write!(f, "{kind}"),
            kind => write!(f, "`{}`: {kind}", self.path),
        }
    }
}

/// What is wrong. The key path and location are in [`Problem`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProblemKind {
    /// A key the config does not have (the message is written by [`Problem`]).
    #[error("unknown key")]
    UnknownKey { suggestion: Option<String> },
    #[error("expected {expected}, found {found}")]
    WrongType { expected: String, found: String },
    #[error(
        "unknown value `{value}`; expected {}{}",
        one_of(expected),
        did_you_mean(suggestion)
    )]
    UnknownVariant {
        value: String,
        expected: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("expected {expected}, found a list of {found}")]
    WrongLength { expected: String, found: usize },
    #[error("{value} is out of range: must be {expected}{}", hint.map(|h| format!(" ({h})")).unwrap_or_default())]
    OutOfRange {
        value: String,
        /// As `between 1 and 10000`, `at least 4096`.
        expected: String,
        hint: Option<&'static str>,
    },
    #[error("{value} must be {relation} `{other_path}` ({other})")]
    Order {
        value: String,
        /// As `at most`, `below`.
        relation: &'static str,
        other_path: String,
        other: String,
    },
    #[error("minimum {min} is greater than maximum {max}")]
    MinAboveMax { min: String, max: String },
    #[error("{value} is not within `{outer_path}` {outer}")]
    NotWithin {
        value: String,
        outer_path: String,
        outer: String,
    },
    #[error(
        "{value} disagrees with `{other_path}` = {other_value} ({other_location}); give only one \
         (`{canonical}` is the current name)"
    )]
    AliasConflict {
        value: String,
        other_path: String,
        other_value: String,
        other_location: Location,
        canonical: String,
    },
    #[error("give either `{other_path}` or this key, not both")]
    Exclusive { other_path: String },
    #[error(
        "{listen} is not a loopback address, so the API requires a bearer token: set `api.token`, \
         `api.token_file` or SMOOTHTASK_API__TOKEN, or listen on 127.0.0.1"
    )]
    TokenRequired { listen: String },
    #[error("a value is required here")]
    Missing,
    #[error("must not be empty")]
    Empty,
    #[error("duplicate key (first given at {first})")]
    DuplicateKey { first: Location },
    #[error("duplicate class name `{name}` (first given at {first})")]
    DuplicateName { name: String, first: Location },
    #[error("keys must be plain strings, found {found}")]
    ComplexKey { found: String },
    #[error("`{value}` is not an IP address and port ({reason}); for example 127.0.0.1:8080")]
    BadAddress { value: String, reason: String },
    #[error("`{pattern}` is not a valid glob: {reason}")]
    BadGlob { pattern: String, reason: String },
    #[error("`{value}` is not a label selector: expected `key` or `key=value`")]
    BadLabel { value: String },
    #[error("`{value}` is not a log filter: {reason}")]
    BadLogFilter { value: String, reason: String },
    #[error("`{var}` is not an override variable: {reason}")]
    BadEnvName { var: String, reason: &'static str },
    #[error("cannot be set from the environment inside the list `{list}`")]
    EnvInList { list: String },
    #[error("YAML syntax error: {message}")]
    Syntax { message: String },
    #[error("only one YAML document is allowed in a config file")]
    ExtraDocument,
    #[error("{message}")]
    Custom { message: String },
}

fn one_of(expected: &[String]) -> String {
    match expected {
        [] => "nothing".into(),
        [one] => format!("`{one}`"),
        many => format!(
            "one of {}",
            many.iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// Why a config was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read config file {}{via}: {source}", path.display())]
    Read {
        path: PathBuf,
        /// How the file was named, as ` (named by SMOOTHTASK_CONFIG)`; empty for a plain path.
        via: &'static str,
        #[source]
        source: io::Error,
    },
    /// `api.token_file` could not be read, or is empty ([`super::ApiAuth::resolve`]).
    #[error("cannot read the API token file {} (api.token_file): {source}", path.display())]
    TokenFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The YAML itself does not parse.
    #[error("{location}: YAML syntax error: {message}")]
    Syntax { location: Location, message: String },
    /// The YAML parses but the config is wrong: every problem found, in file order.
    #[error("{}", Lines(problems))]
    Invalid { problems: Vec<Problem> },
}

impl ConfigError {
    /// Every problem this error stands for (one for `Read` and `Syntax`, which have no key path).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            Self::Invalid { problems } => problems.clone(),
            Self::Syntax { location, message } => vec![Problem {
                location: location.clone(),
                path: String::new(),
                kind: ProblemKind::Syntax {
                    message: message.clone(),
                },
            }],
            Self::Read { path, source, .. } | Self::TokenFile { path, source } => vec![Problem {
                location: Location::File {
                    file: path.display().to_string(),
                    line: 0,
                    column: 0,
                },
                path: String::new(),
                kind: ProblemKind::Custom {
                    message: source.to_string(),
                },
            }],
        }
    }
}

struct Lines<'a>(&'a [Problem]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}
