//! Shared by the `api_*` tests: a real bus, inventory and pipeline over the `hybrid` cgroup
//! fixture host, served by `api::serve` on 127.0.0.1:0, with synthetic cgroup events and a
//! line reader for NDJSON streams.
#![allow(dead_code)]

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime},
};

use smoothtask_agent::{
    api::{self, ApiState, ApiStateBuilder, ApiToken},
    attribution::Attributor,
    bus::Bus,
    cgroup::Hierarchies,
    detect::ContainerInfo,
    event::{CgroupRef, EventBody, Source},
    host::HostRoot,
    inventory::{HierarchyLabels, Inventory},
    metrics::ContainerMetrics,
    pipeline::Pipeline,
    runtime::ContainerRuntime,
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// The docker container of the `hybrid` fixture (512 MiB, 512 shares, 50000/100000, pid 4242).
pub const DOCKER_ID: &str = "3f2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a";
/// A podman container the fixture has no files for (its metrics are null).
pub const PODMAN_ID: &str = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d";
pub const TOKEN: &str = "test-token-0123456789";
/// Kernel hierarchy id of the fixture's memory hierarchy (`/proc/self/cgroup` line 4).
pub const MEMORY_HIERARCHY: u32 = 4;

pub fn fixture_host() -> HostRoot {
    HostRoot::at(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cgroup/hybrid"))
}

pub fn pipeline(bus_capacity: usize) -> Arc<Pipeline> {
    let host = fixture_host();
    let hierarchies = Hierarchies::read(&host).expect("fixture hierarchies");
    Pipeline::new(
        Bus::new(bus_capacity),
        Inventory::new(HierarchyLabels::from_hierarchies(&hierarchies)),
        Attributor::new(host, hierarchies),
    )
}

/// The example container, with fixed metrics.
pub fn example_info() -> ContainerInfo {
    ContainerInfo {
        runtime: ContainerRuntime::Docker,
        is_containerized: true,
        container_id: Some("abc123".into()),
        cgroup_path: Some("/docker/abc123".into()),
        orchestrator: None,
        evidence: Vec::new(),
    }
}

pub fn example_metrics() -> ContainerMetrics {
    ContainerMetrics {
        runtime: "docker".into(),
        container_id: Some("abc123".into()),
        memory_limit_bytes: Some(2_147_483_648),
        memory_usage_bytes: Some(1_073_741_824),
        cpu_shares: Some(1024),
        cpu_quota: Some(100_000),
        cpu_period: Some(100_000),
        network_interfaces: vec!["eth0".into()],
        ..ContainerMetrics::default()
    }
}

/// A state over `pipeline` on the fixture host with the example self-identity.
pub fn builder(pipeline: &Arc<Pipeline>) -> ApiStateBuilder {
    ApiState::builder(Arc::clone(pipeline))
        .host(fixture_host())
        .self_info(example_info())
        .self_metrics(example_metrics)
}

pub fn token() -> Option<ApiToken> {
    Some(ApiToken::new(TOKEN).expect("valid token"))
}

/// A server on 127.0.0.1:0.
pub struct Server {
    pub base: String,
    pub state: ApiState,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start(state: ApiState) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(api::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Self {
            base: format!("http://{addr}"),
            state,
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            shutdown: Some(tx),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// GET, expecting JSON with `status`.
    pub async fn json(&self, path: &str, status: u16) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status().as_u16(), status, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// Shuts the server down; returns what `serve` returned.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("serve returns after shutdown")
            .expect("serve task")
    }
}

/// Publishes a cgroup mkdir through the pipeline (inventory updated, container identified).
pub fn mkdir(pipeline: &Pipeline, cgroup_id: u64, path: &str) {
    pipeline.ingest(
        Source::Ebpf,
        SystemTime::now(),
        0,
        EventBody::CgroupMkdir {
            cgroup: CgroupRef {
                id: cgroup_id,
                hierarchy_id: MEMORY_HIERARCHY,
                hierarchy: None,
                level: 2,
                path: path.into(),
                path_truncated: false,
            },
            container: None,
        },
    );
}

pub fn attach(pipeline: &Pipeline, cgroup_id: u64, path: &str, pid: u32) {
    pipeline.ingest(
        Source::Ebpf,
        SystemTime::now(),
        0,
        EventBody::CgroupAttach {
            cgroup: CgroupRef {
                id: cgroup_id,
                hierarchy_id: MEMORY_HIERARCHY,
                hierarchy: None,
                level: 2,
                path: path.into(),
                path_truncated: false,
            },
            pid,
            comm: "sh".into(),
            container: None,
        },
    );
}

pub fn docker_path() -> String {
    format!("/docker/{DOCKER_ID}")
}

pub fn podman_path() -> String {
    format!("/machine.slice/libpod-{PODMAN_ID}.scope")
}

/// Adds the docker (with pid 4242) and podman containers.
pub fn add_containers(pipeline: &Pipeline) {
    mkdir(pipeline, 1001, &docker_path());
    attach(pipeline, 1001, &docker_path(), 4242);
    mkdir(pipeline, 1002, &podman_path());
}

/// Reads an NDJSON (or SSE) body line by line.
pub struct Lines {
    response: reqwest::Response,
    buf: Vec<u8>,
}

impl Lines {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buf: Vec::new(),
        }
    }

    /// The next line, `None` at the end of the body; panics after `wait`.
    pub async fn next_line(&mut self, wait: Duration) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Some(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
            }
            let chunk = tokio::time::timeout(wait, self.response.chunk())
                .await
                .expect("a line in time")
                .expect("body chunk");
            match chunk {
                Some(bytes) => self.buf.extend_from_slice(&bytes),
                None => return None,
            }
        }
    }

    /// The next NDJSON record.
    pub async fn next_json(&mut self, wait: Duration) -> Option<serde_json::Value> {
        let line = self.next_line(wait).await?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")))
    }
}
