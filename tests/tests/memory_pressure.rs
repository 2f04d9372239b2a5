//! Privileged: memory pressure from the kernel. A process in a v1 memory cgroup with a 32 MiB
//! limit, created by the test, fills page cache past the limit: reclaim stall events arrive
//! attributed to that cgroup. A process that exceeds its limit with no way to reclaim is
//! OOM-killed: exactly one `memory.oom_kill` event, for the PID that died, in that cgroup.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    os::unix::process::ExitStatusExt as _,
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use smoothtask_agent::{
    agent::{Agent, AgentOptions},
    event::{Event, EventBody, KernelMode},
};
use smoothtask_tests::{Requirement, TestCgroup, agent::start_traced, require, unique_prefix};
use tokio::sync::broadcast::{Receiver, error::RecvError};

const LIMIT: u64 = 32 << 20;
const MEMORY: &str = "/sys/fs/cgroup/memory";

async fn start_agent(stall_threshold: Duration) -> (Agent, Receiver<Arc<Event>>) {
    let options = AgentOptions {
        stall_threshold,
        ..AgentOptions::default()
    };
    let (agent, rx) = start_traced(options).await;
    match agent.kernel_mode() {
        KernelMode::Ebpf { programs, skipped } => {
            assert!(skipped.is_empty(), "memory programs skipped: {skipped:?}");
            for p in [
                "memcg_reclaim_begin",
                "memcg_reclaim_end",
                "oom_mark_victim",
            ] {
                assert!(
                    programs.iter().any(|x| x == p),
                    "{p} not attached: {programs:?}"
                );
            }
        }
        other => panic!("kernel tracing must be attached: {other:?}"),
    }
    (agent, rx)
}

/// A v1 memory cgroup with a 32 MiB limit (memory and memory+swap).
fn limited_cgroup(label: &str) -> TestCgroup {
    let cgroup = TestCgroup::create(Path::new(MEMORY), &unique_prefix(label)).expect("mkdir");
    std::fs::write(cgroup.dir.join("memory.limit_in_bytes"), LIMIT.to_string()).expect("limit");
    let memsw = cgroup.dir.join("memory.memsw.limit_in_bytes");
    if memsw.exists() {
        std::fs::write(memsw, LIMIT.to_string()).expect("memsw limit");
    }
    cgroup
}

/// Starts `program args` waiting on stdin, moves it into `cgroup`, then lets it go.
fn spawn_in(cgroup: &TestCgroup, program: &str, args: &[&str]) -> Child {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::fs::write(cgroup.dir.join("cgroup.procs"), child.id().to_string()).expect("move");
    child
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("go");
    child
}

/// Memory events about `cgroup_path` until `done` says so or `timeout`.
async fn memory_events(
    rx: &mut Receiver<Arc<Event>>,
    cgroup_path: &str,
    timeout: Duration,
    mut done: impl FnMut(&[Arc<Event>]) -> bool,
) -> Vec<Arc<Event>> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Err(_) => break,
            Ok(Err(RecvError::Lagged(n))) => panic!("subscriber lagged by {n}"),
            Ok(Err(RecvError::Closed)) => break,
            Ok(Ok(event)) => {
                let ours = event
                    .body
                    .memory_target()
                    .is_some_and(|t| t.memory_cgroup.as_deref() == Some(cgroup_path));
                if matches!(event.body, EventBody::MemoryOomKill(_)) && !ours {
                    eprintln!(
                        "an OOM kill not attributed to {cgroup_path}: {}",
                        event.to_json()
                    );
                }
                if ours {
                    seen.push(event);
                }
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_cache_past_the_limit_gives_attributed_reclaim_stalls() {
    if !require(
        "page_cache_past_the_limit_gives_attributed_reclaim_stalls",
        &[Requirement::Root, Requirement::Ebpf, Requirement::V1Memory],
    ) {
        return;
    }
    // Every stall one by one: the threshold is zero.
    let (agent, mut rx) = start_agent(Duration::ZERO).await;
    let cgroup = limited_cgroup("reclaim");
    let file = tempfile_path("reclaim");
    let script = format!(
        "read go; dd if=/dev/zero of={} bs=1M count=64 2>/dev/null; echo wrote; read stop",
        file.display()
    );
    let mut child = spawn_in(&cgroup, "sh", &["-c", &script]);
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    tokio::task::block_in_place(|| out.read_line(&mut line)).expect("dd finished");
    assert_eq!(line.trim(), "wrote");

    let events = memory_events(&mut rx, &cgroup.path, Duration::from_secs(10), |seen| {
        !seen.is_empty()
    })
    .await;
    drop(child.stdin.take());
    let _ = child.wait();
    let _ = std::fs::remove_file(&file);
    assert!(
        !events.is_empty(),
        "no reclaim stall attributed to {}",
        cgroup.path
    );
    for event in &events {
        let EventBody::MemoryReclaimStall(stall) = &event.body else {
            panic!("unexpected {:?}", event.body)
        };
        assert_eq!(stall.count, 1);
        assert!(!stall.aggregated);
        assert!(stall.nr_reclaimed > 0 || stall.duration_ns > 0, "{stall:?}");
        // dd ran as a child of sh in the cgroup.
        assert_ne!(stall.pid, 0);
        assert_eq!(
            stall.target.memory_cgroup.as_deref(),
            Some(cgroup.path.as_str())
        );
    }
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_over_its_limit_is_oom_killed_and_reported_once() {
    if !require(
        "a_process_over_its_limit_is_oom_killed_and_reported_once",
        &[Requirement::Root, Requirement::Ebpf, Requirement::V1Memory],
    ) {
        return;
    }
    let (agent, mut rx) = start_agent(Duration::from_millis(1)).await;
    let cgroup = limited_cgroup("oom");
    let mut child = spawn_in(&cgroup, env!("CARGO_BIN_EXE_memhog"), &["64"]);
    let pid = child.id();
    let status = tokio::task::block_in_place(|| child.wait()).expect("wait");
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "memhog was not OOM-killed: {status}"
    );

    let is_kill = |e: &Arc<Event>| matches!(e.body, EventBody::MemoryOomKill(_));
    let mut events = memory_events(&mut rx, &cgroup.path, Duration::from_secs(10), |seen| {
        seen.iter().any(is_kill)
    })
    .await;
    // Anything beyond one kill would arrive right behind it.
    events.extend(memory_events(&mut rx, &cgroup.path, Duration::from_secs(1), |_| false).await);
    let kills: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::MemoryOomKill(k) => Some(k),
            _ => None,
        })
        .collect();
    assert_eq!(kills.len(), 1, "expected exactly one OOM kill: {kills:#?}");
    assert_eq!(kills[0].pid, pid);
    assert_eq!(kills[0].comm, "memhog");
    assert!(kills[0].anon_rss_kb > 16 * 1024, "{:?}", kills[0]);
    let oom_control = std::fs::read_to_string(cgroup.dir.join("memory.oom_control")).unwrap();
    assert!(oom_control.contains("oom_kill 1"), "{oom_control}");
    agent.shutdown().await;
}

/// A scratch file on a disk filesystem (/var/tmp: page cache, not tmpfs).
fn tempfile_path(label: &str) -> std::path::PathBuf {
    Path::new("/var/tmp").join(format!("{}-{label}", unique_prefix("memory")))
}
