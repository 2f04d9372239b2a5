//! `GET /api/policy` (mode and classes), `GET /api/policy/actions` (recent `policy.action`
//! events from the history) and `POST /api/policy/mode` (the only write: stores the mode in
//! the shared [`crate::api::PolicyHandle`]; the token middleware has checked the token).

use axum::{
    Json,
    body::Bytes,
    extract::{RawQuery, State},
    response::Response,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::json_response;
use crate::{
    api::{
        Ctx,
        error::ApiError,
        params::{ContainerSelector, Query},
        policy::{PolicyMode, PolicySnapshot},
    },
    event::Event,
};

/// The event kind policy decisions are published as.
pub const POLICY_ACTION: &str = "policy.action";

pub(crate) async fn show(
    State(ctx): State<Ctx>,
    RawQuery(query): RawQuery,
) -> Result<Json<PolicySnapshot>, ApiError> {
    Query::parse(query.as_deref(), &[])?;
    Ok(Json(ctx.state.policy().snapshot()))
}

pub(crate) async fn actions(
    State(ctx): State<Ctx>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(query.as_deref(), &["container", "limit"])?;
    let container = q
        .single("container")?
        .map(|v| ContainerSelector::parse("container", v))
        .transpose()?;
    let limit = q
        .number("limit")?
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let actions = ctx.state.history().recent(limit, |e| {
        e.kind() == POLICY_ACTION && container.as_ref().is_none_or(|c| c.matches_event(e))
    });
    json_response(&Actions {
        actions: actions.iter().map(|e| &**e).collect(),
    })
}

#[derive(Serialize)]
struct Actions<'a> {
    /// Oldest first.
    actions: Vec<&'a Event>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeRequest {
    mode: String,
}

pub(crate) async fn set_mode(
    State(ctx): State<Ctx>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    Query::parse(query.as_deref(), &[])?;
    let request: ModeRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::body(format!(
            "expected {{\"mode\":\"observe\"|\"enforce\"}}: {e}"
        ))
    })?;
    let mode: PolicyMode = request
        .mode
        .parse()
        .map_err(|e| ApiError::parameter("mode", e))?;
    let previous = ctx.state.policy().set_mode(mode);
    if previous != mode {
        tracing::warn!(target: "api", "policy mode switched from {previous} to {mode} through the API");
    }
    Ok(Json(json!({"mode": mode, "previous": previous})))
}
