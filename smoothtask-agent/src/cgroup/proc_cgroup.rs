//! Parsing `/proc/<pid>/cgroup`: which cgroup a process is in, per hierarchy.

use serde::{Deserialize, Serialize};

use super::error::ParseError;

/// One line of `/proc/<pid>/cgroup`: `4:memory:/docker/<id>`, `1:cpu,cpuacct:/x`,
/// `9:name=systemd:/user.slice`, or the v2 line `0::/system.slice/docker-<id>.scope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcCgroupEntry {
    /// Kernel hierarchy id; 0 for cgroup v2.
    pub hierarchy_id: u32,
    /// Controllers bound to the hierarchy (empty for v2 and for a purely named hierarchy).
    pub controllers: Vec<String>,
    /// The `name=` of a named v1 hierarchy (`systemd` for `name=systemd`).
    pub name: Option<String>,
    /// The cgroup path, relative to the reader's cgroup namespace root.
    pub path: String,
    /// The kernel appended ` (deleted)`: the v2 cgroup has been removed.
    pub deleted: bool,
}

impl ProcCgroupEntry {
    /// True for the cgroup v2 line (`0::/path`).
    pub fn is_v2(&self) -> bool {
        self.hierarchy_id == 0 && self.controllers.is_empty() && self.name.is_none()
    }
}

/// Splits a v1 controller list (`cpu,cpuacct`, `name=systemd`, `cpu,name=x`) into controllers
/// and the hierarchy name.
pub(crate) fn split_controllers<'a>(
    items: impl Iterator<Item = &'a str>,
) -> (Vec<String>, Option<String>) {
    let mut controllers = Vec::new();
    let mut name = None;
    for item in items.filter(|s| !s.is_empty()) {
        match item.strip_prefix("name=") {
            Some(n) => name = Some(n.to_string()),
            None => controllers.push(item.to_string()),
        }
    }
    (controllers, name)
}

/// Parses one line; `line_no` (1-based) goes into errors.
pub fn parse_proc_cgroup_line(line: &str, line_no: usize) -> Result<ProcCgroupEntry, ParseError> {
    // The path is everything after the second ':' and may itself contain ':'.
    let mut parts = line.splitn(3, ':');
    let (Some(id), Some(list), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ParseError::malformed(
            line_no,
            "expected id:controllers:path",
            line,
        ));
    };
    let hierarchy_id = id.parse::<u32>().map_err(|_| ParseError::number(id))?;
    if !path.starts_with('/') {
        return Err(ParseError::malformed(line_no, "path is not absolute", line));
    }
    let (path, deleted) = match path.strip_suffix(" (deleted)") {
        Some(p) => (p, true),
        None => (path, false),
    };
    let (controllers, name) = split_controllers(list.split(','));
    Ok(ProcCgroupEntry {
        hierarchy_id,
        controllers,
        name,
        path: path.to_string(),
        deleted,
    })
}

/// Parses the whole file; blank lines are skipped, any malformed line is an error.
pub fn parse_proc_cgroup(text: &str) -> Result<Vec<ProcCgroupEntry>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| parse_proc_cgroup_line(line.trim_end(), i + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_v2_and_named_lines() {
        let text = "9:name=systemd:/\n4:memory:/process_api/650605b195430586f8ab761c15b97b6e\n\
                    1:cpu,cpuacct:/docker/abc\n0::/\n";
        let e = parse_proc_cgroup(text).expect("valid");
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].name.as_deref(), Some("systemd"));
        assert!(e[0].controllers.is_empty());
        assert_eq!(e[1].controllers, vec!["memory"]);
        assert_eq!(e[1].path, "/process_api/650605b195430586f8ab761c15b97b6e");
        assert_eq!(e[2].controllers, vec!["cpu", "cpuacct"]);
        assert!(e[3].is_v2());
        assert!(!e[0].is_v2());
    }

    #[test]
    fn keeps_colons_in_paths_and_marks_deleted() {
        let e = parse_proc_cgroup_line("0::/a:b/c (deleted)", 1).expect("valid");
        assert_eq!(e.path, "/a:b/c");
        assert!(e.deleted);
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(parse_proc_cgroup("memory:/x").is_err());
        assert!(parse_proc_cgroup("x:memory:/x").is_err());
        assert!(parse_proc_cgroup("1:memory:relative").is_err());
    }
}
