//! Evidence from the environment and marker files: the overrides (`CONTAINER_TYPE`,
//! `DOCKER_CONTAINER`, `PODMAN_CONTAINER`), container managers' declarations (`container=` of PID 1
//! and of self, `/run/systemd/container`, `/run/host/container-manager`) and the runtimes' marker
//! files (`/run/.containerenv`, `/.containerenv`, `/.dockerenv`).

use crate::{
    host::HostRoot,
    runtime::{ContainerRuntime, is_full_id},
};

use super::{
    evidence::{Clue, Tier},
    read,
};

/// A value quoted for a finding: at most 64 characters, escaped.
pub(super) fn shown(value: &str) -> String {
    let cut: String = value.chars().take(64).collect();
    let quoted = format!("{cut:?}");
    if value.chars().count() > 64 {
        format!("{quoted}...")
    } else {
        quoted
    }
}

/// `CONTAINER_TYPE`, then `DOCKER_CONTAINER`, then `PODMAN_CONTAINER`.
pub(super) fn overrides(host: &HostRoot) -> Vec<Clue> {
    let mut clues = Vec::new();
    if let Some(value) = host.env_var("CONTAINER_TYPE") {
        let source = "env:CONTAINER_TYPE";
        clues.push(match value.parse::<ContainerRuntime>() {
            Ok(runtime) => Clue::new(
                Tier::Override,
                source,
                format!("override: runtime {}", runtime.as_str()),
                Some(runtime),
            ),
            Err(error) => Clue::new(Tier::Info, source, format!("ignored: {error}"), None),
        });
    }
    for (name, runtime) in [
        ("DOCKER_CONTAINER", ContainerRuntime::Docker),
        ("PODMAN_CONTAINER", ContainerRuntime::Podman),
    ] {
        let Some(value) = host.env_var(name) else {
            continue;
        };
        let source = format!("env:{name}");
        let clue = match flag(value) {
            Some(true) => Clue::new(
                Tier::Override,
                source,
                format!("override: runtime {}", runtime.as_str()),
                Some(runtime),
            ),
            Some(false) => Clue::new(
                Tier::Info,
                source,
                format!("{} is false: no override", shown(value)),
                None,
            ),
            None => Clue::new(
                Tier::Info,
                source,
                format!("ignored: {} is not a boolean", shown(value)),
                None,
            ),
        };
        clues.push(clue);
    }
    clues
}

/// `1/true/yes/on` or `0/false/no/off/` (empty), ignoring case.
fn flag(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "no" | "n" | "off" | "" => Some(false),
        _ => None,
    }
}

/// A declaration's value turned into a clue; unparsable values are recorded and ignored.
fn declared(source: &str, what: &str, value: &str) -> Clue {
    match value.parse::<ContainerRuntime>() {
        Ok(ContainerRuntime::None) => Clue::new(
            Tier::Info,
            source,
            format!("{what}none: no container declared"),
            None,
        ),
        Ok(runtime) => Clue::new(
            Tier::Declared,
            source,
            format!("{what}{}", runtime.as_str()),
            Some(runtime),
        ),
        Err(error) => Clue::new(
            Tier::Info,
            source,
            format!("ignored {what}{}: {error}", shown(value)),
            None,
        ),
    }
}

/// `container=` of PID 1 and of self, `/run/systemd/container`, `/run/host/container-manager`.
pub(super) fn declarations(host: &HostRoot) -> Vec<Clue> {
    let mut clues = Vec::new();
    if let Some(environ) = read::read_bytes(&host.proc_path("1/environ"), read::SMALL)
        && let Some(value) = environ_var(&environ, "container")
    {
        clues.push(declared("/proc/1/environ", "container=", &value));
    }
    if let Some(value) = host.env_var("container") {
        clues.push(declared("env:container", "container=", value));
    }
    for (path, source) in [
        (host.run_path("systemd/container"), "/run/systemd/container"),
        (
            host.run_path("host/container-manager"),
            "/run/host/container-manager",
        ),
    ] {
        if let Some(value) = read::read_value(&path) {
            clues.push(declared(source, "", &value));
        }
    }
    clues
}

/// The value of `name` in a NUL-separated environment block; the last one wins, as in getenv.
pub(super) fn environ_var(environ: &[u8], name: &str) -> Option<String> {
    environ
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (key, value) = entry.split_once('=')?;
            (key == name).then(|| value.to_string())
        })
        .next_back()
}

/// `/run/.containerenv`, `/.containerenv`, `/.dockerenv`.
pub(super) fn marker_files(host: &HostRoot) -> Vec<Clue> {
    let mut clues = Vec::new();
    for (path, source) in [
        (host.run_path(".containerenv"), "/run/.containerenv"),
        (host.root_path("/.containerenv"), "/.containerenv"),
    ] {
        if read::exists(&path) {
            let text = read::read_text(&path, read::SMALL).unwrap_or_default();
            clues.push(containerenv(source, &text));
        }
    }
    if read::exists(&host.root_path("/.dockerenv")) {
        clues.push(Clue::new(
            Tier::Weak,
            "/.dockerenv",
            "present (docker's marker file)",
            Some(ContainerRuntime::Docker),
        ));
    }
    clues
}

/// Podman's marker: empty, or `key="value"` lines (`engine`, `name`, `id`, `image`, ...) when the
/// container is privileged. CRI-O and buildah write it too, saying so in `engine`; an engine that
/// is not a runtime name leaves it podman's.
fn containerenv(source: &str, text: &str) -> Clue {
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
    };
    let engine = field("engine");
    let runtime = match engine.as_deref().map(str::to_ascii_lowercase) {
        None => ContainerRuntime::Podman,
        Some(e) if e.starts_with("podman") => ContainerRuntime::Podman,
        Some(e) if e.starts_with("cri-o") || e.starts_with("crio") => ContainerRuntime::CriO,
        Some(e) => {
            let label = e.split('-').next().unwrap_or_default();
            label.parse().unwrap_or(ContainerRuntime::Podman)
        }
    };
    let mut finding = format!("present ({} marker file)", runtime.as_str());
    for (key, value) in [("engine", &engine), ("name", &field("name"))] {
        if let Some(value) = value {
            finding.push_str(&format!(", {key}={}", shown(value)));
        }
    }
    let id = field("id").filter(|id| is_full_id(id));
    if let Some(id) = &id {
        finding.push_str(&format!(", id={id}"));
    }
    let clue = Clue::new(Tier::Weak, source, finding, Some(runtime));
    match id {
        Some(id) => clue.with_id(id),
        None => clue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";

    #[test]
    fn environ_blocks_parse_with_garbage() {
        let block = b"PATH=/bin\0container=podman\0\xff\xfe\0=x\0HOME=/root";
        assert_eq!(environ_var(block, "container").as_deref(), Some("podman"));
        assert_eq!(environ_var(block, "HOME").as_deref(), Some("/root"));
        assert_eq!(environ_var(b"", "container"), None);
        assert_eq!(environ_var(b"\0\0\0", "container"), None);
        assert_eq!(
            environ_var(b"container=a\0container=b", "container").as_deref(),
            Some("b")
        );
    }

    #[test]
    fn containerenv_fields() {
        let text = format!(
            "engine=\"podman-4.3.1\"\nname=\"web\"\nid=\"{ID}\"\nimage=\"x\"\nrootless=0\n"
        );
        let clue = containerenv("/run/.containerenv", &text);
        assert_eq!(clue.runtime(), Some(&ContainerRuntime::Podman));
        assert_eq!(clue.id.as_deref(), Some(ID));
        assert!(clue.evidence.finding.contains("name=\"web\""));
        let empty = containerenv("/run/.containerenv", "");
        assert_eq!(empty.runtime(), Some(&ContainerRuntime::Podman));
        assert_eq!(empty.id, None);
        let crio = containerenv("/run/.containerenv", "engine=\"cri-o\"\nid=\"short\"\n");
        assert_eq!(crio.runtime(), Some(&ContainerRuntime::CriO));
        assert_eq!(crio.id, None);
        let buildah = containerenv("/run/.containerenv", "engine=\"buildah-1.28\"\n");
        assert_eq!(
            buildah.runtime(),
            Some(&ContainerRuntime::Unknown("buildah".into()))
        );
    }

    #[test]
    fn overrides_parse_and_refuse_garbage() {
        let host = HostRoot::at("/nonexistent").with_env([
            ("CONTAINER_TYPE", "CRI-O"),
            ("DOCKER_CONTAINER", "false"),
            ("PODMAN_CONTAINER", "maybe"),
        ]);
        let clues = overrides(&host);
        assert_eq!(clues.len(), 3);
        assert_eq!(clues[0].tier, Tier::Override);
        assert_eq!(clues[0].runtime(), Some(&ContainerRuntime::CriO));
        assert_eq!(clues[1].tier, Tier::Info);
        assert_eq!(clues[2].tier, Tier::Info);
        let bad = HostRoot::at("/nonexistent").with_env([("CONTAINER_TYPE", "a b")]);
        assert_eq!(overrides(&bad)[0].tier, Tier::Info);
        let none = HostRoot::at("/nonexistent").with_env([("CONTAINER_TYPE", "none")]);
        assert_eq!(overrides(&none)[0].runtime(), Some(&ContainerRuntime::None));
    }

    #[test]
    fn shown_values_are_escaped_and_cut() {
        assert_eq!(shown("a\u{0}b"), "\"a\\0b\"");
        assert!(shown(&"x".repeat(100)).ends_with("\"..."));
    }
}
