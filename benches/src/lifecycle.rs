//! Lifecycle latency: `n` docker-shaped cgroups created back to back in the pids hierarchy; for
//! each, the time from its mkdir returning to its enriched `cgroup.mkdir` event reaching a
//! subscriber of the real `/api/events` NDJSON stream over HTTP (agent and API in this
//! process, the API with its default queue). Baselines on the same burst, in the same run: an
//! inotify watcher of the parent directory, and 1 s polling scanners (readdir). The scanners
//! run at 8 phases 125 ms apart and are pooled, so the baseline's spread is the poll period's,
//! not an accident of when the burst started. The same events at an in-process bus subscriber
//! show how much of the time is the agent and how much the HTTP stream. Targets: p99 <= 1 ms,
//! p50 <= 100 us.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use futures_util::StreamExt as _;
use smoothtask_agent::{
    agent::AgentOptions,
    api::{self, ApiState},
    bus::DEFAULT_CAPACITY,
    clock::monotonic_ns,
    event::EventBody,
};

use crate::{
    agent_run,
    baselines::{Inotify, SCANNERS, scan},
    containers::{Containers, container_id},
    report::{Benchmark, Figure},
    stats::{percentile, sorted},
};

const HIERARCHY: &str = "pids";
const WAIT: Duration = Duration::from_secs(20);

/// One run's latencies in microseconds (sorted), per observer.
pub struct Lifecycle {
    pub n: usize,
    pub agent: Vec<f64>,
    pub inotify: Vec<f64>,
    pub poll: Vec<f64>,
    /// The same events at an in-process bus subscriber: the agent without the HTTP stream.
    pub bus: Vec<f64>,
    /// From the first mkdir to the last event at the API subscriber, divided by `n`.
    pub agent_per_cgroup_us: f64,
}

/// Directories the burst created; removed (in reverse) on drop.
#[derive(Default)]
struct Created(Vec<PathBuf>);

impl Drop for Created {
    fn drop(&mut self) {
        for dir in self.0.iter().rev() {
            if let Err(err) = std::fs::remove_dir(dir) {
                eprintln!("cleanup: rmdir {}: {err}", dir.display());
            }
        }
    }
}

pub fn measure(n: usize) -> anyhow::Result<Lifecycle> {
    let rt = agent_run::runtime()?;
    let parents = Containers::parents("bench-lifecycle", &[HIERARCHY])?;
    let parent = parents.parent_dir(HIERARCHY);
    let ids: Vec<String> = (0..n).map(container_id).collect();
    let dirs: Vec<PathBuf> = ids.iter().map(|id| parent.join(id)).collect();
    let mut created = Created::default();

    let agent = agent_run::start(&rt, AgentOptions::default(), DEFAULT_CAPACITY)?;
    let (stop_api, mut stop_rx) = tokio::sync::watch::channel(false);
    let state = ApiState::builder(Arc::clone(agent.pipeline())).build();
    let (addr, server) = rt.block_on(async {
        state.start_background();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(api::serve(listener, state, async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        }));
        anyhow::Ok((addr, server))
    })?;

    let wanted = format!("/{}/docker/", parents.prefix);
    let on_bus = {
        let mut rx = agent.bus().subscribe();
        let wanted = wanted.clone();
        rt.spawn(async move {
            let mut seen = HashMap::with_capacity(n);
            while seen.len() < n {
                let Ok(event) = rx.recv().await else { break };
                let now = monotonic_ns();
                if let EventBody::CgroupMkdir { cgroup, .. } = &event.body
                    && let Some(id) = cgroup.path.strip_prefix(wanted.as_str())
                {
                    seen.entry(id.to_string()).or_insert(now);
                }
            }
            seen
        })
    };
    let subscriber = rt.block_on(subscribe(addr, wanted, n))?;
    let stop = Arc::new(AtomicBool::new(false));
    let inotify = Inotify::watch(&parent)?;
    let watcher = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || inotify.collect(n, &stop))
    };
    let scanner = {
        let (stop, parent) = (Arc::clone(&stop), parent.clone());
        std::thread::spawn(move || scan(&parent, &stop))
    };
    std::thread::sleep(Duration::from_millis(300)); // watchers and stream in place

    let mut returned = Vec::with_capacity(n);
    let first = monotonic_ns();
    for dir in &dirs {
        std::fs::create_dir(dir).with_context(|| format!("mkdir {}", dir.display()))?;
        returned.push(monotonic_ns());
        created.0.push(dir.clone());
    }
    let burst_ms = (monotonic_ns() - first) as f64 / 1e6;

    let got = rt.block_on(async { tokio::time::timeout(WAIT, subscriber).await });
    let got = match got {
        Ok(joined) => joined?,
        Err(_) => HashMap::new(),
    };
    let on_bus = match rt.block_on(async { tokio::time::timeout(WAIT, on_bus).await }) {
        Ok(joined) => joined?,
        Err(_) => HashMap::new(),
    };
    // One full poll period after the burst, so every scanner has seen every cgroup.
    std::thread::sleep(Duration::from_millis(1200));
    stop.store(true, Ordering::Relaxed);
    let notified = watcher
        .join()
        .map_err(|_| anyhow::anyhow!("inotify thread"))?;
    let scans = scanner
        .join()
        .map_err(|_| anyhow::anyhow!("scanner thread"))??;
    let _ = stop_api.send(true);
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
        agent.shutdown().await;
    });
    drop(created);
    drop(parents);

    let latency = |seen: &HashMap<String, u64>| -> Vec<f64> {
        ids.iter()
            .zip(&returned)
            .filter_map(|(id, ret)| seen.get(id).map(|t| t.saturating_sub(*ret) as f64 / 1e3))
            .collect()
    };
    let per_cgroup = |seen: &HashMap<String, u64>| {
        seen.values().max().map_or(f64::NAN, |last| {
            last.saturating_sub(first) as f64 / 1e3 / n as f64
        })
    };
    let poll = scans.latencies(&ids, &returned);
    eprintln!(
        "lifecycle {n}: burst {burst_ms:.1} ms; API subscriber got {} of {n}, bus {}, inotify {}, polling {}",
        got.len(),
        on_bus.len(),
        notified.len(),
        poll.len() / SCANNERS
    );
    anyhow::ensure!(
        got.len() == n,
        "the API subscriber received {} of {n} cgroup.mkdir events",
        got.len()
    );
    Ok(Lifecycle {
        n,
        agent: sorted(latency(&got)),
        inotify: sorted(latency(&notified)),
        poll: sorted(poll),
        bus: sorted(latency(&on_bus)),
        agent_per_cgroup_us: per_cgroup(&got),
    })
}

/// Subscribes to `/api/events` and returns, per container id under `wanted`, when its
/// `cgroup.mkdir` line arrived (monotonic ns), once `n` arrived or the stream ended.
async fn subscribe(
    addr: std::net::SocketAddr,
    wanted: String,
    n: usize,
) -> anyhow::Result<tokio::task::JoinHandle<HashMap<String, u64>>> {
    let url = format!("http://{addr}/api/events?format=ndjson&kind=cgroup.mkdir");
    let mut stream = reqwest::Client::new()
        .get(&url)
        .send()
        .await?
        .bytes_stream();
    Ok(tokio::spawn(async move {
        let mut seen = HashMap::with_capacity(n);
        let mut buf: Vec<u8> = Vec::new();
        while seen.len() < n {
            let Some(Ok(chunk)) = stream.next().await else {
                break;
            };
            let now = monotonic_ns();
            buf.extend_from_slice(&chunk);
            while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) else {
                    continue;
                };
                if v["kind"] == "lagged" {
                    eprintln!("lifecycle: the API stream lagged: {v}");
                }
                if let Some(id) = v["cgroup"]["path"]
                    .as_str()
                    .and_then(|p| p.strip_prefix(wanted.as_str()))
                {
                    seen.entry(id.to_string()).or_insert(now);
                }
            }
        }
        seen
    }))
}

fn p(v: &[f64], q: f64) -> f64 {
    percentile(v, q)
}

/// The lifecycle figures of one run.
pub fn figures(l: &Lifecycle) -> Vec<Figure> {
    let n = l.n;
    vec![
        Figure::new(
            &format!("{n} cgroups, mkdir to API stream, p50"),
            "us",
            p(&l.agent, 0.5),
            "inotify",
            p(&l.inotify, 0.5),
        )
        .at_most(100.0),
        Figure::new(
            &format!("{n} cgroups, mkdir to API stream, p99"),
            "us",
            p(&l.agent, 0.99),
            "inotify",
            p(&l.inotify, 0.99),
        )
        .at_most(1000.0),
        Figure::new(
            &format!("{n} cgroups, mkdir to API stream, max"),
            "us",
            p(&l.agent, 1.0),
            "inotify",
            p(&l.inotify, 1.0),
        ),
        Figure::new(
            &format!("{n} cgroups, mkdir to bus subscriber, p50"),
            "us",
            p(&l.bus, 0.5),
            "inotify",
            p(&l.inotify, 0.5),
        ),
        Figure::new(
            &format!("{n} cgroups, mkdir to bus subscriber, p99"),
            "us",
            p(&l.bus, 0.99),
            "inotify",
            p(&l.inotify, 0.99),
        ),
        Figure::new(
            &format!("{n} cgroups, mkdir to API stream, p50"),
            "us",
            p(&l.agent, 0.5),
            "1 s polling",
            p(&l.poll, 0.5),
        ),
        Figure::new(
            &format!("{n} cgroups, mkdir to API stream, p99"),
            "us",
            p(&l.agent, 0.99),
            "1 s polling",
            p(&l.poll, 0.99),
        ),
    ]
}

pub fn benchmark(l: &Lifecycle) -> Benchmark {
    Benchmark {
        name: "lifecycle".into(),
        what: format!(
            "{} docker-shaped cgroups created back to back; mkdir returned -> cgroup.mkdir line at an /api/events NDJSON subscriber (HTTP); baselines: inotify on the parent, 1 s readdir polling (8 phases pooled)",
            l.n
        ),
        figures: figures(l),
    }
}
