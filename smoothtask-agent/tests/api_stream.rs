//! `GET /api/events`, black-box: three NDJSON subscribers of which one stalls (the others get
//! every event in order; the stalled one gets a `lagged` record when it resumes, then carries
//! on), `?since=` replay then live, kind and container filters, SSE framing, bad parameters.

mod api_support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use api_support::*;
use serde_json::Value;
use smoothtask_agent::{
    event::{CgroupRef, EventBody, Source},
    pipeline::Pipeline,
};

const WAIT: Duration = Duration::from_secs(20);

/// Publishes one event of about `pad` bytes that concerns no container.
fn publish_big(pipeline: &Pipeline, pad: usize) -> u64 {
    pipeline
        .bus()
        .publish(
            Source::Agent,
            SystemTime::now(),
            0,
            EventBody::CgroupMkdir {
                cgroup: CgroupRef {
                    id: 7,
                    hierarchy_id: 0,
                    hierarchy: None,
                    level: 1,
                    path: format!("/stress/{}", "x".repeat(pad)),
                    path_truncated: false,
                },
                container: None,
            },
        )
        .id
}

/// Reads a subscriber to its end, recording the newest id and every record.
fn follow(mut lines: Lines) -> (Arc<AtomicU64>, tokio::task::JoinHandle<Vec<Value>>) {
    let newest = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&newest);
    let task = tokio::spawn(async move {
        let mut records = Vec::new();
        while let Some(record) = lines.next_json(Duration::from_secs(120)).await {
            if let Some(id) = record["id"].as_u64() {
                seen.store(id, Ordering::SeqCst);
            }
            records.push(record);
        }
        records
    });
    (newest, task)
}

async fn wait_for(newest: &AtomicU64, id: u64) {
    tokio::time::timeout(WAIT, async {
        while newest.load(Ordering::SeqCst) < id {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("a subscriber did not reach event {id}"));
}

fn ids(records: &[Value]) -> Vec<u64> {
    records.iter().filter_map(|r| r["id"].as_u64()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_gets_lagged_and_the_others_get_everything_in_order() {
    const QUEUE: usize = 16;
    const BATCH: u64 = 8;
    let pipeline = pipeline(65_536);
    let server = Server::start(builder(&pipeline).stream_queue(QUEUE).build()).await;
    let open = || async { Lines::new(server.get("/api/events?format=ndjson").await) };
    let (a_newest, a) = follow(open().await);
    let (b_newest, b) = follow(open().await);
    let mut stalled = open().await;
    assert_eq!(
        server.json("/api/status", 200).await["subscribers"]["streams"],
        3
    );

    // Publish in batches smaller than the queue, waiting for the two readers each time, until
    // the stalled subscriber's queue has overflowed (its socket buffers are full by then).
    let mut last = 0;
    let mut lagging = false;
    for _round in 0..20_000 {
        for _ in 0..BATCH {
            last = publish_big(&pipeline, 4096);
        }
        wait_for(&a_newest, last).await;
        wait_for(&b_newest, last).await;
        let status = server.json("/api/status", 200).await;
        let behind = status["subscribers"]["open"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["behind"].as_u64().unwrap())
            .max()
            .unwrap();
        if behind > QUEUE as u64 + BATCH {
            lagging = true;
            break;
        }
    }
    assert!(
        lagging,
        "the stalled subscriber never fell behind its queue"
    );
    // One more batch, then the stalled subscriber resumes.
    for _ in 0..BATCH {
        last = publish_big(&pipeline, 64);
    }
    wait_for(&a_newest, last).await;
    wait_for(&b_newest, last).await;

    let mut records = Vec::new();
    loop {
        let record = stalled
            .next_json(WAIT)
            .await
            .expect("stalled stream goes on");
        let done = record["id"].as_u64() == Some(last);
        records.push(record);
        if done {
            break;
        }
    }
    let lagged: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r["kind"] == "lagged")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(lagged.len(), 1, "one lagged record");
    let at = lagged[0];
    let missed = records[at]["missed"].as_u64().expect("missed count");
    assert!(missed > 0);
    let before = ids(&records[..at]);
    let after = ids(&records[at + 1..]);
    assert!(!before.is_empty() && !after.is_empty());
    assert!(
        before.windows(2).all(|w| w[1] == w[0] + 1),
        "in order before the lag"
    );
    assert!(
        after.windows(2).all(|w| w[1] == w[0] + 1),
        "in order after the lag"
    );
    assert_eq!(before[0], 1);
    assert_eq!(
        before.last().unwrap() + missed + 1,
        after[0],
        "missed counts exactly the gap"
    );
    assert_eq!(*after.last().unwrap(), last);

    let status = server.json("/api/status", 200).await;
    assert_eq!(status["subscribers"]["missed"], missed);
    server.stop().await.unwrap();
    for reader in [a, b] {
        let records = reader.await.unwrap();
        assert!(records.iter().all(|r| r["kind"] != "lagged"));
        assert_eq!(ids(&records), (1..=last).collect::<Vec<u64>>());
    }
}

#[tokio::test]
async fn since_replays_the_history_then_continues_live() {
    let pipeline = pipeline(1024);
    let state = builder(&pipeline).build();
    state.start_background();
    for _ in 0..5 {
        publish_big(&pipeline, 1);
    }
    let server = Server::start(state).await;
    let mut lines = Lines::new(server.get("/api/events?since=2").await);
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(lines.next_json(WAIT).await.unwrap()["id"].as_u64().unwrap());
    }
    assert_eq!(got, [3, 4, 5]);
    publish_big(&pipeline, 1);
    let live = lines.next_json(WAIT).await.unwrap();
    assert_eq!(live["id"], 6);
    assert_eq!(live["schema"], 1);
    assert!(live["time"].is_string() && live["kind"] == "cgroup.mkdir");

    // Without since: live only.
    let mut lines = Lines::new(server.get("/api/events").await);
    publish_big(&pipeline, 1);
    assert_eq!(lines.next_json(WAIT).await.unwrap()["id"], 7);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn since_before_the_history_starts_with_a_lagged_record() {
    let pipeline = pipeline(1024);
    let state = builder(&pipeline).history_capacity(3).build();
    state.start_background();
    for _ in 0..6 {
        publish_big(&pipeline, 1);
    }
    let server = Server::start(state).await;
    tokio::time::timeout(WAIT, async {
        while server.json("/api/status", 200).await["history"]["newest_id"] != 6 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    let mut lines = Lines::new(server.get("/api/events?since=0").await);
    assert_eq!(
        lines.next_line(WAIT).await.unwrap(),
        r#"{"kind":"lagged","missed":3}"#
    );
    for id in 4..=6 {
        assert_eq!(lines.next_json(WAIT).await.unwrap()["id"], id);
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn kind_and_container_filters_select_events() {
    let pipeline = pipeline(1024);
    let state = builder(&pipeline).build();
    state.start_background();
    add_containers(&pipeline);
    publish_big(&pipeline, 1);
    let server = Server::start(state).await;
    let collect = |query: &'static str| {
        let server = &server;
        async move {
            let mut lines = Lines::new(server.get(&format!("/api/events?since=0&{query}")).await);
            // A marker after everything: the filters must let it through to end the read.
            let mut out = Vec::new();
            loop {
                let record = lines.next_json(WAIT).await.unwrap();
                if record["kind"] == "container.removed" {
                    break;
                }
                out.push(record);
            }
            out
        }
    };
    // Every query below also selects the marker: a container.removed of the podman container.
    pipeline.ingest(
        Source::Ebpf,
        SystemTime::now(),
        0,
        EventBody::CgroupRmdir {
            cgroup: CgroupRef {
                id: 1002,
                hierarchy_id: MEMORY_HIERARCHY,
                hierarchy: None,
                level: 2,
                path: podman_path(),
                path_truncated: false,
            },
            container: None,
        },
    );
    let kinds = |records: &[Value]| -> Vec<String> {
        records
            .iter()
            .map(|r| r["kind"].as_str().unwrap().to_string())
            .collect()
    };

    let added = collect("kind=container.added&kind=container.removed").await;
    assert_eq!(kinds(&added), ["container.added", "container.added"]);

    let both = collect("kind=container.added,container.removed").await;
    assert_eq!(kinds(&both), ["container.added", "container.added"]);

    let podman = collect("container=9e8d7c6b").await;
    assert_eq!(
        kinds(&podman),
        ["cgroup.mkdir", "container.added", "cgroup.rmdir"]
    );
    assert!(podman.iter().all(|r| r["container"]["runtime"] == "podman"));

    let family = collect("kind=cgroup.*,container.removed&container=podman/9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d").await;
    assert_eq!(kinds(&family), ["cgroup.mkdir", "cgroup.rmdir"]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn sse_is_chosen_by_format_or_accept_and_framed_with_ids() {
    let pipeline = pipeline(1024);
    let state = builder(&pipeline).build();
    state.start_background();
    publish_big(&pipeline, 1);
    let server = Server::start(state).await;
    let by_format = server.get("/api/events?format=sse&since=0").await;
    let by_accept = server
        .client
        .get(server.url("/api/events?since=0"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    for response in [by_format, by_accept] {
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let mut lines = Lines::new(response);
        assert_eq!(lines.next_line(WAIT).await.unwrap(), "id: 1");
        assert_eq!(lines.next_line(WAIT).await.unwrap(), "event: cgroup.mkdir");
        let data = lines.next_line(WAIT).await.unwrap();
        let json: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(json["id"], 1);
        assert_eq!(lines.next_line(WAIT).await.unwrap(), "");
    }
    // Last-Event-ID resumes after that id.
    publish_big(&pipeline, 1);
    let resumed = server
        .client
        .get(server.url("/api/events?format=sse"))
        .header("last-event-id", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(Lines::new(resumed).next_line(WAIT).await.unwrap(), "id: 2");
    let ndjson = server.get("/api/events").await;
    assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_stream_parameters_are_named() {
    let pipeline = pipeline(1024);
    let server = Server::start(builder(&pipeline).build()).await;
    for (query, parameter) in [
        ("format=xml", "format"),
        ("since=abc", "since"),
        ("since=-1", "since"),
        ("kind=Not%20A%20Kind", "kind"),
        ("container=a%20b", "container"),
        ("container=x&container=y", "container"),
        ("follow=1", "follow"),
    ] {
        let err = server.json(&format!("/api/events?{query}"), 400).await;
        assert_eq!(err["error"], "invalid_parameter", "{query}");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("parameter `{parameter}`")),
            "{query}: {err}"
        );
    }
    let bad_header = server
        .client
        .get(server.url("/api/events"))
        .header("last-event-id", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_header.status(), 400);
    server.stop().await.unwrap();
}
