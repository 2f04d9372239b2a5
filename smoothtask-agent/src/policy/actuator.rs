//! The actuator: turns an engine [`Action`] into a cgroup file write (enforce) or into what it
//! would write (observe). Safety rules, enforced here whatever the engine decides:
//!
//! * only containers the inventory holds (the caller passes the record; no record, no write);
//! * never the agent's own cgroup, nor one of its ancestors;
//! * the file's original content is journalled durably before the first write to it;
//! * a failed write is reported, never fatal; permission problems are flagged for one alert.

use std::{
    io,
    path::{Path, PathBuf},
};

use crate::{
    cgroup::{
        Hierarchies, HierarchyRef, V1_UNLIMITED_THRESHOLD, kernel_shares_to_weight,
        parse_proc_cgroup,
    },
    host::HostRoot,
    inventory::ContainerRecord,
    policy::{
        Action, Baseline, Knob, UNLIMITED,
        journal::{Journal, JournalError, Restored, is_vanished, write_value},
        weight_to_v1_shares,
    },
};

/// How a knob is spelled in its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spelling {
    /// v2 `cpu.weight`.
    Weight,
    /// v1 `cpu.shares` (converted from a weight).
    Shares,
    /// v2 memory files: bytes, `max` for no limit.
    V2Bytes,
    /// v1 `memory.soft_limit_in_bytes`: bytes, `-1` for no limit.
    V1Bytes,
}

/// A knob's file for one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub file: PathBuf,
    spelling: Spelling,
}

/// What applying an action gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The file, when it could be resolved.
    pub file: Option<PathBuf>,
    /// Its content before (trimmed), when it could be read.
    pub before: Option<String>,
    /// What was (or, in observe mode, would have been) written.
    pub after: String,
    pub written: bool,
    /// Why nothing was written in enforce mode.
    pub error: Option<String>,
    /// The failure was a permission problem (EACCES, EPERM, EROFS).
    pub permission: bool,
}

/// Writes (or only resolves and reads) cgroup files for the policy.
#[derive(Debug)]
pub struct Actuator {
    host: HostRoot,
    hierarchies: Hierarchies,
    journal: Journal,
    /// The agent's own cgroup directories (one per hierarchy).
    own: Vec<PathBuf>,
}

impl Actuator {
    /// An actuator over `journal`. The agent's own cgroups are read from `/proc/self/cgroup`.
    pub fn new(host: HostRoot, hierarchies: Hierarchies, journal: Journal) -> Actuator {
        let own = own_cgroup_dirs(&host, &hierarchies);
        Actuator {
            host,
            hierarchies,
            journal,
            own,
        }
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Puts every journalled original back (stop, switch to observe).
    pub fn restore_all(&mut self) -> Vec<Restored> {
        self.journal.restore_all()
    }

    /// The file `knob` lives in for `record`, or why there is none.
    pub fn target(&self, record: &ContainerRecord, knob: Knob) -> Result<Target, String> {
        let controller = match knob {
            Knob::CpuWeight => "cpu",
            _ => "memory",
        };
        let h = self
            .hierarchies
            .mount_for_controller(controller)
            .ok_or_else(|| format!("no {controller} controller is mounted"))?;
        let (name, spelling) = match (knob, h.is_v2()) {
            (Knob::CpuWeight, true) => ("cpu.weight", Spelling::Weight),
            (Knob::CpuWeight, false) => ("cpu.shares", Spelling::Shares),
            (Knob::MemorySoftLimit, false) => (knob.file(), Spelling::V1Bytes),
            (Knob::MemorySoftLimit, true) => {
                return Err("memory.soft_limit_in_bytes exists only on cgroup v1".into());
            }
            (_, true) => (knob.file(), Spelling::V2Bytes),
            (_, false) => return Err(format!("{} exists only on cgroup v2", knob.file())),
        };
        let path = record
            .cgroups
            .values()
            .find(|m| Some(m.hierarchy_id) == h.hierarchy_id())
            .map(|m| m.path.as_str())
            .or_else(|| record.cgroup_path())
            .ok_or_else(|| format!("{} has no cgroup in the {controller} hierarchy", record.key))?;
        let dir = h
            .host_fs_path(&self.host, path)
            .ok_or_else(|| format!("{path} is outside the {controller} mount"))?;
        if self.own.iter().any(|own| own.starts_with(&dir)) {
            return Err(format!(
                "{} is the agent's own cgroup (or holds it): never written",
                dir.display()
            ));
        }
        Ok(Target {
            file: dir.join(name),
            spelling,
        })
    }

    /// The container's current knob values, in engine units (the originals the policy relaxes
    /// back to). Knobs whose file cannot be read stay unknown.
    pub fn originals(&self, record: &ContainerRecord) -> Baseline {
        let read = |knob| {
            let target = self.target(record, knob).ok()?;
            let text = std::fs::read_to_string(&target.file).ok()?;
            parse(target.spelling, text.trim())
        };
        Baseline {
            cpu_weight: read(Knob::CpuWeight),
            memory_min: read(Knob::MemoryMin),
            memory_low: read(Knob::MemoryLow),
            memory_soft_limit: read(Knob::MemorySoftLimit),
            memory_high: read(Knob::MemoryHigh),
        }
    }

    /// Applies `action` to `record`'s cgroup: in enforce mode journal the original, then write;
    /// in observe mode only read and render.
    pub fn apply(
        &mut self,
        record: Option<&ContainerRecord>,
        action: &Action,
        enforce: bool,
    ) -> Applied {
        let fail =
            |file: Option<PathBuf>, before, after: String, error: String, permission| Applied {
                file,
                before,
                after,
                written: false,
                error: Some(error),
                permission,
            };
        let Some(record) = record else {
            let after = action.to.to_string();
            return fail(
                None,
                None,
                after,
                format!("{} is not in the inventory", action.key),
                false,
            );
        };
        let target = match self.target(record, action.knob) {
            Ok(t) => t,
            Err(e) => return fail(None, None, action.to.to_string(), e, false),
        };
        let before = match std::fs::read_to_string(&target.file) {
            Ok(text) => text.trim().to_string(),
            Err(e) => {
                let (after, error) = (action.to.to_string(), describe(&target.file, &e));
                return fail(Some(target.file), None, after, error, false);
            }
        };
        let after = self.render(&target, action.to);
        if !enforce {
            return Applied {
                file: Some(target.file),
                before: Some(before),
                after,
                written: false,
                error: None,
                permission: false,
            };
        }
        if let Err(e) = self.journal.record(&target.file, &record.key, &before) {
            let permission =
                matches!(&e, JournalError::Write { source, .. } if is_permission(source));
            return fail(
                Some(target.file),
                Some(before),
                after,
                e.to_string(),
                permission,
            );
        }
        match write_value(&target.file, &after) {
            Ok(()) => Applied {
                file: Some(target.file),
                before: Some(before),
                after,
                written: true,
                error: None,
                permission: false,
            },
            Err(e) => {
                let permission = is_permission(&e);
                let error = describe(&target.file, &e);
                fail(Some(target.file), Some(before), after, error, permission)
            }
        }
    }

    /// The text for `value` in `target`'s file. A value that is the journalled original (in
    /// engine units) is written back exactly as it was, so a conversion never drifts it.
    fn render(&self, target: &Target, value: u64) -> String {
        if let Some(original) = self.journal.original(&target.file)
            && parse(target.spelling, original) == Some(value)
        {
            return original.to_string();
        }
        match (target.spelling, value) {
            (Spelling::Weight, w) => w.to_string(),
            (Spelling::Shares, w) => weight_to_v1_shares(w).to_string(),
            (Spelling::V2Bytes, UNLIMITED) => "max".into(),
            (Spelling::V1Bytes, UNLIMITED) => "-1".into(),
            (Spelling::V2Bytes | Spelling::V1Bytes, bytes) => bytes.to_string(),
        }
    }
}

/// A file's content in engine units.
fn parse(spelling: Spelling, text: &str) -> Option<u64> {
    match spelling {
        Spelling::Weight => text.parse().ok(),
        Spelling::Shares => text.parse().ok().map(kernel_shares_to_weight),
        Spelling::V2Bytes if text == "max" => Some(UNLIMITED),
        Spelling::V1Bytes if text == "-1" => Some(UNLIMITED),
        Spelling::V1Bytes => text.parse::<u64>().ok().map(|v| {
            if v >= V1_UNLIMITED_THRESHOLD {
                UNLIMITED
            } else {
                v
            }
        }),
        Spelling::V2Bytes => text.parse().ok(),
    }
}

fn is_permission(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EACCES | libc::EPERM | libc::EROFS)
    ) || e.kind() == io::ErrorKind::PermissionDenied
}

fn describe(file: &Path, e: &io::Error) -> String {
    if is_vanished(e) {
        format!("{}: the cgroup is gone ({e})", file.display())
    } else {
        format!("{}: {e}", file.display())
    }
}

/// The agent's own cgroup directories, from `/proc/self/cgroup`.
fn own_cgroup_dirs(host: &HostRoot, hierarchies: &Hierarchies) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(host.proc_path("self/cgroup")) else {
        return Vec::new();
    };
    let Ok(entries) = parse_proc_cgroup(&text) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let h: HierarchyRef<'_> = hierarchies.hierarchy_for_entry(e)?;
            h.host_fs_path(host, &e.path)
        })
        .collect()
}

/// Can the agent write the cgroup files the policy needs? `Err` names the read-only mount.
pub fn check_write_access(host: &HostRoot, hierarchies: &Hierarchies) -> Result<(), String> {
    for controller in ["cpu", "memory"] {
        let Some(h) = hierarchies.mount_for_controller(controller) else {
            continue;
        };
        let Some(dir) = h.host_fs_path(host, h.root()) else {
            continue;
        };
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
            continue;
        };
        // SAFETY: a valid NUL-terminated path and a zeroed out-struct.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0 && st.f_flag & libc::ST_RDONLY != 0 {
            return Err(format!(
                "the {controller} cgroup filesystem at {} is mounted read-only",
                dir.display()
            ));
        }
        // SAFETY: as above.
        if unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0 {
            return Err(format!(
                "no write access to the {controller} cgroup filesystem at {}: {}",
                dir.display(),
                io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_spell_values_as_their_hierarchy_does() {
        assert_eq!(parse(Spelling::Shares, "1024"), Some(100));
        assert_eq!(parse(Spelling::Shares, "2048"), Some(200));
        assert_eq!(parse(Spelling::V2Bytes, "max"), Some(UNLIMITED));
        assert_eq!(
            parse(Spelling::V1Bytes, "9223372036854771712"),
            Some(UNLIMITED)
        );
        assert_eq!(parse(Spelling::V1Bytes, "67108864"), Some(64 << 20));
        assert_eq!(parse(Spelling::Weight, "garbage"), None);
    }
}
