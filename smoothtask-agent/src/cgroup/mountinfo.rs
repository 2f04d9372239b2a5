//! Parsing `/proc/<pid>/mountinfo` lines (see proc(5)), with octal escapes such as `\040` decoded.

use std::{ffi::OsString, os::unix::ffi::OsStringExt, path::PathBuf};

use super::error::ParseError;

/// One line of mountinfo:
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfoEntry {
    pub mount_id: u32,
    pub parent_id: u32,
    /// `major:minor` of the filesystem; all mounts of one cgroup hierarchy share it.
    pub major: u32,
    pub minor: u32,
    /// The root of the mount within its filesystem (`/docker/<id>` inside a container), decoded.
    pub root: String,
    /// Where it is mounted, decoded (kept as raw bytes: mount points need not be UTF-8).
    pub mount_point: PathBuf,
    /// Per-mount options (`rw,nosuid,...`).
    pub mount_options: String,
    /// Optional fields before the `-` separator (`shared:1`, `master:2`, ...).
    pub optional_fields: Vec<String>,
    pub fs_type: String,
    /// The mount source, decoded.
    pub source: String,
    /// Per-superblock options; for cgroup v1 they name the controllers (`rw,cpu,cpuacct`).
    pub super_options: String,
}

/// Decodes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134`
/// backslash). A backslash not followed by three octal digits is kept as is.
pub fn unescape_octal(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn unescape_string(field: &str) -> String {
    String::from_utf8_lossy(&unescape_octal(field)).into_owned()
}

/// Parses one mountinfo line; `line_no` (1-based) goes into errors.
pub fn parse_mountinfo_line(line: &str, line_no: usize) -> Result<MountInfoEntry, ParseError> {
    let mut fields = line.split_ascii_whitespace();
    let mut next = |what: &'static str| {
        fields
            .next()
            .ok_or_else(|| ParseError::malformed(line_no, what, line))
    };
    let number = |text: &str| {
        text.parse::<u32>()
            .map_err(|_| ParseError::malformed(line_no, "invalid number", line))
    };
    let mount_id = number(next("missing mount id")?)?;
    let parent_id = number(next("missing parent id")?)?;
    let dev = next("missing major:minor")?;
    let (major, minor) = dev
        .split_once(':')
        .ok_or_else(|| ParseError::malformed(line_no, "major:minor without ':'", line))?;
    let (major, minor) = (number(major)?, number(minor)?);
    let root = unescape_string(next("missing root")?);
    let mount_point = PathBuf::from(OsString::from_vec(unescape_octal(next(
        "missing mount point",
    )?)));
    let mount_options = next("missing mount options")?.to_string();
    let mut optional_fields = Vec::new();
    loop {
        let field = next("missing '-' separator")?;
        if field == "-" {
            break;
        }
        optional_fields.push(field.to_string());
    }
    let fs_type = next("missing filesystem type")?.to_string();
    let source = unescape_string(next("missing mount source")?);
    // Super options may be absent on very old kernels; treat that as empty.
    let super_options = fields.next().unwrap_or("").to_string();
    Ok(MountInfoEntry {
        mount_id,
        parent_id,
        major,
        minor,
        root,
        mount_point,
        mount_options,
        optional_fields,
        fs_type,
        source,
        super_options,
    })
}

/// Parses every non-empty line; a malformed line is returned as an error in its place so
/// callers can skip it and report it.
pub fn parse_mountinfo(text: &str) -> Vec<Result<MountInfoEntry, ParseError>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| parse_mountinfo_line(line, i + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_cgroup_v1_line() {
        let e = parse_mountinfo_line(
            "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
            1,
        )
        .expect("valid line");
        assert_eq!((e.mount_id, e.parent_id, e.major, e.minor), (32, 31, 0, 29));
        assert_eq!(e.root, "/");
        assert_eq!(e.mount_point, PathBuf::from("/sys/fs/cgroup/cpu"));
        assert!(e.optional_fields.is_empty());
        assert_eq!(e.fs_type, "cgroup");
        assert_eq!(e.super_options, "rw,cpu");
    }

    #[test]
    fn keeps_optional_fields_and_decodes_escapes() {
        let e = parse_mountinfo_line(
            "1 2 0:5 /docker/a\\040b /mnt/with\\040space\\134x rw shared:1 master:2 - cgroup2 my\\011src rw,nsdelegate",
            3,
        )
        .expect("valid line");
        assert_eq!(e.root, "/docker/a b");
        assert_eq!(e.mount_point, PathBuf::from("/mnt/with space\\x"));
        assert_eq!(e.optional_fields, vec!["shared:1", "master:2"]);
        assert_eq!(e.source, "my\tsrc");
        assert_eq!(e.super_options, "rw,nsdelegate");
    }

    #[test]
    fn unescape_leaves_odd_backslashes() {
        assert_eq!(unescape_octal("a\\0"), b"a\\0".to_vec());
        assert_eq!(unescape_octal("\\999"), b"\\999".to_vec());
        assert_eq!(unescape_octal("\\777"), b"\\777".to_vec());
        assert_eq!(unescape_octal("x\\012"), b"x\n".to_vec());
        assert_eq!(unescape_octal("\\"), b"\\".to_vec());
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(parse_mountinfo_line("32 31 0:29 / /x rw cgroup cgroup rw", 1).is_err());
        assert!(parse_mountinfo_line("x 31 0:29 / /x rw - cgroup cgroup rw", 1).is_err());
        assert!(parse_mountinfo_line("32 31 029 / /x rw - cgroup cgroup rw", 1).is_err());
        assert!(parse_mountinfo_line("32", 1).is_err());
        let all = parse_mountinfo("\n1 2 0:1 / / rw - ext4 /dev/x rw\ngarbage\n");
        assert_eq!(all.len(), 2);
        assert!(all[0].is_ok());
        assert!(matches!(all[1], Err(ParseError::Malformed { line: 3, .. })));
    }
}
