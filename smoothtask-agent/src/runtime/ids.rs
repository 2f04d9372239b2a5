//! What an id looks like: full 64-hex container ids, containerd ids, pod uids, container names,
//! and the decoding of systemd unit-name escapes (`\x2d`).

/// A full container id as docker, podman, containerd's CRI plugin and CRI-O make them: exactly
/// 64 lowercase hex digits.
pub fn is_full_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An id containerd accepts (`ctr run ... <id>`): 1 to 76 characters of ASCII letters and digits,
/// with single `.`, `_` or `-` between them (containerd's identifiers rule).
pub fn is_containerd_id(s: &str) -> bool {
    if s.is_empty() || s.len() > 76 {
        return false;
    }
    let bytes = s.as_bytes();
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut previous_was_separator = false;
    for &b in bytes {
        if alnum(b) {
            previous_was_separator = false;
        } else if matches!(b, b'.' | b'_' | b'-') && !previous_was_separator {
            previous_was_separator = true;
        } else {
            return false;
        }
    }
    true
}

/// A Kubernetes pod uid in dashed form, from either the dashed form (cgroupfs driver, kubelet's
/// pods directory) or the underscored form of systemd slice names.
///
/// Pod uids are UUIDs (36 characters) or, for static pods, a 32-hex hash; accepted are 8 to 64
/// characters of hex digits and dashes. Anything else is `None`.
pub fn normalize_pod_uid(raw: &str) -> Option<String> {
    let uid = raw.replace('_', "-");
    let ok = (8..=64).contains(&uid.len())
        && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        && uid.bytes().any(|b| b.is_ascii_hexdigit());
    ok.then_some(uid)
}

/// A container name as LXC and machined allow in a cgroup component: non-empty, at most 255
/// bytes, no `/`, no control characters, and not `.` or `..`.
pub fn is_container_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s != "."
        && s != ".."
        && !s.chars().any(|c| c == '/' || c.is_control())
}

/// Decodes systemd's unit-name escapes (`\xNN`, e.g. `\x2d` for `-`). Malformed escapes stay as
/// they are; bytes that do not form UTF-8 become U+FFFD.
pub fn decode_systemd_escapes(s: &str) -> String {
    if !s.contains("\\x") {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'x') {
            let hex = bytes
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(value) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(value);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";

    #[test]
    fn full_ids_are_64_lowercase_hex() {
        assert!(is_full_id(ID));
        assert!(!is_full_id(&ID[..63]));
        assert!(!is_full_id(&ID.to_uppercase()));
        assert!(!is_full_id(&format!("{}g", &ID[..63])));
        assert!(!is_full_id(""));
    }

    #[test]
    fn containerd_ids_follow_containerds_rule() {
        for ok in ["c1", "redis", "my-app.v2", "a_b", ID] {
            assert!(is_containerd_id(ok), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "a..b",
            "a b",
            "a/b",
            &"x".repeat(77),
        ] {
            assert!(!is_containerd_id(bad), "{bad}");
        }
    }

    #[test]
    fn pod_uids_normalize_to_dashes() {
        assert_eq!(
            normalize_pod_uid("5d2a6e9c_7b1f_4c3a_9e8d_0f1a2b3c4d5e").as_deref(),
            Some("5d2a6e9c-7b1f-4c3a-9e8d-0f1a2b3c4d5e")
        );
        assert_eq!(
            normalize_pod_uid("0b3d3b6c9a1e4f7d8c2b5a6e9f0d1c3b").as_deref(),
            Some("0b3d3b6c9a1e4f7d8c2b5a6e9f0d1c3b")
        );
        assert_eq!(normalize_pod_uid("man"), None);
        assert_eq!(normalize_pod_uid("--------"), None);
        assert_eq!(normalize_pod_uid("zzzzzzzz-zzzz"), None);
    }

    #[test]
    fn systemd_escapes_decode() {
        assert_eq!(decode_systemd_escapes(r"my\x2dbox"), "my-box");
        assert_eq!(decode_systemd_escapes(r"a\x20b\x2d"), "a b-");
        assert_eq!(decode_systemd_escapes(r"bad\xZZ"), r"bad\xZZ");
        assert_eq!(decode_systemd_escapes(r"cut\x2"), r"cut\x2");
        assert_eq!(decode_systemd_escapes(r"\xff"), "\u{fffd}");
        assert_eq!(decode_systemd_escapes("plain"), "plain");
    }

    #[test]
    fn names_refuse_slashes_and_dots() {
        assert!(is_container_name("c1"));
        assert!(is_container_name("web-01.prod"));
        for bad in ["", ".", "..", "a/b", "a\nb"] {
            assert!(!is_container_name(bad), "{bad:?}");
        }
    }
}
