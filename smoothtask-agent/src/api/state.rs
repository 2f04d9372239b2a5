//! [`ApiState`]: everything the routes read, built once with [`ApiStateBuilder`] from the
//! pipeline (bus and inventory), the agent's own container identity and metrics, the status
//! and policy handles and the token; plus the bus consumer that fills the event history.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use tokio::task::JoinHandle;

use super::{
    auth::ApiToken,
    history::{self, History},
    policy::PolicyHandle,
    status::StatusHandle,
    subscribers::Subscribers,
};
use crate::{
    detect::{self, ContainerInfo},
    host::HostRoot,
    metrics::{ContainerMetrics, collect_self_metrics},
    pipeline::Pipeline,
};

/// Each stream subscriber's queue unless configured otherwise.
pub const DEFAULT_STREAM_QUEUE: usize = 1024;
/// Events shown with one container by `GET /api/containers/{id}` unless asked otherwise.
pub const DEFAULT_RECENT_EVENTS: usize = 100;

/// Collects the agent's own container metrics (blocking I/O; called off the async threads).
pub type SelfMetrics = dyn Fn() -> ContainerMetrics + Send + Sync;

/// Shared state of the API. Clones share one state.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

struct Inner {
    pipeline: Arc<Pipeline>,
    host: HostRoot,
    self_info: ContainerInfo,
    self_metrics: Arc<SelfMetrics>,
    status: StatusHandle,
    policy: PolicyHandle,
    token: Option<ApiToken>,
    require_token: bool,
    recent_events: usize,
    history: Arc<History>,
    subscribers: Arc<Subscribers>,
    consumer: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self
            .consumer
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

impl ApiState {
    /// Starts building a state over `pipeline`. Defaults: the live host, self-detection on it,
    /// [`crate::metrics::collect_self_metrics`], a status for this build, policy in observe
    /// mode, no token, token required off loopback, 10 000 events of history, 1024 per
    /// stream subscriber.
    pub fn builder(pipeline: Arc<Pipeline>) -> ApiStateBuilder {
        ApiStateBuilder {
            pipeline,
            host: None,
            self_info: None,
            self_metrics: None,
            status: None,
            policy: None,
            token: None,
            require_token: false,
            history_capacity: history::DEFAULT_CAPACITY,
            stream_queue: DEFAULT_STREAM_QUEUE,
            recent_events: DEFAULT_RECENT_EVENTS,
        }
    }

    /// Starts the bus consumer that fills the history and the counters, once; later calls do
    /// nothing. [`super::serve`] calls it; call it earlier to keep events published before
    /// serving starts. Needs a tokio runtime. The consumer stops when the bus closes or the
    /// last clone of this state drops.
    pub fn start_background(&self) {
        let mut slot = self
            .inner
            .consumer
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return;
        }
        // Subscribed here, before returning: nothing published after this call is missed.
        let rx = self.inner.pipeline.bus().subscribe();
        *slot = Some(tokio::spawn(history::consume(
            rx,
            Arc::clone(&self.inner.history),
            self.inner.status.clone(),
        )));
    }

    /// Whether the bus consumer runs.
    pub fn is_running(&self) -> bool {
        self.inner
            .consumer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }

    /// Whether serving on `addr` requires the token on every route but `/healthz` and
    /// `/readyz`: always when `addr` is not loopback, and on loopback too when the builder's
    /// [`ApiStateBuilder::require_token`] says so.
    pub fn requires_token_on(&self, addr: SocketAddr) -> bool {
        self.inner.require_token || !addr.ip().to_canonical().is_loopback()
    }

    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.inner.pipeline
    }

    pub fn host(&self) -> &HostRoot {
        &self.inner.host
    }

    pub fn self_info(&self) -> &ContainerInfo {
        &self.inner.self_info
    }

    pub(crate) fn self_metrics(&self) -> Arc<SelfMetrics> {
        Arc::clone(&self.inner.self_metrics)
    }

    pub fn status(&self) -> &StatusHandle {
        &self.inner.status
    }

    pub fn policy(&self) -> &PolicyHandle {
        &self.inner.policy
    }

    pub fn token(&self) -> Option<&ApiToken> {
        self.inner.token.as_ref()
    }

    pub fn history(&self) -> &Arc<History> {
        &self.inner.history
    }

    pub(crate) fn subscribers(&self) -> &Arc<Subscribers> {
        &self.inner.subscribers
    }

    pub(crate) fn recent_events(&self) -> usize {
        self.inner.recent_events
    }
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("self_info", &self.inner.self_info.runtime)
            .field("token", &self.inner.token)
            .field("require_token", &self.inner.require_token)
            .field("history_capacity", &self.inner.history.capacity())
            .finish_non_exhaustive()
    }
}

/// Builds an [`ApiState`]; see [`ApiState::builder`] for the defaults.
pub struct ApiStateBuilder {
    pipeline: Arc<Pipeline>,
    host: Option<HostRoot>,
    self_info: Option<ContainerInfo>,
    self_metrics: Option<Arc<SelfMetrics>>,
    status: Option<StatusHandle>,
    policy: Option<PolicyHandle>,
    token: Option<ApiToken>,
    require_token: bool,
    history_capacity: usize,
    stream_queue: usize,
    recent_events: usize,
}

impl ApiStateBuilder {
    /// Where per-container metrics (and, by default, self-detection) read: a fixture in tests.
    pub fn host(mut self, host: HostRoot) -> Self {
        self.host = Some(host);
        self
    }

    /// The agent's own container, as detected at startup.
    pub fn self_info(mut self, info: ContainerInfo) -> Self {
        self.self_info = Some(info);
        self
    }

    /// How to collect the agent's own container metrics for each request.
    pub fn self_metrics(
        mut self,
        collect: impl Fn() -> ContainerMetrics + Send + Sync + 'static,
    ) -> Self {
        self.self_metrics = Some(Arc::new(collect));
        self
    }

    pub fn status(mut self, status: StatusHandle) -> Self {
        self.status = Some(status);
        self
    }

    pub fn policy(mut self, policy: PolicyHandle) -> Self {
        self.policy = Some(policy);
        self
    }

    pub fn token(mut self, token: Option<ApiToken>) -> Self {
        self.token = token;
        self
    }

    /// Requires the token for reads on loopback too (as off loopback, where it always is).
    /// Tests use it to exercise the off-loopback rules on 127.0.0.1.
    pub fn require_token(mut self, require: bool) -> Self {
        self.require_token = require;
        self
    }

    /// Events kept for `?since=` replay and per-container history.
    pub fn history_capacity(mut self, events: usize) -> Self {
        self.history_capacity = events;
        self
    }

    /// How far each stream subscriber may fall behind before it gets a `lagged` record.
    pub fn stream_queue(mut self, events: usize) -> Self {
        self.stream_queue = events.max(1);
        self
    }

    /// Events shown with one container by default.
    pub fn recent_events(mut self, events: usize) -> Self {
        self.recent_events = events;
        self
    }

    /// Builds the state. Detects the agent's own container now unless given (reads files).
    pub fn build(self) -> ApiState {
        let host = self.host.unwrap_or_else(HostRoot::live);
        let self_info = self
            .self_info
            .unwrap_or_else(|| detect::get_container_info_at(&host));
        let self_metrics = self.self_metrics.unwrap_or_else(|| {
            let (host, info) = (host.clone(), self_info.clone());
            Arc::new(move || {
                let mut metrics = collect_self_metrics(&host);
                metrics.runtime = info.runtime.as_str().to_string();
                metrics.container_id = info.container_id.clone();
                metrics
            })
        });
        ApiState {
            inner: Arc::new(Inner {
                pipeline: self.pipeline,
                host,
                self_info,
                self_metrics,
                status: self.status.unwrap_or_default(),
                policy: self.policy.unwrap_or_default(),
                token: self.token,
                require_token: self.require_token,
                recent_events: self.recent_events,
                history: Arc::new(History::new(self.history_capacity, self.stream_queue)),
                subscribers: Arc::new(Subscribers::default()),
                consumer: Mutex::new(None),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        attribution::Attributor,
        bus::Bus,
        cgroup::Hierarchies,
        inventory::{HierarchyLabels, Inventory},
    };

    fn state(force: bool) -> ApiState {
        let host = HostRoot::at("/nonexistent-smoothtask-fixture");
        let pipeline = Pipeline::new(
            Bus::new(4),
            Inventory::new(HierarchyLabels::default()),
            Attributor::new(host.clone(), Hierarchies::from_mountinfo("", "")),
        );
        ApiState::builder(pipeline)
            .host(host)
            .require_token(force)
            .build()
    }

    #[test]
    fn the_token_is_required_off_loopback_whatever_the_builder_says() {
        let open = state(false);
        for addr in [
            "127.0.0.1:8080",
            "127.0.0.2:1",
            "[::1]:8080",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(!open.requires_token_on(addr.parse().unwrap()), "{addr}");
        }
        for addr in ["0.0.0.0:8080", "10.1.2.3:8080", "[::]:8080", "[fe80::1]:80"] {
            assert!(open.requires_token_on(addr.parse().unwrap()), "{addr}");
        }
        assert!(state(true).requires_token_on("127.0.0.1:8080".parse().unwrap()));
    }
}
