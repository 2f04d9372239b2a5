//! Privileged: real cgroups, real eBPF programs. 50 cgroups in the v1 memory hierarchy and 50
//! in cgroup v2, a process moved into one, all removed: exactly the expected mkdir, attach and
//! rmdir events arrive, each with the cgroup's inode number as id and its path.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use smoothtask_agent::{
    agent::AgentOptions,
    event::{Event, EventBody},
};
use smoothtask_tests::{
    Requirement, TestCgroup, TestChild, agent::start_traced, privilege::v2_root, require,
    unique_prefix,
};
use tokio::sync::broadcast::{Receiver, error::RecvError};

const PER_HIERARCHY: usize = 50;

/// Kernel hierarchy id of a v1 controller, from /proc/cgroups.
fn v1_hierarchy_id(controller: &str) -> u32 {
    let text = std::fs::read_to_string("/proc/cgroups").expect("read /proc/cgroups");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.first() == Some(&controller)).then(|| cols[1].parse().expect("hierarchy id"))
        })
        .unwrap_or_else(|| panic!("{controller} not in /proc/cgroups"))
}

/// (kind, hierarchy id, path) -> (cgroup id, pid)
type Seen = BTreeMap<(String, u32, String), Vec<(u64, u32)>>;

/// Collects events about paths under `prefix` until `expected` of them arrived or `timeout`.
async fn collect(
    rx: &mut Receiver<Arc<Event>>,
    prefix: &str,
    seen: &mut Seen,
    expected: usize,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    let mut count: usize = seen.values().map(Vec::len).sum();
    while count < expected {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = match tokio::time::timeout(left, rx.recv()).await {
            Err(_) => return,
            Ok(Err(RecvError::Lagged(n))) => panic!("test subscriber lagged by {n} events"),
            Ok(Err(RecvError::Closed)) => panic!("bus closed"),
            Ok(Ok(event)) => event,
        };
        let Some(cgroup) = event.body.cgroup() else {
            continue;
        };
        if !cgroup.path.starts_with(&format!("/{prefix}")) {
            continue;
        }
        let pid = match &event.body {
            EventBody::CgroupAttach { pid, .. } => *pid,
            _ => 0,
        };
        seen.entry((
            event.kind().to_string(),
            cgroup.hierarchy_id,
            cgroup.path.clone(),
        ))
        .or_default()
        .push((cgroup.id, pid));
        count += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mkdir_attach_rmdir_events_carry_inode_ids_and_paths() {
    if !require(
        "mkdir_attach_rmdir_events_carry_inode_ids_and_paths",
        &[
            Requirement::Root,
            Requirement::Ebpf,
            Requirement::V1Memory,
            Requirement::V2,
        ],
    ) {
        return;
    }
    let memory_root = Path::new("/sys/fs/cgroup/memory");
    let v2 = v2_root().expect("checked by require");
    let memory_hid = v1_hierarchy_id("memory");

    let (agent, mut rx) = start_traced(AgentOptions::default()).await;

    let prefix = unique_prefix("lifecycle");
    let mut expected = Seen::new();
    let mut mem = TestCgroup::create(memory_root, &prefix).expect("mkdir v1 prefix");
    let mut uni = TestCgroup::create(v2, &prefix).expect("mkdir v2 prefix");
    for (hid, top) in [(memory_hid, &mut mem), (0, &mut uni)] {
        expected.insert(
            ("cgroup.mkdir".into(), hid, top.path.clone()),
            vec![(top.ino, 0)],
        );
        for i in 0..PER_HIERARCHY {
            let child = top.create_child(&format!("c{i}")).expect("mkdir child");
            expected.insert(
                ("cgroup.mkdir".into(), hid, child.path.clone()),
                vec![(child.ino, 0)],
            );
        }
    }

    let sleeper = TestChild::sleep().expect("spawn sleep");
    let target = &mem.children()[7];
    target.add_process(&sleeper).expect("move child process");
    expected.insert(
        ("cgroup.attach".into(), memory_hid, target.path.clone()),
        vec![(target.ino, sleeper.pid())],
    );
    sleeper.kill();

    for (hid, top) in [(memory_hid, mem), (0, uni)] {
        let ids: BTreeMap<String, u64> = std::iter::once((top.path.clone(), top.ino))
            .chain(top.children().iter().map(|c| (c.path.clone(), c.ino)))
            .collect();
        for path in top.remove().expect("rmdir") {
            expected.insert(
                ("cgroup.rmdir".into(), hid, path.clone()),
                vec![(ids[&path], 0)],
            );
        }
    }

    let total = expected.values().map(Vec::len).sum();
    assert_eq!(total, 2 * (1 + PER_HIERARCHY) * 2 + 1);
    let mut seen = Seen::new();
    collect(&mut rx, &prefix, &mut seen, total, Duration::from_secs(20)).await;
    // Anything beyond the expected events (duplicates, strays) would arrive right behind them.
    collect(
        &mut rx,
        &prefix,
        &mut seen,
        usize::MAX,
        Duration::from_millis(300),
    )
    .await;

    let missing: Vec<_> = expected.keys().filter(|k| !seen.contains_key(*k)).collect();
    let extra: Vec<_> = seen.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(missing.is_empty(), "missing events: {missing:?}");
    assert!(extra.is_empty(), "unexpected events: {extra:?}");
    assert_eq!(seen, expected);
    agent.shutdown().await;
}
