//! Reaction: from a memcg reclaim stall in a cgroup to its event reaching a bus subscriber,
//! against a 1 s poller of the same cgroup's `memory.failcnt` in the same run (its latency is
//! the wait for its next poll). Target: p99 <= 1 ms.

use std::{
    io::Write as _,
    path::Path,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use smoothtask_agent::{agent::AgentOptions, clock::monotonic_ns, event::EventBody};
use smoothtask_tests::{TestCgroup, unique_prefix};

use crate::{
    agent_run,
    report::{Benchmark, Figure},
    stats::percentile,
};

const WANTED: usize = 300;
const POLL: Duration = Duration::from_secs(1);

pub fn run() -> anyhow::Result<Benchmark> {
    let rt = agent_run::runtime()?;
    let cgroup = TestCgroup::create(
        Path::new("/sys/fs/cgroup/memory"),
        &unique_prefix("bench-reaction"),
    )
    .context("mkdir")?;
    std::fs::write(
        cgroup.dir.join("memory.limit_in_bytes"),
        (32u64 << 20).to_string(),
    )?;
    let options = AgentOptions {
        stall_threshold: Duration::ZERO,
        ..AgentOptions::default()
    };
    let agent = agent_run::start(&rt, options, 1 << 16)?;

    // (stall end, received), monotonic ns.
    let seen: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let mut rx = agent.bus().subscribe();
    let path = cgroup.path.clone();
    let sink = Arc::clone(&seen);
    let receiver = rt.spawn(async move {
        while let Ok(event) = rx.recv().await {
            let received = monotonic_ns();
            if let EventBody::MemoryReclaimStall(s) = &event.body
                && s.target.memory_cgroup.as_deref() == Some(path.as_str())
                && let Ok(mut v) = sink.lock()
            {
                v.push((event.mono_ns + s.duration_ns, received));
            }
        }
    });

    // The baseline: a 1 s poller of memory.failcnt; its ticks are real reads.
    let ticks: Arc<Mutex<Vec<u64>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (ticks, stop, file) = (
            Arc::clone(&ticks),
            Arc::clone(&stop),
            cgroup.dir.join("memory.failcnt"),
        );
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::read_to_string(&file);
                if let Ok(mut t) = ticks.lock() {
                    t.push(monotonic_ns());
                }
                std::thread::sleep(POLL);
            }
        })
    };

    let data = Path::new("/var/tmp").join(format!("{}.data", unique_prefix("bench")));
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().map_or(0, |v| v.len()) < WANTED && Instant::now() < deadline {
        let script = format!(
            "read go; dd if=/dev/zero of={} bs=1M count=256 2>/dev/null",
            data.display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .spawn()?;
        std::fs::write(cgroup.dir.join("cgroup.procs"), child.id().to_string())?;
        child.stdin.as_mut().context("stdin")?.write_all(b"go\n")?;
        child.wait()?;
    }
    let _ = std::fs::remove_file(&data);
    std::thread::sleep(Duration::from_millis(1500)); // one more poll after the last stall
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = poller.join();
    rt.block_on(agent.shutdown());
    receiver.abort();
    drop(cgroup);

    let seen = seen.lock().map(|v| v.clone()).unwrap_or_default();
    let ticks = ticks.lock().map(|v| v.clone()).unwrap_or_default();
    anyhow::ensure!(!seen.is_empty(), "no reclaim stall was seen");
    let mut agent_us: Vec<f64> = seen
        .iter()
        .map(|(end, got)| got.saturating_sub(*end) as f64 / 1e3)
        .collect();
    let mut poll_us: Vec<f64> = seen
        .iter()
        .filter_map(|(end, _)| {
            ticks
                .iter()
                .find(|t| *t >= end)
                .map(|t| (t - end) as f64 / 1e3)
        })
        .collect();
    agent_us.sort_by(f64::total_cmp);
    poll_us.sort_by(f64::total_cmp);
    eprintln!(
        "reaction: {} stalls, {} poll ticks",
        seen.len(),
        ticks.len()
    );
    let p = |v: &[f64], q| percentile(v, q);
    Ok(Benchmark {
        name: "reaction".into(),
        what: format!(
            "memcg reclaim stall end -> event at a bus subscriber, {} stalls under a 32 MiB limit",
            seen.len()
        ),
        figures: vec![
            Figure::new(
                "stall to event, p50",
                "us",
                p(&agent_us, 0.5),
                "1 s polling",
                p(&poll_us, 0.5),
            ),
            Figure::new(
                "stall to event, p99",
                "us",
                p(&agent_us, 0.99),
                "1 s polling",
                p(&poll_us, 0.99),
            )
            .at_most(1000.0),
            Figure::new(
                "stall to event, max",
                "us",
                p(&agent_us, 1.0),
                "1 s polling",
                p(&poll_us, 1.0),
            ),
        ],
    })
}
