//! `agent::api`: the HTTP API (axum) over shared state: the agent's own container, the host's
//! containers, the event stream (SSE or NDJSON with replay), status, policy, health,
//! Prometheus `/metrics` and the OpenAPI document.
//!
//! [`serve`] takes a bound listener, an [`ApiState`] and a shutdown future (mini-redis style,
//! so tests bind `127.0.0.1:0`). It starts the state's bus consumer
//! ([`ApiState::start_background`], which fills the bounded event history and the counters) if
//! it is not running yet, and refuses to serve a non-loopback address without a token.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/container/info` | the agent's own container: runtime, id, cgroup path, seed metrics |
//! | `GET /api/container/metrics` | the seed metrics object alone |
//! | `GET /api/containers` | the inventory with metrics; `runtime`, `name` (glob), `pod` filters |
//! | `GET /api/containers/{id}` | one container with its recent events |
//! | `GET /api/events` | SSE or NDJSON; `kind`, `container`, `since`, `format` |
//! | `GET /api/status` | version, subsystems, eBPF programs, lost events, subscribers |
//! | `GET /api/policy`, `GET /api/policy/actions` | mode and classes; recent `policy.action` events |
//! | `POST /api/policy/mode` | `{"mode":"observe"\|"enforce"}`; always needs the token |
//! | `/healthz`, `/readyz`, `/metrics`, `/api/openapi.json` | health, readiness, Prometheus, OpenAPI 3 |

mod auth;
mod counters;
mod error;
mod history;
mod openapi;
mod params;
mod policy;
mod prometheus;
mod routes;
mod state;
mod status;
mod stream;
mod subscribers;

use std::{future::Future, io};

use tokio::{net::TcpListener, sync::watch};

pub use auth::{ApiToken, OPEN_ROUTES, TOKEN_ENV, TokenError};
pub use counters::{API_CONSUMER_KIND, EventCounters, ReclaimTotals};
pub use error::ApiError;
pub use history::{DEFAULT_CAPACITY as DEFAULT_HISTORY_CAPACITY, History, StreamItem};
pub use openapi::document as openapi_document;
pub use policy::{ParseModeError, PolicyHandle, PolicyMode, PolicySnapshot};
pub use routes::ROUTES;
pub use state::{
    ApiState, ApiStateBuilder, DEFAULT_RECENT_EVENTS, DEFAULT_STREAM_QUEUE, SelfMetrics,
};
pub use status::{AgentStatus, KERNEL, ScanStatus, StatusHandle, Subsystem};
pub use subscribers::SubscriberView;

/// The address the agent serves by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// What every handler gets: the state and this server's own settings.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub state: ApiState,
    /// Reads need the token too (decided from the listener's address).
    pub require_token: bool,
    /// Becomes true when shutdown starts: open streams end so connections can close.
    pub closing: watch::Receiver<bool>,
}

/// Serves the API on `listener` until `shutdown` completes, then stops accepting, ends open
/// event streams and waits for in-flight requests.
///
/// Errors: the listener's address cannot be read; the token is required (the address is not
/// loopback, or the state asks for it everywhere) but none is configured; accepting fails.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let addr = listener.local_addr()?;
    let require_token = state.requires_token_on(addr);
    if require_token && state.token().is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "refusing to serve the API on {addr} without a token: set one ({TOKEN_ENV}) or bind a loopback address"
            ),
        ));
    }
    state.start_background();
    let (closing_tx, closing) = watch::channel(false);
    let app = routes::router(Ctx {
        state,
        require_token,
        closing,
    });
    tracing::info!(target: "api", "serving the API on http://{addr} (token {})", if require_token { "required" } else { "required for writes only" });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!(target: "api", "API shutting down");
            let _ = closing_tx.send(true);
        })
        .await
}
