//! The router: every route, the JSON 404/405 fallbacks and the token middleware; handlers per
//! area in the files beside this one.

mod container;
mod containers;
mod health;
mod policy;
mod status;

use axum::{
    Router,
    http::header,
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Serialize;

pub(crate) use containers::{ContainerView, views};
pub(crate) use status::view as status_view;

use super::{
    Ctx, auth,
    error::{ApiError, no_route, wrong_method},
    openapi, prometheus, stream,
};

/// Every route: (path, method). The OpenAPI document lists exactly these.
pub const ROUTES: [(&str, &str); 13] = [
    ("/api/container/info", "get"),
    ("/api/container/metrics", "get"),
    ("/api/containers", "get"),
    ("/api/containers/{id}", "get"),
    ("/api/events", "get"),
    ("/api/status", "get"),
    ("/api/policy", "get"),
    ("/api/policy/actions", "get"),
    ("/api/policy/mode", "post"),
    ("/healthz", "get"),
    ("/readyz", "get"),
    ("/metrics", "get"),
    ("/api/openapi.json", "get"),
];

pub(crate) fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/api/container/info", get(container::info))
        .route("/api/container/metrics", get(container::metrics))
        .route("/api/containers", get(containers::list))
        .route("/api/containers/{id}", get(containers::one))
        .route("/api/events", get(stream::events))
        .route("/api/status", get(status::status))
        .route("/api/policy", get(policy::show))
        .route("/api/policy/actions", get(policy::actions))
        .route("/api/policy/mode", post(policy::set_mode))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(prometheus::metrics))
        .route("/api/openapi.json", get(openapi::serve))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(ctx.clone(), auth::authorize))
        .with_state(ctx)
}

/// Runs blocking I/O (cgroup and /proc reads) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("collecting failed: {e}")))
}

/// A JSON answer for borrowed data (what `Json` cannot return from a handler).
pub(crate) fn json_response<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value)
        .map_err(|e| ApiError::internal(format!("cannot serialize the answer: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
