//! Query and path parameters: parsing the raw query string (repeatable keys, unknown keys
//! refused), validating container ids, kinds, numbers and globs, and selecting containers and
//! events with what was asked. Every refusal is a 400 naming the parameter.

use super::error::ApiError;
use crate::{event::ContainerRef, event::Event, runtime::ContainerRuntime};

/// The longest container id or key accepted (a runtime label, `/`, a 255-byte name).
pub const MAX_ID_LEN: usize = 320;

/// A parsed query string.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `raw` (percent-decoded); a key outside `allowed` is a 400 naming it.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Some((key, _)) = pairs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            let expected = if allowed.is_empty() {
                "this route takes no query parameters".to_string()
            } else {
                format!("expected one of {}", allowed.join(", "))
            };
            return Err(ApiError::parameter(key, format!("unknown; {expected}")));
        }
        Ok(Self(pairs))
    }

    /// Every value of `key`, comma lists split, empty items dropped.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The one value of `key`; given twice is a 400.
    pub fn single(&self, key: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v);
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::parameter(key, "given more than once"));
        }
        Ok(first.map(String::as_str))
    }

    /// The one value of `key` as a number.
    pub fn number(&self, key: &str) -> Result<Option<u64>, ApiError> {
        self.single(key)?.map(|v| parse_number(key, v)).transpose()
    }
}

pub fn parse_number(key: &str, value: &str) -> Result<u64, ApiError> {
    value
        .trim()
        .parse::<u64>()
        .map_err(|_| ApiError::parameter(key, format!("{value:?} is not a non-negative integer")))
}

/// A container id (`<64 hex>`, a prefix of one, an LXC or nspawn name) or key
/// (`docker/<id>`): ASCII letters, digits and `._:@+=-`, one `/` between runtime and id.
pub fn check_container_id(key: &str, value: &str) -> Result<(), ApiError> {
    if value.is_empty() {
        return Err(ApiError::parameter(key, "empty container id"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(ApiError::parameter(
            key,
            format!("container id longer than {MAX_ID_LEN} bytes"),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._:@+=-/".contains(*c)))
    {
        return Err(ApiError::parameter(
            key,
            format!(
                "character {bad:?} is not allowed in a container id (letters, digits, ._:@+=- and runtime/id)"
            ),
        ));
    }
    let parts: Vec<&str> = value.split('/').collect();
    if parts.len() > 2
        || parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(ApiError::parameter(key, "expected <id> or <runtime>/<id>"));
    }
    Ok(())
}

/// Which containers a parameter selects: `runtime/id` exactly, or an id or id prefix.
#[derive(Debug, Clone)]
pub struct ContainerSelector(String);

impl ContainerSelector {
    pub fn parse(key: &str, value: &str) -> Result<Self, ApiError> {
        check_container_id(key, value)?;
        Ok(Self(value.to_string()))
    }

    pub fn matches(&self, runtime: &ContainerRuntime, id: &str) -> bool {
        match self.0.split_once('/') {
            Some((rt, want)) => rt == runtime.as_str() && id == want,
            None => id.starts_with(&self.0),
        }
    }

    pub fn matches_ref(&self, c: &ContainerRef) -> bool {
        self.matches(&c.runtime, &c.id)
    }

    pub fn matches_event(&self, event: &Event) -> bool {
        event.body.container().is_some_and(|c| self.matches_ref(c))
    }
}

/// Event kinds asked for: exact names, or a family with `.*` (`cgroup.*`). Empty: all.
#[derive(Debug, Clone, Default)]
pub struct KindFilter(Vec<String>);

impl KindFilter {
    pub fn parse(key: &str, values: &[&str]) -> Result<Self, ApiError> {
        let mut kinds = Vec::new();
        for value in values {
            let name = value.strip_suffix(".*").unwrap_or(value);
            let ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
            if !ok {
                return Err(ApiError::parameter(
                    key,
                    format!(
                        "{value:?} is not an event kind (e.g. cgroup.mkdir, or cgroup.* for a family)"
                    ),
                ));
            }
            kinds.push((*value).to_string());
        }
        Ok(Self(kinds))
    }

    pub fn matches(&self, kind: &str) -> bool {
        self.0.is_empty()
            || self.0.iter().any(|k| match k.strip_suffix(".*") {
                Some(family) => kind
                    .strip_prefix(family)
                    .is_some_and(|rest| rest.starts_with('.')),
                None => k == kind,
            })
    }
}

/// A shell glob (`web-*`, `db?`, `[ab]*`); a syntax error is a 400 naming the parameter.
pub fn parse_glob(key: &str, value: &str) -> Result<crate::config::Glob, ApiError> {
    crate::config::Glob::new(value)
        .map_err(|e| ApiError::parameter(key, format!("invalid glob {value:?}: {e}")))
}

/// A runtime name as the API prints it (`docker`, `podman`, `cri-o`, ...).
pub fn parse_runtime(key: &str, value: &str) -> Result<ContainerRuntime, ApiError> {
    value
        .parse::<ContainerRuntime>()
        .map_err(|e| ApiError::parameter(key, e))
}

/// A pod uid (dashes or systemd's underscores).
pub fn parse_pod(key: &str, value: &str) -> Result<String, ApiError> {
    crate::runtime::normalize_pod_uid(value).ok_or_else(|| {
        ApiError::parameter(
            key,
            format!("{value:?} is not a pod uid (hex digits and dashes)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_repeated_parameters_are_named() {
        let err = Query::parse(Some("kinds=x"), &["kind"]).unwrap_err();
        assert!(err.message.contains("`kinds`"), "{err}");
        let q = Query::parse(Some("kind=a,b&kind=c&since=1&since=2"), &["kind", "since"]).unwrap();
        assert_eq!(q.list("kind"), vec!["a", "b", "c"]);
        assert!(q.number("since").unwrap_err().message.contains("`since`"));
    }

    #[test]
    fn container_ids_are_checked() {
        for ok in ["abc123", "docker/abc", "my-ct_1.2", "a:b@c"] {
            check_container_id("id", ok).unwrap();
        }
        for bad in ["", "a b", "a/b/c", "../x", "x;y", "/abc", "a%2Fb"] {
            assert!(check_container_id("id", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kind_families_and_selectors_match() {
        let f = KindFilter::parse("kind", &["cgroup.*", "agent.started"]).unwrap();
        assert!(f.matches("cgroup.mkdir"));
        assert!(f.matches("agent.started"));
        assert!(!f.matches("cgroupx.mkdir"));
        assert!(!f.matches("container.added"));
        assert!(KindFilter::parse("kind", &["Bad Kind"]).is_err());
        let s = ContainerSelector::parse("container", "docker/abc").unwrap();
        assert!(s.matches(&ContainerRuntime::Docker, "abc"));
        assert!(!s.matches(&ContainerRuntime::Podman, "abc"));
        let p = ContainerSelector::parse("container", "ab").unwrap();
        assert!(p.matches(&ContainerRuntime::Podman, "abc"));
    }

    #[test]
    fn bad_globs_name_the_parameter() {
        let err = parse_glob("name", "web[").unwrap_err();
        assert!(err.message.starts_with("parameter `name`"), "{err}");
        assert!(parse_glob("name", "web-*").unwrap().matches("web-1"));
    }
}
