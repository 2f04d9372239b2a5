//! Parsing `/proc/cgroups`: each controller's kernel hierarchy id, cgroup count and enabled flag.

use serde::{Deserialize, Serialize};

use super::error::ParseError;

/// One row of `/proc/cgroups` (`#subsys_name hierarchy num_cgroups enabled`).
///
/// `hierarchy_id` is 0 for a controller bound to cgroup v2 or not mounted at all. Named v1
/// hierarchies (`name=systemd`) have no controller and so no row here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subsystem {
    pub name: String,
    pub hierarchy_id: u32,
    pub num_cgroups: u64,
    pub enabled: bool,
}

/// Parses `/proc/cgroups`. Comment lines (`#...`) and blank lines are skipped.
pub fn parse_proc_cgroups(text: &str) -> Result<Vec<Subsystem>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.split_ascii_whitespace().collect();
        let [name, hierarchy, num, enabled] = fields[..] else {
            return Err(ParseError::malformed(line_no, "expected 4 fields", line));
        };
        let number = |s: &str| s.parse::<u64>().map_err(|_| ParseError::number(s));
        let hierarchy_id = hierarchy
            .parse::<u32>()
            .map_err(|_| ParseError::number(hierarchy))?;
        let enabled = match enabled {
            "0" => false,
            "1" => true,
            other => return Err(ParseError::number(other)),
        };
        out.push(Subsystem {
            name: name.to_string(),
            hierarchy_id,
            num_cgroups: number(num)?,
            enabled,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_this_hosts_proc_cgroups() {
        let text = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n\
                    cpuset\t3\t1\t1\ncpu\t1\t1\t1\nmemory\t4\t23\t1\nnet_cls\t0\t1\t1\n";
        let rows = parse_proc_cgroups(text).expect("valid");
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[2],
            Subsystem {
                name: "memory".into(),
                hierarchy_id: 4,
                num_cgroups: 23,
                enabled: true
            }
        );
        assert_eq!(rows[3].hierarchy_id, 0);
    }

    #[test]
    fn rejects_bad_rows() {
        assert!(parse_proc_cgroups("cpu 1 1").is_err());
        assert!(parse_proc_cgroups("cpu x 1 1").is_err());
        assert!(parse_proc_cgroups("cpu 1 1 2").is_err());
        assert_eq!(parse_proc_cgroups("").map(|v| v.len()), Ok(0));
    }
}
