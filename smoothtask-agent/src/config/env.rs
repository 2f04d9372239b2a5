//! Environment overrides: `SMOOTHTASK_<SECTION>__<KEY>[__<KEY>...]=<YAML value>` sets one key
//! of the config tree before it is checked (see the module documentation of `config`).

use std::collections::BTreeMap;

use super::{
    error::{ConfigError, Location, Problem, ProblemKind},
    node::{self, KeyPath, Node, Origin},
    schema,
    validate::ALIASES,
};

/// The environment, as a sorted map (explicit so loading is testable).
pub type EnvMap = BTreeMap<String, String>;

/// Variables with this prefix and a `__` in the rest are overrides.
pub const PREFIX: &str = "SMOOTHTASK_";
/// Names the config file (not an override).
pub const CONFIG_VAR: &str = "SMOOTHTASK_CONFIG";

/// The process environment (variables whose name or value is not UTF-8 are left out).
pub fn process_env() -> EnvMap {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The override variable for a key path: `policy.mode` -> `SMOOTHTASK_POLICY__MODE`.
pub fn var_name(path: &str) -> String {
    format!("{PREFIX}{}", path.replace('.', "__").to_ascii_uppercase())
}

/// Is this variable an override (rather than another SMOOTHTASK_ setting such as
/// `SMOOTHTASK_CONFIG` or `SMOOTHTASK_EBPF_STUB`)?
pub fn is_override(var: &str) -> bool {
    var.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.contains("__"))
}

/// Applies every override in `env` to `root`, in variable-name order. An override of a setting
/// that has a legacy spelling also removes the other spelling from the file, so the variable
/// wins whichever spelling the file used. Returns the variables applied and the problems found
/// (bad names, values that are not YAML, overrides that would step into a list).
pub(crate) fn apply(root: &mut Node, env: &EnvMap) -> (Vec<String>, Vec<Problem>) {
    let mut applied = Vec::new();
    let mut problems = Vec::new();
    let mut set_paths: Vec<String> = Vec::new();
    for (var, value) in env.iter().filter(|(k, _)| is_override(k)) {
        let loc = Location::Env { var: var.clone() };
        let rest = &var[PREFIX.len()..];
        let keys: Vec<String> = rest.split("__").map(|k| k.to_ascii_lowercase()).collect();
        let bad_name = |reason| Problem {
            location: loc.clone(),
            path: String::new(),
            kind: ProblemKind::BadEnvName {
                var: var.clone(),
                reason,
            },
        };
        if keys.iter().any(|k| k.is_empty()) {
            problems.push(bad_name("an empty key between `__` separators"));
            continue;
        }
        let node = match parse_value(var, value) {
            Ok(node) => node,
            Err(problem) => {
                problems.push(*problem);
                continue;
            }
        };
        let dotted = keys.join(".");
        let in_list = (1..keys.len())
            .map(|n| keys[..n].join("."))
            .find(|prefix| is_list_key(prefix));
        let set = match in_list {
            Some(list) => Err(list),
            None => root.set(&keys, node, &loc).map_err(|list| list.to_string()),
        };
        if let Err(list) = set {
            problems.push(Problem {
                location: loc.clone(),
                path: dotted,
                kind: ProblemKind::EnvInList { list },
            });
            continue;
        }
        for (current, legacy) in ALIASES {
            let other = match dotted.as_str() {
                d if d == current => legacy,
                d if d == legacy => current,
                _ => continue,
            };
            if !set_paths.iter().any(|p| p == other) {
                root.remove(&KeyPath::parse(other));
            }
        }
        set_paths.push(dotted);
        applied.push(var.clone());
    }
    (applied, problems)
}

/// Is `path` a list of mappings (`policy.classes`)?
fn is_list_key(path: &str) -> bool {
    let items = format!("{path}[].");
    schema::known_keys().iter().any(|k| k.starts_with(&items))
}

/// A variable's value as a YAML value (`30`, `true`, `enforce`, `[20, 400]`); empty is null,
/// which means "the default".
fn parse_value(var: &str, value: &str) -> Result<Node, Box<Problem>> {
    let origin = Origin::Env(var.to_string());
    let loc = Location::Env {
        var: var.to_string(),
    };
    let syntax = |message: String| {
        Box::new(Problem {
            location: loc.clone(),
            path: String::new(),
            kind: ProblemKind::Syntax { message },
        })
    };
    match node::parse(value, &origin) {
        Ok((node, problems)) => match problems.into_iter().next() {
            Some(p) => Err(Box::new(p)),
            None if value.trim().is_empty() => Ok(Node::null(loc.clone())),
            None => Ok(node),
        },
        Err(ConfigError::Syntax { message, .. }) => Err(syntax(message)),
        Err(other) => Err(syntax(other.to_string())),
    }
}
