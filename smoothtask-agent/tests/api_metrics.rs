//! `GET /metrics`, black-box: every line is a valid Prometheus text exposition (0.0.4) line,
//! families are declared once before their samples and never interleaved, no series repeats;
//! and the per-container series carry the fixture's limits with runtime, id, name, pod labels.
//! (CI adds `promtool check metrics` and a real Prometheus scrape.)

mod api_support;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, SystemTime},
};

use api_support::*;
use smoothtask_agent::{
    event::{ContainerRef, EventBody, MemoryTarget, ReclaimKind, ReclaimStall, Source},
    runtime::ContainerRuntime,
};

fn is_name(s: &str, colons: bool) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':'))
}

fn is_value(s: &str) -> bool {
    matches!(s, "NaN" | "+Inf" | "-Inf") || s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Parses `{a="x",b="y"}` (after the name); returns the labels and the rest of the line.
type Parsed<'a> = (Vec<(String, String)>, &'a str);

fn labels(mut s: &str) -> Result<Parsed<'_>, String> {
    let mut out = Vec::new();
    s = s.strip_prefix('{').ok_or("no {")?;
    loop {
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((out, rest));
        }
        let eq = s.find('=').ok_or("label without =")?;
        let name = &s[..eq];
        if !is_name(name, false) || name.starts_with("__") {
            return Err(format!("bad label name {name:?}"));
        }
        s = s[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next().ok_or("unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => return Err(format!("bad escape \\{other}")),
                },
                (_, '\n') => return Err("newline in label value".into()),
                (_, c) => value.push(c),
            }
        };
        out.push((name.to_string(), value));
        s = &s[end + 1..];
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

/// Checks the exposition; returns the samples as `name{sorted labels}` -> value.
fn check_exposition(text: &str) -> BTreeMap<String, f64> {
    assert!(text.ends_with('\n'), "ends with a newline");
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps: BTreeSet<String> = BTreeSet::new();
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut samples = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), _) => {
                    assert!(is_name(name, true), "{at}");
                    assert!(helps.insert(name.to_string()), "HELP twice: {at}");
                }
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(is_name(name, true), "{at}");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "{at}"
                    );
                    assert!(
                        types.insert(name.to_string(), kind.to_string()).is_none(),
                        "TYPE twice: {at}"
                    );
                    assert!(
                        !samples
                            .keys()
                            .any(|k: &String| k.split('{').next() == Some(name)),
                        "TYPE after samples: {at}"
                    );
                    if kind == "counter" {
                        assert!(name.ends_with("_total"), "counter without _total: {at}");
                    }
                }
                _ => {}
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        assert!(is_name(name, true), "bad metric name: {at}");
        let (labels, rest) = if line[name_end..].starts_with('{') {
            labels(&line[name_end..]).unwrap_or_else(|e| panic!("{e}: {at}"))
        } else {
            (Vec::new(), &line[name_end..])
        };
        let mut fields = rest.split(' ').filter(|f| !f.is_empty());
        let value = fields.next().unwrap_or_else(|| panic!("no value: {at}"));
        assert!(is_value(value), "bad value: {at}");
        if let Some(ts) = fields.next() {
            assert!(ts.parse::<i64>().is_ok(), "bad timestamp: {at}");
        }
        assert!(fields.next().is_none(), "trailing fields: {at}");
        let kind = types
            .get(name)
            .unwrap_or_else(|| panic!("sample without TYPE: {at}"));
        assert!(kind == "counter" || kind == "gauge", "{at}");
        assert!(helps.contains(name), "sample without HELP: {at}");
        if current.as_deref() != Some(name) {
            if let Some(previous) = current.take() {
                finished.insert(previous);
            }
            assert!(!finished.contains(name), "family interleaved: {at}");
            current = Some(name.to_string());
        }
        let mut sorted = labels;
        sorted.sort();
        let key = format!(
            "{name}{{{}}}",
            sorted
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let parsed = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_default(),
        };
        assert!(
            samples.insert(key, parsed).is_none(),
            "duplicate series: {at}"
        );
    }
    samples
}

#[test]
fn the_checker_refuses_broken_expositions() {
    for bad in [
        "x 1\n",
        "# HELP x h\n# TYPE x gauge\nx{a=\"1} 1\n",
        "# HELP x h\n# TYPE x gauge\nx one\n",
        "# HELP x h\n# TYPE x gauge\nx 1\nx 2\n",
        "# HELP x_total h\n# TYPE x_total counter\n# HELP y h\n# TYPE y gauge\nx_total 1\ny 1\nx_total{a=\"b\"} 2\n",
        "# HELP x h\n# TYPE x counter\nx 1\n",
        "# HELP x h\n# TYPE x gauge\nx{__a=\"b\"} 1\n",
        "# HELP x h\n# TYPE x gauge\nx 1",
    ] {
        assert!(
            std::panic::catch_unwind(|| check_exposition(bad)).is_err(),
            "accepted {bad:?}"
        );
    }
    let ok = check_exposition("# HELP x h\n# TYPE x gauge\nx{a=\"q\\\"\\\\\\n\"} +Inf\n");
    assert_eq!(ok.len(), 1);
}

fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let mut sorted: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    sorted.sort();
    format!(
        "{name}{{{}}}",
        sorted
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(",")
    )
}

#[tokio::test]
async fn metrics_parse_and_carry_per_container_series_and_agent_health() {
    let pipeline = pipeline(1024);
    let state = builder(&pipeline).build();
    state.start_background();
    add_containers(&pipeline);
    let docker = ContainerRef {
        runtime: ContainerRuntime::Docker,
        id: DOCKER_ID.into(),
        name: None,
        pod: None,
    };
    for (kind, count, ns) in [
        (ReclaimKind::Memcg, 3, 6_000_000),
        (ReclaimKind::Direct, 1, 500_000),
    ] {
        let stall = ReclaimStall {
            reclaim: kind,
            pid: 4242,
            tid: 0,
            comm: "app".into(),
            duration_ns: ns,
            nr_reclaimed: 10,
            count,
            aggregated: count > 1,
            target: MemoryTarget {
                cgroup_id: 1001,
                memory_cgroup: Some(docker_path()),
                container: Some(docker.clone()),
                attributed_by: Some("cgroup_id"),
            },
        };
        let body = match kind {
            ReclaimKind::Memcg => EventBody::MemoryReclaimStall(stall),
            ReclaimKind::Direct => EventBody::MemoryDirectReclaim(stall),
        };
        pipeline
            .bus()
            .publish(Source::Ebpf, SystemTime::now(), 0, body);
    }
    let server = Server::start(state).await;
    let _open_stream = server.get("/api/events").await;
    tokio::time::timeout(Duration::from_secs(10), async {
        while server.json("/api/status", 200).await["history"]["newest_id"] != 7 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();

    let response = server.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let samples = check_exposition(&text);

    let id = [
        ("runtime", "docker"),
        ("id", DOCKER_ID),
        ("name", ""),
        ("pod", ""),
    ];
    let get = |name: &str, extra: &[(&str, &str)]| -> f64 {
        let labels: Vec<(&str, &str)> = id.iter().chain(extra).copied().collect();
        let key = series(name, &labels);
        *samples
            .get(&key)
            .unwrap_or_else(|| panic!("no {key} in\n{text}"))
    };
    assert_eq!(
        get("smoothtask_container_memory_limit_bytes", &[]),
        536_870_912.0
    );
    assert_eq!(get("smoothtask_container_cpu_shares", &[]), 512.0);
    assert_eq!(get("smoothtask_container_cpu_quota", &[]), 50_000.0);
    assert_eq!(get("smoothtask_container_cpu_period", &[]), 100_000.0);
    assert!(get("smoothtask_container_memory_usage_bytes", &[]) > 0.0);
    assert!(get("smoothtask_container_cpu_throttled_periods_total", &[]) >= 0.0);
    assert_eq!(
        get(
            "smoothtask_container_pressure_stalled_seconds_total",
            &[("resource", "memory"), ("scope", "some")]
        ),
        0.045678
    );
    assert_eq!(
        get(
            "smoothtask_container_pressure_ratio",
            &[("resource", "memory"), ("scope", "full"), ("window", "10s")]
        ),
        0.001
    );
    assert_eq!(
        get(
            "smoothtask_container_reclaim_stalls_total",
            &[("reclaim", "memcg")]
        ),
        3.0
    );
    assert_eq!(
        get(
            "smoothtask_container_reclaim_stall_seconds_total",
            &[("reclaim", "direct")]
        ),
        0.0005
    );
    assert!(
        samples.contains_key(&series("smoothtask_container_oom_kills_total", &id))
            || !text.contains("memory.oom_control")
    );

    let agent = |key: &str| {
        *samples
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in\n{text}"))
    };
    assert_eq!(
        agent(&series(
            "smoothtask_events_total",
            &[("kind", "container.added")]
        )),
        2.0
    );
    assert_eq!(
        agent(&series("smoothtask_bus_events_published_total", &[])),
        7.0
    );
    assert_eq!(
        agent(&series(
            "smoothtask_lost_events_total",
            &[("kind", "api.consumer")]
        )),
        0.0
    );
    assert_eq!(agent(&series("smoothtask_stream_subscribers", &[])), 1.0);
    assert_eq!(agent(&series("smoothtask_containers", &[])), 2.0);
    assert_eq!(agent(&series("smoothtask_policy_enforcing", &[])), 0.0);
    assert!(
        agent(&series(
            "smoothtask_metrics_collection_duration_seconds",
            &[]
        )) >= 0.0
    );
    assert!(agent(&series("smoothtask_bus_subscribers", &[])) >= 1.0);
    assert_eq!(
        agent(&series(
            "smoothtask_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        )),
        1.0
    );
    // The podman container has no files in the fixture: only what is known is exported.
    assert!(!samples.contains_key(&series(
        "smoothtask_container_memory_limit_bytes",
        &[
            ("runtime", "podman"),
            ("id", PODMAN_ID),
            ("name", ""),
            ("pod", "")
        ]
    )));
    server.stop().await.unwrap();
}

/// `promtool check metrics` (Debian's `prometheus` package) on a real scrape, when promtool is
/// installed; skipped with the reason otherwise, a failure if `SMOOTHTASK_REQUIRE_PROMTOOL=1`.
#[tokio::test]
async fn promtool_accepts_the_exposition() {
    use std::{
        io::Write as _,
        process::{Command, Stdio},
    };
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".into());
    if Command::new(&promtool).arg("--version").output().is_err() {
        let why = format!("SKIPPED: {promtool} not found (apt-get install prometheus)");
        assert!(
            std::env::var("SMOOTHTASK_REQUIRE_PROMTOOL").as_deref() != Ok("1"),
            "{why}"
        );
        eprintln!("{why}");
        return;
    }
    let pipeline = pipeline(1024);
    add_containers(&pipeline);
    let server = Server::start(builder(&pipeline).build()).await;
    let text = server.get("/metrics").await.text().await.unwrap();
    server.stop().await.unwrap();
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool ends");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
