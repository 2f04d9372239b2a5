//! The HTTP API, black-box against `api::serve` on 127.0.0.1:0: the exact seed shapes, every
//! route of the OpenAPI document, containers and their filters, errors, the token, policy mode
//! and graceful shutdown.

mod api_support;

use std::time::Duration;

use api_support::*;
use serde_json::{Value, json};
use smoothtask_agent::{
    api::{AgentStatus, PolicyMode, StatusHandle, serve},
    event::{EventBody, KernelMode, KindCount, Source},
};

const EXAMPLE_INFO: &str = r#"{"runtime":"docker","container_id":"abc123","is_containerized":true,"cgroup_path":"/docker/abc123","metrics":{"memory_limit_bytes":2147483648,"memory_usage_bytes":1073741824,"cpu_shares":1024,"cpu_quota":100000,"cpu_period":100000,"network_interfaces":["eth0"]}}"#;

#[tokio::test]
async fn container_info_and_metrics_have_exactly_the_seed_shape() {
    let pipeline = pipeline(1024);
    let server = Server::start(builder(&pipeline).build()).await;
    let response = server.get("/api/container/info").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "content type"
    );
    assert_eq!(response.text().await.unwrap(), EXAMPLE_INFO);
    let metrics = server
        .get("/api/container/metrics")
        .await
        .text()
        .await
        .unwrap();
    assert!(EXAMPLE_INFO.contains(&format!(r#""metrics":{metrics}}}"#)));
    assert_eq!(
        metrics,
        r#"{"memory_limit_bytes":2147483648,"memory_usage_bytes":1073741824,"cpu_shares":1024,"cpu_quota":100000,"cpu_period":100000,"network_interfaces":["eth0"]}"#
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_values_are_null_and_the_runtime_lowercase() {
    let pipeline = pipeline(1024);
    let mut info = example_info();
    info.runtime = "CRI-O".parse().unwrap();
    info.container_id = None;
    info.cgroup_path = None;
    let state = builder(&pipeline)
        .self_info(info)
        .self_metrics(Default::default)
        .build();
    let server = Server::start(state).await;
    assert_eq!(
        server
            .get("/api/container/info")
            .await
            .text()
            .await
            .unwrap(),
        r#"{"runtime":"cri-o","container_id":null,"is_containerized":true,"cgroup_path":null,"metrics":{"memory_limit_bytes":null,"memory_usage_bytes":null,"cpu_shares":null,"cpu_quota":null,"cpu_period":null,"network_interfaces":[]}}"#
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn default_self_identity_and_metrics_come_from_the_host() {
    let pipeline = pipeline(1024);
    // The hybrid fixture's own process sits in a memory cgroup of no container.
    let state = smoothtask_agent::api::ApiState::builder(pipeline.clone())
        .host(fixture_host())
        .build();
    let server = Server::start(state).await;
    let info = server.json("/api/container/info", 200).await;
    let keys: Vec<&str> = info
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "cgroup_path",
            "container_id",
            "is_containerized",
            "metrics",
            "runtime"
        ]
    );
    assert_eq!(info["runtime"], "none");
    assert_eq!(info["is_containerized"], false);
    let metric_keys: Vec<&str> = info["metrics"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        metric_keys,
        [
            "cpu_period",
            "cpu_quota",
            "cpu_shares",
            "memory_limit_bytes",
            "memory_usage_bytes",
            "network_interfaces"
        ]
    );
    assert!(
        info["metrics"]["network_interfaces"]
            .as_array()
            .unwrap()
            .contains(&json!("eth0")),
        "{info}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn every_route_in_the_openapi_document_answers() {
    let pipeline = pipeline(1024);
    add_containers(&pipeline);
    let server = Server::start(builder(&pipeline).token(token()).build()).await;
    let doc = server.json("/api/openapi.json", 200).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), smoothtask_agent::api::ROUTES.len());
    let mut checked = 0;
    for (path, item) in paths {
        let concrete = path.replace("{id}", DOCKER_ID);
        for method in item.as_object().expect("path item").keys() {
            let url = server.url(&concrete);
            let request = match method.as_str() {
                "get" => server.client.get(&url),
                "post" => server
                    .client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .json(&json!({"mode": "observe"})),
                other => panic!("unexpected method {other} for {path}"),
            };
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            assert!(
                status == 200,
                "{method} {path} answered {status}: {:?}",
                if path == "/api/events" {
                    String::new()
                } else {
                    response.text().await.unwrap_or_default()
                }
            );
            checked += 1;
        }
    }
    assert_eq!(checked, smoothtask_agent::api::ROUTES.len());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn containers_are_listed_with_metrics_and_filtered() {
    let pipeline = pipeline(1024);
    add_containers(&pipeline);
    let server = Server::start(builder(&pipeline).build()).await;

    let all = server.json("/api/containers", 200).await;
    let all = all.as_array().expect("array");
    assert_eq!(all.len(), 2, "{all:?}");
    let docker = all
        .iter()
        .find(|c| c["runtime"] == "docker")
        .expect("docker");
    assert_eq!(docker["id"], DOCKER_ID);
    assert_eq!(docker["key"], format!("docker/{DOCKER_ID}"));
    assert_eq!(docker["cgroup_path"], docker_path());
    assert_eq!(docker["pids"], json!([4242]));
    assert_eq!(docker["metrics"]["memory_limit_bytes"], 512 * 1024 * 1024);
    assert_eq!(docker["metrics"]["cpu_shares"], 512);
    assert_eq!(docker["metrics"]["cpu_quota"], 50_000);
    assert_eq!(docker["metrics"]["cpu_period"], 100_000);
    assert_eq!(docker["metrics"]["container_id"], DOCKER_ID);
    assert!(docker["cgroups"]["memory"]["cgroup_id"] == 1001, "{docker}");

    let only = |v: Value| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|c| c["runtime"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        only(server.json("/api/containers?runtime=docker", 200).await),
        ["docker"]
    );
    assert_eq!(
        only(server.json("/api/containers?runtime=Podman", 200).await),
        ["podman"]
    );
    assert_eq!(
        only(server.json("/api/containers?name=3f2a*", 200).await),
        ["docker"]
    );
    assert_eq!(
        only(server.json("/api/containers?name=*", 200).await).len(),
        2
    );
    let pod = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
    assert!(
        only(
            server
                .json(&format!("/api/containers?pod={pod}"), 200)
                .await
        )
        .is_empty()
    );

    for (query, parameter) in [
        ("name=web%5B", "name"),
        ("runtime=", "runtime"),
        ("pod=not-a-pod!", "pod"),
        ("colour=blue", "colour"),
        ("runtime=docker&runtime=podman", "runtime"),
    ] {
        let err = server.json(&format!("/api/containers?{query}"), 400).await;
        assert_eq!(err["error"], "invalid_parameter", "{query}: {err}");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("parameter `{parameter}`")),
            "{query}: {err}"
        );
        assert_eq!(err.as_object().unwrap().len(), 2, "{err}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn one_container_comes_with_its_recent_events() {
    let pipeline = pipeline(1024);
    let state = builder(&pipeline).build();
    state.start_background();
    add_containers(&pipeline);
    let server = Server::start(state).await;

    for id in [
        DOCKER_ID,
        &DOCKER_ID[..12],
        &format!("docker%2F{DOCKER_ID}"),
    ] {
        let c = server.json(&format!("/api/containers/{id}"), 200).await;
        assert_eq!(c["id"], DOCKER_ID, "{id}");
        assert_eq!(c["metrics"]["memory_limit_bytes"], 512 * 1024 * 1024);
        let kinds: Vec<&str> = c["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["cgroup.mkdir", "container.added", "cgroup.attach"],
            "{c}"
        );
        assert!(
            c["events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["container"]["id"] == DOCKER_ID),
            "{c}"
        );
    }
    let c = server
        .json(&format!("/api/containers/{DOCKER_ID}?events=1"), 200)
        .await;
    assert_eq!(c["events"].as_array().unwrap().len(), 1);

    let err = server.json("/api/containers/ffff0000", 404).await;
    assert_eq!(err["error"], "not_found");
    assert!(err["message"].as_str().unwrap().contains("ffff0000"));

    for bad in ["bad$id", "a%20b", "x%2F..", "a;b"] {
        let err = server.json(&format!("/api/containers/{bad}"), 400).await;
        assert_eq!(err["error"], "invalid_parameter", "{bad}");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .starts_with("parameter `id`"),
            "{err}"
        );
    }
    let err = server
        .json(&format!("/api/containers/{DOCKER_ID}?events=many"), 400)
        .await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("parameter `events`")
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let pipeline = pipeline(1024);
    let server = Server::start(builder(&pipeline).token(token()).build()).await;
    let err = server.json("/api/nope", 404).await;
    assert_eq!(err["error"], "not_found");
    let response = server
        .client
        .post(server.url("/api/status"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let err: Value = response.json().await.unwrap();
    assert_eq!(err["error"], "method_not_allowed");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn off_loopback_every_route_but_health_needs_the_token() {
    let pipeline = pipeline(1024);
    // A listener on 127.0.0.1 with the decision forced as for a non-loopback address: this
    // sandbox has no other address to bind. `serve` decides it from the listener's address
    // (`!ip.is_loopback()`) when not forced; the refusal below covers the no-token case.
    let state = builder(&pipeline)
        .token(token())
        .require_token(true)
        .build();
    let server = Server::start(state).await;
    for path in [
        "/api/status",
        "/api/container/info",
        "/metrics",
        "/api/openapi.json",
        "/api/unknown",
    ] {
        let response = server.get(path).await;
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="smoothtask""#
        );
        let err: Value = response.json().await.unwrap();
        assert_eq!(err["error"], "unauthorized", "{path}");
        assert!(err["message"].is_string());
        let wrong = server
            .client
            .get(server.url(path))
            .bearer_auth("wrong-token-0123456789")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
    }
    for path in ["/healthz", "/readyz"] {
        assert_eq!(server.get(path).await.status(), 200, "{path}");
    }
    let ok = server
        .client
        .get(server.url("/api/status"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn serving_off_loopback_without_a_token_is_refused() {
    let pipeline = pipeline(1024);
    let state = builder(&pipeline).require_token(true).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = serve(listener, state, std::future::pending())
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("token"), "{err}");
}

#[tokio::test]
async fn switching_the_policy_mode_needs_the_token_even_on_loopback() {
    let pipeline = pipeline(1024);
    let server = Server::start(builder(&pipeline).token(token()).build()).await;
    let policy = server.json("/api/policy", 200).await;
    assert_eq!(policy, json!({"mode": "observe", "classes": []}));
    assert_eq!(
        server.json("/api/policy/actions", 200).await,
        json!({"actions": []})
    );

    let post = |body: Value, token: Option<&str>| {
        let mut request = server
            .client
            .post(server.url("/api/policy/mode"))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let denied = post(json!({"mode": "enforce"}), None).await.unwrap();
    assert_eq!(denied.status(), 401);
    assert_eq!(server.state.policy().mode(), PolicyMode::Observe);

    let watcher = server.state.policy().subscribe();
    let ok = post(json!({"mode": "enforce"}), Some(TOKEN)).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.json::<Value>().await.unwrap(),
        json!({"mode": "enforce", "previous": "observe"})
    );
    assert!(watcher.has_changed().unwrap());
    assert_eq!(server.state.policy().mode(), PolicyMode::Enforce);
    assert_eq!(server.json("/api/policy", 200).await["mode"], "enforce");
    // Nothing was published for it.
    assert_eq!(pipeline.bus().published(), 0);

    let bad = post(json!({"mode": "yolo"}), Some(TOKEN)).await.unwrap();
    assert_eq!(bad.status(), 400);
    let err: Value = bad.json().await.unwrap();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("parameter `mode`")
    );
    let bad = post(json!({"mood": "observe"}), Some(TOKEN)).await.unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "invalid_body");
    server.stop().await.unwrap();

    // No token configured: nobody may switch.
    let server = Server::start(builder(&pipeline).build()).await;
    let denied = server
        .client
        .post(server.url("/api/policy/mode"))
        .bearer_auth(TOKEN)
        .json(&json!({"mode": "enforce"}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn status_reports_modes_programs_lost_events_and_subscribers() {
    let pipeline = pipeline(1024);
    let status = StatusHandle::new(AgentStatus::for_this_build());
    status.update(|s| {
        s.set_kernel_mode(&KernelMode::Disabled {
            reason: "no CAP_BPF".into(),
        });
        s.set_subsystem("pressure", "polling", Some("no PSI triggers".into()));
        s.lost_events.insert("cgroup.mkdir".into(), 1);
    });
    let state = builder(&pipeline).status(status).build();
    state.start_background();
    add_containers(&pipeline);
    pipeline.bus().publish(
        Source::Agent,
        std::time::SystemTime::now(),
        0,
        EventBody::KernelLost {
            lost: vec![KindCount {
                kind: "cgroup.mkdir",
                count: 3,
            }],
            total: 3,
        },
    );
    let server = Server::start(state).await;
    let _stream = server.get("/api/events").await;
    let mut s = json!(null);
    for _ in 0..100 {
        s = server.json("/api/status", 200).await;
        if s["lost_events"]["cgroup.mkdir"] == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["ready"], true);
    let kernel = s["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "kernel")
        .expect("kernel subsystem");
    assert_eq!(kernel["mode"], "disabled");
    assert_eq!(kernel["reason"], "no CAP_BPF");
    let names: Vec<&str> = s["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kernel", "pressure", "api", "policy"]);
    assert_eq!(s["ebpf_programs"], json!([]));
    assert_eq!(s["lost_events"]["cgroup.mkdir"], 3, "{s}");
    assert_eq!(s["lost_events"]["api.consumer"], 0);
    assert_eq!(s["events"]["published"], 6);
    assert_eq!(s["events"]["by_kind"]["container.added"], 2);
    assert_eq!(s["containers"], 2);
    assert_eq!(s["subscribers"]["streams"], 1);
    assert!(s["subscribers"]["bus"].as_u64().unwrap() >= 1);
    assert_eq!(s["history"]["held"], 6);
    assert_eq!(s["history"]["capacity"], 10_000);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_ends_open_streams_and_serve_returns() {
    let pipeline = pipeline(1024);
    let server = Server::start(builder(&pipeline).build()).await;
    assert_eq!(server.json("/healthz", 200).await, json!({"status": "ok"}));
    assert_eq!(
        server.json("/readyz", 200).await,
        json!({"status": "ready"})
    );
    let mut lines = Lines::new(server.get("/api/events?format=ndjson").await);
    let ended = tokio::spawn(async move { lines.next_line(Duration::from_secs(10)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.stop().await.expect("serve returns Ok");
    assert_eq!(ended.await.unwrap(), None, "the stream ended cleanly");
}
