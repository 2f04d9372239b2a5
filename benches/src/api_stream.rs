//! API streams: events published on the bus reaching 10 concurrent `/api/events` NDJSON
//! subscribers over HTTP (throughput, and p50/p99 from publication to receipt), beside 10
//! in-process bus subscribers measured in the same run.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use futures_util::StreamExt as _;
use smoothtask_agent::{
    api::{self, ApiState},
    attribution::Attributor,
    bus::Bus,
    cgroup::Hierarchies,
    clock::monotonic_ns,
    event::{CgroupRef, EventBody, Source},
    host::HostRoot,
    inventory::{HierarchyLabels, Inventory},
    pipeline::Pipeline,
};

use crate::{
    report::{Benchmark, Figure},
    stats::percentile,
};

const SUBSCRIBERS: usize = 10;
const EVENTS: usize = 20_000;

fn body(i: usize) -> EventBody {
    EventBody::CgroupMkdir {
        cgroup: CgroupRef {
            id: i as u64,
            hierarchy_id: 0,
            hierarchy: None,
            level: 1,
            path: format!("/bench/c{i}"),
            path_truncated: false,
        },
        container: None,
    }
}

/// Publishes `EVENTS` events in bursts, each stamped with its publication time.
async fn publish(bus: &Bus) {
    for i in 0..EVENTS {
        bus.publish(Source::Agent, SystemTime::now(), monotonic_ns(), body(i));
        if i % 256 == 255 {
            tokio::task::yield_now().await;
        }
    }
}

pub fn run() -> anyhow::Result<Benchmark> {
    let rt = crate::agent_run::runtime()?;
    rt.block_on(async {
        // Baseline: in-process bus subscribers.
        let bus = Bus::new(EVENTS * 2);
        let receivers: Vec<_> = (0..SUBSCRIBERS).map(|_| bus.subscribe()).collect();
        let start = Instant::now();
        let tasks: Vec<_> = receivers
            .into_iter()
            .map(|mut rx| {
                tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(EVENTS);
                    while lat.len() < EVENTS {
                        match rx.recv().await {
                            Ok(e) => {
                                lat.push(monotonic_ns().saturating_sub(e.mono_ns) as f64 / 1e3)
                            }
                            Err(_) => break,
                        }
                    }
                    lat
                })
            })
            .collect();
        publish(&bus).await;
        let mut bus_lat = Vec::new();
        for t in tasks {
            bus_lat.extend(t.await?);
        }
        let bus_rate = (SUBSCRIBERS * EVENTS) as f64 / start.elapsed().as_secs_f64();
        bus_lat.sort_by(f64::total_cmp);

        // Measured: the same through the HTTP API's NDJSON streams.
        let bus = Bus::new(EVENTS * 2);
        let pipeline = Pipeline::new(
            Arc::clone(&bus),
            Inventory::new(HierarchyLabels::default()),
            Attributor::new(HostRoot::live(), Hierarchies::from_mountinfo("", "")),
        );
        let state = ApiState::builder(pipeline)
            .stream_queue(EVENTS * 2)
            .history_capacity(16)
            .build();
        state.start_background();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(api::serve(listener, state, async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        }));
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/api/events?format=ndjson&kind=cgroup.mkdir");
        let mut streams = Vec::new();
        for _ in 0..SUBSCRIBERS {
            streams.push(client.get(&url).send().await?.bytes_stream());
        }
        tokio::time::sleep(Duration::from_millis(200)).await; // subscriptions registered
        let start = Instant::now();
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|mut stream| {
                tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(EVENTS);
                    let mut buf: Vec<u8> = Vec::new();
                    while lat.len() < EVENTS {
                        let Ok(Some(Ok(chunk))) =
                            tokio::time::timeout(Duration::from_secs(20), stream.next()).await
                        else {
                            break;
                        };
                        let now = monotonic_ns();
                        buf.extend_from_slice(&chunk);
                        while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                            let line: Vec<u8> = buf.drain(..=pos).collect();
                            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line)
                                && let Some(mono) = v["mono_ns"].as_u64()
                            {
                                lat.push(now.saturating_sub(mono) as f64 / 1e3);
                            }
                        }
                    }
                    lat
                })
            })
            .collect();
        publish(&bus).await;
        let mut api_lat = Vec::new();
        for t in tasks {
            api_lat.extend(t.await?);
        }
        let api_rate = api_lat.len() as f64 / start.elapsed().as_secs_f64();
        api_lat.sort_by(f64::total_cmp);
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
        eprintln!(
            "api streams: {} of {} events received over HTTP",
            api_lat.len(),
            SUBSCRIBERS * EVENTS
        );
        Ok(Benchmark {
            name: "api streams".into(),
            what: format!("{EVENTS} events to {SUBSCRIBERS} NDJSON subscribers of /api/events"),
            figures: vec![
                Figure::new(
                    "delivered",
                    "events/s",
                    api_rate,
                    "bus subscribers",
                    bus_rate,
                ),
                Figure::new(
                    "publish to receipt, p50",
                    "us",
                    percentile(&api_lat, 0.5),
                    "bus subscribers",
                    percentile(&bus_lat, 0.5),
                ),
                Figure::new(
                    "publish to receipt, p99",
                    "us",
                    percentile(&api_lat, 0.99),
                    "bus subscribers",
                    percentile(&bus_lat, 0.99),
                ),
            ],
        })
    })
}
