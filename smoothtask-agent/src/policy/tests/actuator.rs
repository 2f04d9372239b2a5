//! The actuator on a fixture cgroup tree (a temporary directory standing in for /sys and /proc):
//! file resolution per hierarchy, v1 conversions, the journal before the first write, observe
//! mode, and the cgroups it refuses.

use std::{collections::BTreeMap, fs, time::SystemTime};

use super::fixtures::cref;
use crate::{
    cgroup::Hierarchies,
    host::HostRoot,
    inventory::{ContainerRecord, Membership},
    policy::{Action, Actuator, Knob, UNLIMITED, journal::Journal},
};

const HYBRID_MOUNTINFO: &str = "\
32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n\
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
const HYBRID_CGROUPS: &str = "cpu 2 1 1\nmemory 4 1 1\n";
const V2_MOUNTINFO: &str = "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";

struct Fixture {
    dir: tempfile::TempDir,
    actuator: Actuator,
}

impl Fixture {
    /// A host with `files` (relative to the fixture root) and the agent in `/agent`.
    fn new(mountinfo: &str, cgroups: &str, files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        let self_cgroup = dir.path().join("proc/self/cgroup");
        fs::create_dir_all(self_cgroup.parent().unwrap()).unwrap();
        fs::write(self_cgroup, "4:memory:/agent\n2:cpu:/agent\n0::/agent\n").unwrap();
        let host = HostRoot::at(dir.path());
        let journal = Journal::open(&dir.path().join("journal.json")).unwrap();
        let actuator = Actuator::new(
            host,
            Hierarchies::from_mountinfo(mountinfo, cgroups),
            journal,
        );
        Fixture { dir, actuator }
    }

    fn read(&self, path: &str) -> String {
        fs::read_to_string(self.dir.path().join(path)).unwrap()
    }
}

/// A record with `path` in the hierarchies named (`cpu` is id 2, `memory` 4, `unified` 0).
fn record(path: &str, labels: &[&str]) -> ContainerRecord {
    let c = cref("web-1");
    ContainerRecord {
        key: format!("docker/{}", c.id),
        runtime: c.runtime,
        id: c.id,
        name: c.name,
        pod: None,
        cgroups: labels
            .iter()
            .map(|l| {
                let hierarchy_id = match *l {
                    "cpu" => 2,
                    "memory" => 4,
                    _ => 0,
                };
                let m = Membership {
                    hierarchy_id,
                    path: path.into(),
                    cgroup_id: 1,
                };
                (l.to_string(), m)
            })
            .collect::<BTreeMap<_, _>>(),
        pids: Default::default(),
        first_seen: SystemTime::UNIX_EPOCH,
    }
}

fn action(knob: Knob, to: u64) -> Action {
    let c = cref("web-1");
    Action {
        key: format!("docker/{}", c.id),
        container: c,
        class: "lc".into(),
        knob,
        from: None,
        to,
        reason: "test".into(),
        cause_event_id: Some(7),
    }
}

const SHARES: &str = "sys/fs/cgroup/cpu/docker/web/cpu.shares";
const SOFT: &str = "sys/fs/cgroup/memory/docker/web/memory.soft_limit_in_bytes";

#[test]
fn v1_enforce_journals_then_writes_converted_values_and_restores_exactly() {
    let mut f = Fixture::new(
        HYBRID_MOUNTINFO,
        HYBRID_CGROUPS,
        &[(SHARES, "1000\n"), (SOFT, "9223372036854771712\n")],
    );
    let r = record("/docker/web", &["cpu", "memory"]);
    let originals = f.actuator.originals(&r);
    assert_eq!(originals.cpu_weight, Some(98), "1000 shares in weight");
    assert_eq!(originals.memory_soft_limit, Some(UNLIMITED));

    let applied = f
        .actuator
        .apply(Some(&r), &action(Knob::CpuWeight, 400), true);
    assert_eq!(applied.error, None);
    assert!(applied.written);
    assert_eq!(applied.before.as_deref(), Some("1000"));
    assert_eq!(applied.after, "4096");
    assert_eq!(f.read(SHARES), "4096");
    assert_eq!(
        f.actuator.journal().original(&f.dir.path().join(SHARES)),
        Some("1000")
    );
    let on_disk = f.read("journal.json");
    assert!(on_disk.contains("\"1000\""), "{on_disk}");

    let applied = f
        .actuator
        .apply(Some(&r), &action(Knob::MemorySoftLimit, 64 << 20), true);
    assert_eq!(
        (applied.after.as_str(), applied.written),
        ("67108864", true)
    );
    // Relaxing to the original writes the original text, not a round trip through weights.
    let applied = f
        .actuator
        .apply(Some(&r), &action(Knob::CpuWeight, 98), true);
    assert_eq!(applied.after, "1000");
    let applied = f
        .actuator
        .apply(Some(&r), &action(Knob::MemorySoftLimit, UNLIMITED), true);
    assert_eq!(applied.after, "9223372036854771712");

    fs::write(f.dir.path().join(SHARES), "2").unwrap();
    let restored = f.actuator.restore_all();
    assert_eq!(restored.len(), 2);
    assert_eq!(f.read(SHARES), "1000");
    assert!(!f.dir.path().join("journal.json").exists());
}

#[test]
fn observe_reads_and_renders_but_writes_nothing() {
    let mut f = Fixture::new(HYBRID_MOUNTINFO, HYBRID_CGROUPS, &[(SHARES, "1024\n")]);
    let r = record("/docker/web", &["cpu", "memory"]);
    let applied = f
        .actuator
        .apply(Some(&r), &action(Knob::CpuWeight, 10), false);
    assert_eq!(applied.before.as_deref(), Some("1024"));
    assert_eq!((applied.after.as_str(), applied.written), ("102", false));
    assert_eq!(f.read(SHARES), "1024\n", "untouched");
    assert!(f.actuator.journal().is_empty());
    assert!(!f.dir.path().join("journal.json").exists());
}

#[test]
fn v2_files_and_unlimited_spellings() {
    let high = "sys/fs/cgroup/kubepods/pod1/c1/memory.high";
    let weight = "sys/fs/cgroup/kubepods/pod1/c1/cpu.weight";
    let mut f = Fixture::new(V2_MOUNTINFO, "", &[(high, "max\n"), (weight, "100\n")]);
    let r = record("/kubepods/pod1/c1", &["unified"]);
    assert_eq!(f.actuator.originals(&r).memory_high, Some(UNLIMITED));
    let applied = f
        .actuator
        .apply(Some(&r), &action(Knob::MemoryHigh, 1 << 30), true);
    assert_eq!(
        (applied.after.as_str(), applied.written),
        ("1073741824", true)
    );
    let applied = f
        .actuator
        .apply(Some(&r), &action(Knob::MemoryHigh, UNLIMITED), true);
    assert_eq!(applied.after, "max");
    let applied = f
        .actuator
        .apply(Some(&r), &action(Knob::CpuWeight, 250), true);
    assert_eq!(f.read(weight), "250");
    assert!(applied.written);
    let refused = f
        .actuator
        .apply(Some(&r), &action(Knob::MemorySoftLimit, 1), true);
    assert!(refused.error.unwrap().contains("only on cgroup v1"));
}

#[test]
fn refuses_unknown_containers_its_own_cgroup_and_vanished_ones() {
    let own = "sys/fs/cgroup/cpu/agent/cpu.shares";
    let mut f = Fixture::new(HYBRID_MOUNTINFO, HYBRID_CGROUPS, &[(own, "1024")]);
    let a = action(Knob::CpuWeight, 400);
    let none = f.actuator.apply(None, &a, true);
    assert!(none.error.unwrap().contains("not in the inventory"));
    for path in ["/agent", "/"] {
        let applied = f.actuator.apply(Some(&record(path, &["cpu"])), &a, true);
        let error = applied.error.unwrap();
        assert!(error.contains("agent's own cgroup"), "{path}: {error}");
        assert!(!applied.written);
    }
    assert_eq!(f.read(own), "1024");
    let gone = f
        .actuator
        .apply(Some(&record("/docker/gone", &["cpu"])), &a, true);
    assert!(gone.error.unwrap().contains("gone"));
    assert!(
        f.actuator.journal().is_empty(),
        "nothing journalled without a write"
    );
}

#[test]
fn a_journal_that_cannot_be_written_stops_the_write() {
    let mut f = Fixture::new(HYBRID_MOUNTINFO, HYBRID_CGROUPS, &[(SHARES, "1024")]);
    let blocker = f.dir.path().join("blocker");
    let journal = Journal::open(&blocker.join("journal.json")).unwrap();
    // The journal's directory turns out to be a file: the journal cannot be made durable.
    fs::write(&blocker, "").unwrap();
    f.actuator = Actuator::new(
        HostRoot::at(f.dir.path()),
        Hierarchies::from_mountinfo(HYBRID_MOUNTINFO, HYBRID_CGROUPS),
        journal,
    );
    let r = record("/docker/web", &["cpu"]);
    let applied = f
        .actuator
        .apply(Some(&r), &action(Knob::CpuWeight, 400), true);
    assert!(!applied.written);
    assert!(applied.error.unwrap().contains("journal"));
    assert_eq!(
        f.read(SHARES),
        "1024",
        "no write without a journalled original"
    );
}
