//! Evidence from `/proc/<pid>/cgroup`: parsing its lines (v1 `N:controllers:/path`, v2 `0::/path`,
//! hybrid mixes) and naming the container through [`crate::runtime::locate`].

use crate::{host::HostRoot, runtime::locate};

use super::{
    evidence::{Clue, Tier},
    read,
};

/// One line of `/proc/<pid>/cgroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct CgroupLine {
    /// The hierarchy id (`0` for v2).
    pub hierarchy: u32,
    /// `memory`, `cpu,cpuacct`, `name=systemd`, or empty for v2.
    pub controllers: String,
    /// The path, without a ` (deleted)` suffix.
    pub path: String,
}

impl CgroupLine {
    pub fn is_unified(&self) -> bool {
        self.hierarchy == 0 && self.controllers.is_empty()
    }

    pub fn has_controller(&self, name: &str) -> bool {
        self.controllers.split(',').any(|c| c == name)
    }
}

/// The lines that parse; anything else (truncated, garbage) is skipped.
pub(super) fn parse_cgroup_file(text: &str) -> Vec<CgroupLine> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let hierarchy = parts.next()?.parse().ok()?;
            let controllers = parts.next()?.to_string();
            let path = parts.next()?;
            let path = path.strip_suffix(" (deleted)").unwrap_or(path);
            path.starts_with('/').then(|| CgroupLine {
                hierarchy,
                controllers,
                path: path.to_string(),
            })
        })
        .collect()
}

/// The lines in the order they are asked for an identity: v2, then `name=systemd`, then the v1
/// controllers in file order.
fn by_preference(lines: &[CgroupLine]) -> Vec<&CgroupLine> {
    let rank = |line: &CgroupLine| match () {
        _ if line.is_unified() => 0,
        _ if line.has_controller("name=systemd") => 1,
        _ => 2,
    };
    let mut ordered: Vec<&CgroupLine> = lines.iter().collect();
    ordered.sort_by_key(|line| rank(line));
    ordered
}

/// The path that best says where a process is: the v2 path, else `name=systemd`'s, else the
/// first line's.
pub(super) fn preferred_path(lines: &[CgroupLine]) -> Option<&str> {
    by_preference(lines).first().map(|line| line.path.as_str())
}

/// `v1`, `v2` or `hybrid`, from which kinds of lines there are.
pub(super) fn layout(lines: &[CgroupLine]) -> &'static str {
    let unified = lines.iter().any(CgroupLine::is_unified);
    let legacy = lines.iter().any(|line| !line.is_unified());
    match (unified, legacy) {
        (true, true) => "hybrid",
        (true, false) => "v2",
        _ => "v1",
    }
}

/// A path that leaves this process's cgroup namespace (`/../..`): another namespace's cgroup,
/// seen from ours; its components are not names we can trust.
fn leaves_namespace(path: &str) -> bool {
    path.split('/').any(|c| c == "..")
}

/// A host's systemd units: the cgroup of a process on a host that runs systemd.
fn is_host_unit(path: &str) -> bool {
    path == "/init.scope" || path.starts_with("/system.slice/") || path.starts_with("/user.slice/")
}

/// The clue `/proc/<pid>/cgroup` gives (`pid` is `self` or `1`), and the parsed lines.
pub(super) fn cgroup_clue(host: &HostRoot, pid: &str) -> (Option<Clue>, Vec<CgroupLine>) {
    let source = format!("/proc/{pid}/cgroup");
    let Some(text) = read::read_text(&host.proc_path(&format!("{pid}/cgroup")), read::SMALL) else {
        return (None, Vec::new());
    };
    let lines = parse_cgroup_file(&text);
    (clue_from_lines(&source, &lines), lines)
}

/// The clue for parsed lines: the first identity in preference order, else a note of what the
/// paths look like (a host hint when the preferred path is a host systemd unit).
pub(super) fn clue_from_lines(source: &str, lines: &[CgroupLine]) -> Option<Clue> {
    let preferred = by_preference(lines);
    for line in &preferred {
        if leaves_namespace(&line.path) {
            continue;
        }
        let Some(found) = locate(&line.path) else {
            continue;
        };
        let identity = &found.identity;
        let tier = if found.runtime_inferred {
            Tier::Inferred
        } else {
            Tier::Identified
        };
        let mut finding = format!(
            "{} cgroup {}: {} container {}",
            layout(lines),
            line.path,
            identity.runtime.as_str(),
            identity.id
        );
        if let Some(pod) = &identity.pod {
            finding.push_str(&format!(" in Kubernetes pod {} ({})", pod.uid, pod.qos));
        }
        if found.runtime_inferred {
            finding.push_str(" (runtime inferred: a bare id under kubepods)");
        }
        let mut clue = Clue::new(tier, source, finding, Some(identity.runtime.clone()))
            .with_id(identity.id.clone())
            .with_pod(identity.pod.clone());
        clue.cgroup_path = Some(found.cgroup.to_string());
        return Some(clue);
    }
    let first = preferred.first()?;
    if leaves_namespace(&first.path) {
        let finding = format!(
            "cgroup {} is outside this process's cgroup namespace",
            first.path
        );
        return Some(Clue::new(Tier::Info, source, finding, None));
    }
    let plural = if lines.len() == 1 { "" } else { "s" };
    let finding = format!(
        "{} cgroup {}: no container pattern in {} path{plural}",
        layout(lines),
        first.path,
        lines.len()
    );
    let clue = Clue::new(Tier::Info, source, finding, None);
    Some(if is_host_unit(&first.path) {
        let mut clue = clue.host_hint();
        clue.evidence.finding.push_str(" (a host systemd unit)");
        clue
    } else {
        clue
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ContainerRuntime;

    const ID: &str = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";

    #[test]
    fn parses_v1_v2_and_hybrid_lines() {
        let text = "9:name=systemd:/\n4:memory:/process_api/755f\n1:cpu:/\n0::/\n";
        let lines = parse_cgroup_file(text);
        assert_eq!(lines.len(), 4);
        assert_eq!(layout(&lines), "hybrid");
        assert_eq!(preferred_path(&lines), Some("/"));
        assert!(lines[1].has_controller("memory"));
        assert_eq!(layout(&parse_cgroup_file("0::/init.scope\n")), "v2");
        assert_eq!(layout(&parse_cgroup_file("3:cpu,cpuacct:/\n")), "v1");
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let text =
            "garbage\n\u{0}\u{1}\nx:y:/z\n12:memory\n5:pids:relative\n0::/docker/abc (deleted)\n";
        let lines = parse_cgroup_file(text);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].path, "/docker/abc");
        assert!(parse_cgroup_file("").is_empty());
    }

    #[test]
    fn identity_prefers_the_unified_line() {
        let text = format!(
            "4:memory:/other\n1:name=systemd:/system.slice/docker-{ID}.scope\n0::/system.slice/docker-{ID}.scope\n"
        );
        let clue = clue_from_lines("/proc/self/cgroup", &parse_cgroup_file(&text)).unwrap();
        assert_eq!(clue.tier, Tier::Identified);
        assert_eq!(clue.runtime(), Some(&ContainerRuntime::Docker));
        assert_eq!(clue.id.as_deref(), Some(ID));
        assert_eq!(
            clue.cgroup_path,
            Some(format!("/system.slice/docker-{ID}.scope"))
        );
    }

    #[test]
    fn paths_outside_the_namespace_name_nothing() {
        let text = format!("0::/../../kubepods/pod5d2a6e9c-7b1f-4c3a-9e8d-0f1a2b3c4d5e/{ID}\n");
        let clue = clue_from_lines("/proc/1/cgroup", &parse_cgroup_file(&text)).unwrap();
        assert_eq!(clue.tier, Tier::Info);
        assert_eq!(clue.id, None);
    }

    #[test]
    fn host_units_are_hints() {
        let clue = clue_from_lines(
            "/proc/self/cgroup",
            &parse_cgroup_file("0::/user.slice/user-1000.slice/session-2.scope\n"),
        )
        .unwrap();
        assert!(clue.host_hint);
        let clue = clue_from_lines("/proc/self/cgroup", &parse_cgroup_file("0::/\n")).unwrap();
        assert!(!clue.host_hint);
        assert_eq!(clue_from_lines("/proc/self/cgroup", &[]), None);
    }
}
