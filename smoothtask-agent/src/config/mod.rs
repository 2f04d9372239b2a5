//! The agent's YAML configuration: found, read, overridden from the environment and validated
//! once into a [`Config`] that every other module reads.
//!
//! # Where it comes from
//!
//! [`ConfigSource::resolve`]: `--config PATH`, else `SMOOTHTASK_CONFIG`, else
//! [`DEFAULT_CONFIG_PATH`] (`/etc/smoothtask/smoothtask.yml`) if a file is there, else the
//! built-in defaults, on which the agent runs fully. A file named by `--config` or
//! `SMOOTHTASK_CONFIG` must exist.
//!
//! # Environment overrides
//!
//! A variable `SMOOTHTASK_<SECTION>__<KEY>[__<KEY>...]` (the key path upper-cased, `.` written
//! `__`) sets that key, over the file: `SMOOTHTASK_POLICY__MODE=enforce`,
//! `SMOOTHTASK_API__LISTEN=0.0.0.0:8080`, `SMOOTHTASK_CONTAINER__METRICS__INTERVAL_SEC=30`,
//! `SMOOTHTASK_API__TOKEN=...`. Only variables with a `__` after the prefix are overrides, so
//! `SMOOTHTASK_CONFIG` and `SMOOTHTASK_EBPF_STUB` are not. The value is read as YAML:
//! `30`, `true`, `enforce`, and flow collections such as `[20, 400]` for
//! `SMOOTHTASK_POLICY__CPU_WEIGHT_RANGE`; an empty value means the default. Keys inside lists
//! (a class's fields) cannot be set one by one; set the whole list (`SMOOTHTASK_POLICY__CLASSES`).
//! Errors name the variable. `RUST_LOG`, when set, replaces `log.level` ([`LogConfig::filter`]).
//!
//! # Legacy keys
//!
//! `container.metrics_interval_sec`, `metrics.system_interval_sec` and
//! `metrics.process_interval_sec` are accepted as spellings of `container.metrics.interval_sec`,
//! `metrics.system.interval_sec` and `metrics.process.interval_sec`. A file giving both spellings
//! with different values is refused; with the same value it is accepted. An environment override
//! of either spelling replaces both spellings in the file.
//!
//! # Errors
//!
//! Loading parses the YAML into a tree that keeps every value's line and column, deserializes it
//! (collecting every unknown key, with the nearest known key, and every wrongly typed value) and
//! validates ranges and relations; [`ConfigError::Invalid`] lists all problems found, each as
//! `FILE:LINE:COLUMN: ...` with the key path.

mod de;
mod de_access;
mod defaults;
mod env;
mod error;
mod glob;
mod node;
mod raw;
mod schema;
mod source;
mod suggest;
#[cfg(test)]
mod tests;
mod types;
mod validate;
mod validate_policy;

use std::path::Path;

pub use defaults::default_config_yaml;
pub use env::{CONFIG_VAR, EnvMap, is_override, process_env, var_name};
pub use error::{ConfigError, Location, Problem, ProblemKind};
pub use glob::{Glob, GlobError};
pub use schema::{config_keys, json_schema};
pub use source::{ConfigSource, DEFAULT_CONFIG_PATH};
pub use types::*;

use node::{Node, Origin, Value};

/// A loaded config and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedConfig {
    pub config: Config,
    pub source: ConfigSource,
    /// The override variables applied, sorted.
    pub env_overrides: Vec<String>,
}

/// Resolves the source from explicit inputs, reads it and applies `env`'s overrides.
pub fn load(
    cli_path: Option<&Path>,
    env: &EnvMap,
    default_path: &Path,
) -> Result<LoadedConfig, ConfigError> {
    load_source(ConfigSource::resolve(cli_path, env, default_path), env)
}

/// [`load`] with the process environment and [`DEFAULT_CONFIG_PATH`]. Call it again to reload.
pub fn load_from_process(cli_path: Option<&Path>) -> Result<LoadedConfig, ConfigError> {
    load(cli_path, &process_env(), Path::new(DEFAULT_CONFIG_PATH))
}

/// Reads `source` (nothing for [`ConfigSource::BuiltIn`]) and applies `env`'s overrides.
pub fn load_source(source: ConfigSource, env: &EnvMap) -> Result<LoadedConfig, ConfigError> {
    let (text, name) = match source.path() {
        Some(path) => (read(path, source.via())?, path.display().to_string()),
        None => (String::new(), "<built-in defaults>".to_string()),
    };
    let (config, env_overrides) = build(&text, &name, env)?;
    Ok(LoadedConfig {
        config,
        source,
        env_overrides,
    })
}

/// Checks one file alone, without environment overrides (`smoothtaskd check-config FILE`).
pub fn check_config(path: &Path) -> Result<Config, ConfigError> {
    let text = read(path, "")?;
    build(&text, &path.display().to_string(), &EnvMap::new()).map(|(config, _)| config)
}

/// Parses and validates config text; `file_name` is what error locations call it.
pub fn parse_config(text: &str, file_name: &str, env: &EnvMap) -> Result<Config, ConfigError> {
    build(text, file_name, env).map(|(config, _)| config)
}

impl Default for Config {
    /// The built-in defaults (a test checks that they validate).
    fn default() -> Self {
        let raw = raw::RawConfig::default();
        let root = Node::empty_map(Location::Default);
        match validate::validate(&raw, &root, &[]) {
            Ok(config) => config,
            Err(problems) => panic!("the built-in defaults do not validate: {problems:?}"),
        }
    }
}

fn read(path: &Path, via: &'static str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        via,
        source,
    })
}

fn build(text: &str, file_name: &str, env: &EnvMap) -> Result<(Config, Vec<String>), ConfigError> {
    let (mut root, mut problems) = node::parse(text, &Origin::File(file_name.to_string()))?;
    if root.is_null() {
        root = Node::empty_map(root.loc);
    }
    if !matches!(root.value, Value::Map(_)) {
        problems.push(Problem {
            location: root.loc.clone(),
            path: String::new(),
            kind: ProblemKind::WrongType {
                expected: "a mapping of sections (container, policy, api, ...)".into(),
                found: de::describe(&root),
            },
        });
        return Err(invalid(problems));
    }
    let (applied, env_problems) = env::apply(&mut root, env);
    problems.extend(env_problems);
    let (raw, de_problems, removed) = de::from_node_collecting::<raw::RawConfig>(&mut root);
    problems.extend(de_problems);
    if let Some(raw) = raw {
        match validate::validate(&raw, &root, &removed) {
            Ok(config) if problems.is_empty() => return Ok((config, applied)),
            Ok(_) => {}
            Err(found) => problems.extend(found),
        }
    }
    Err(invalid(problems))
}

/// Problems in file order (then environment variables), each once.
fn invalid(mut problems: Vec<Problem>) -> ConfigError {
    problems.sort_by(|a, b| a.location.cmp(&b.location));
    let mut unique: Vec<Problem> = Vec::with_capacity(problems.len());
    for p in problems {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    ConfigError::Invalid { problems: unique }
}
