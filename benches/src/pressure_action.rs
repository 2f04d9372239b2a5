//! Pressure to action: from a memcg reclaim stall in a batch container to the protected
//! container's cgroup write done, with the agent enforcing its policy in-process, against a
//! 1 s polling loop in the same run (every second it reads the batch cgroup's usage and writes
//! a cgroup of its own; its latency is the wait for its next tick). Target: p99 <= 5 ms.
//!
//! Each cycle starts a page-cache hog in the batch cgroup, waits for the protected cgroup's
//! cpu.shares to be raised, stops the hog and waits for the relief (200 ms dwell, 20 ms tick). The
//! latency of a cycle runs from the end of the stall that caused the raise (the kernel's
//! timestamp, so delivery through the ring buffer is included) to the `policy.action` event,
//! which the runner publishes once the write returned.

use std::{
    collections::HashMap,
    fmt::Write as _,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use smoothtask_agent::{
    agent::AgentOptions,
    api::PolicyMode,
    clock::monotonic_ns,
    config::{EnvMap, parse_config},
    event::EventBody,
    policy::{Settings, runner::PolicyOptions},
};
use smoothtask_tests::{
    TestCgroup,
    policy::{BATCH_LIMIT, CPU, Fleet, Hog, MEMORY, Role, poll},
    unique_prefix,
};

use crate::{
    agent_run,
    report::{Benchmark, Figure},
    stats::{percentile, sorted},
};

const CYCLES: usize = 100;
const POLL: Duration = Duration::from_secs(1);
const DWELL: Duration = Duration::from_millis(200);
const BUCKETS_US: [f64; 8] = [
    100.0,
    250.0,
    500.0,
    1000.0,
    2000.0,
    5000.0,
    10_000.0,
    f64::INFINITY,
];

pub fn run() -> anyhow::Result<Benchmark> {
    let rt = agent_run::runtime()?;
    let fleet = Fleet::create("bench-pressure").context("cgroups")?;
    let config_path = fleet.config("enforce", 0);
    let text = std::fs::read_to_string(&config_path)?;
    let config = parse_config(
        &text,
        &config_path.display().to_string(),
        &EnvMap::default(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut settings = Settings::from_config(&config);
    // Relief 200 ms after the last stall, and room for four actions a cycle.
    settings.policy.dwell = DWELL;
    settings.policy.max_actions_per_min = 600;
    let mut policy = PolicyOptions::new(settings, PolicyMode::Enforce, fleet.journal());
    policy.tick = Duration::from_millis(20);
    let options = AgentOptions {
        stall_threshold: Duration::ZERO,
        pressure: None,
        sampler: None,
        policy: Some(policy),
        ..AgentOptions::default()
    };
    let agent = agent_run::start(&rt, options, 1 << 16)?;

    // Stall ends by event id, and (cause id, action published) for the protected raises.
    let stalls: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    let raises: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let mut rx = agent.bus().subscribe();
    let protected = fleet.id(Role::Protected);
    let receiver = {
        let (stalls, raises) = (Arc::clone(&stalls), Arc::clone(&raises));
        rt.spawn(async move {
            while let Ok(event) = rx.recv().await {
                match &event.body {
                    EventBody::MemoryReclaimStall(s) => {
                        if let Ok(mut m) = stalls.lock() {
                            m.insert(event.id, event.mono_ns + s.duration_ns);
                        }
                    }
                    EventBody::PolicyAction(a)
                        if a.written
                            && a.knob == "cpu.weight"
                            && a.container.id == protected
                            && a.cause_event_id.is_some() =>
                    {
                        if let (Ok(mut r), Some(cause)) = (raises.lock(), a.cause_event_id) {
                            r.push((cause, event.mono_ns));
                        }
                    }
                    _ => {}
                }
            }
        })
    };

    // The baseline: a 1 s polling loop; the times its writes completed.
    let writes: Arc<Mutex<Vec<u64>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let own = TestCgroup::create(Path::new(CPU), &unique_prefix("bench-poll")).context("mkdir")?;
    let poller = {
        let (writes, stop) = (Arc::clone(&writes), Arc::clone(&stop));
        // What a polling agent reads: usage against the limit. It is credited with acting at
        // every tick (read, decide, write), so its latency is the wait for its next tick: the
        // best a 1 s loop can do (one that acts only when the read shows pressure misses the
        // short episodes of this benchmark altogether).
        let usage = fleet
            .cgroup_dir(MEMORY, Role::Batch)
            .join("memory.usage_in_bytes");
        let shares = own.dir.join("cpu.shares");
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let near = std::fs::read_to_string(&usage)
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .is_some_and(|u| u as f64 >= 0.9 * BATCH_LIMIT as f64);
                let value = if near { "4096" } else { "1024" };
                if std::fs::write(&shares, value).is_ok()
                    && let Ok(mut w) = writes.lock()
                {
                    w.push(monotonic_ns());
                }
                std::thread::sleep(POLL);
            }
        })
    };

    let started = Instant::now();
    let mut cycles = 0;
    while cycles < CYCLES && started.elapsed() < Duration::from_secs(120) {
        let hog = Hog::start(&fleet);
        let raised = poll(Duration::from_secs(5), || {
            (fleet.read(CPU, Role::Protected, "cpu.shares") == "4096").then_some(())
        });
        hog.stop();
        let relaxed = poll(Duration::from_secs(5), || {
            (fleet.read(CPU, Role::Protected, "cpu.shares") == "1024").then_some(())
        });
        anyhow::ensure!(
            raised.is_some() && relaxed.is_some(),
            "cycle {cycles}: raised {raised:?}, relaxed {relaxed:?}"
        );
        // A knob does not reverse within the dwell: the next raise would wait for it.
        std::thread::sleep(DWELL);
        cycles += 1;
    }
    std::thread::sleep(POLL + Duration::from_millis(200)); // one more poll after the last stall
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = poller.join();
    rt.block_on(agent.shutdown());
    receiver.abort();
    drop(own);

    let stalls = stalls.lock().map(|m| m.clone()).unwrap_or_default();
    let raises = raises.lock().map(|v| v.clone()).unwrap_or_default();
    let writes = writes.lock().map(|v| v.clone()).unwrap_or_default();
    let ends: Vec<(u64, u64)> = raises
        .iter()
        .filter_map(|(cause, done)| stalls.get(cause).map(|end| (*end, *done)))
        .collect();
    anyhow::ensure!(!ends.is_empty(), "no raise was traced to its stall");
    eprintln!(
        "pressure to action: {} cycles, {} raises traced to their stall, {} polling writes",
        cycles,
        ends.len(),
        writes.len()
    );
    let agent_us = sorted(
        ends.iter()
            .map(|(end, done)| done.saturating_sub(*end) as f64 / 1e3)
            .collect(),
    );
    let poll_us = sorted(
        ends.iter()
            .filter_map(|(end, _)| {
                writes
                    .iter()
                    .find(|w| *w >= end)
                    .map(|w| (w - end) as f64 / 1e3)
            })
            .collect(),
    );
    print!("{}", histogram("pressure to action", &agent_us, &poll_us));
    let p = |v: &[f64], q| percentile(v, q);
    Ok(Benchmark {
        name: "pressure to action".into(),
        what: format!(
            "memcg reclaim stall end -> protected cpu.shares written (enforce), {} cycles",
            agent_us.len()
        ),
        figures: vec![
            Figure::new(
                "stall to write, p50",
                "us",
                p(&agent_us, 0.5),
                "1 s polling",
                p(&poll_us, 0.5),
            ),
            Figure::new(
                "stall to write, p99",
                "us",
                p(&agent_us, 0.99),
                "1 s polling",
                p(&poll_us, 0.99),
            )
            .at_most(5000.0),
            Figure::new(
                "stall to write, max",
                "us",
                p(&agent_us, 1.0),
                "1 s polling",
                p(&poll_us, 1.0),
            ),
        ],
    })
}

/// Counts per latency bucket, the agent beside the polling loop.
fn histogram(title: &str, agent_us: &[f64], poll_us: &[f64]) -> String {
    let count = |v: &[f64], lo: f64, hi: f64| v.iter().filter(|x| **x >= lo && **x < hi).count();
    let mut out = format!("{title}: latency histogram (count per bucket)\n");
    let _ = writeln!(
        out,
        "  {:>16}  {:>8}  {:>12}",
        "bucket", "agent", "1 s polling"
    );
    let mut lo = 0.0;
    for hi in BUCKETS_US {
        let label = if hi.is_finite() {
            format!("< {} ms", hi / 1000.0)
        } else {
            format!(">= {} ms", lo / 1000.0)
        };
        let _ = writeln!(
            out,
            "  {label:>16}  {:>8}  {:>12}",
            count(agent_us, lo, hi),
            count(poll_us, lo, hi)
        );
        lo = hi;
    }
    // The polling loop's latencies fall past 10 ms: show where.
    let _ = writeln!(
        out,
        "  (1 s polling: p50 {:.0} ms, max {:.0} ms)",
        percentile(poll_us, 0.5) / 1000.0,
        percentile(poll_us, 1.0) / 1000.0
    );
    out
}
