//! `/healthz` (the process answers) and `/readyz` (the bus consumer runs, so the history,
//! streams and counters are live). Open on every address.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::api::{Ctx, error::ApiError};

pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

pub(crate) async fn readyz(State(ctx): State<Ctx>) -> Response {
    if ctx.state.is_running() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the API's bus consumer is not running (bus closed or not started)",
        )
        .into_response()
    }
}
