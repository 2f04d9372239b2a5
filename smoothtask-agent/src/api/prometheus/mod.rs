//! `GET /metrics`: Prometheus text exposition format 0.0.4, written by hand
//! ([`exposition`]): every value is read at scrape time from the inventory, the cgroup files
//! and the API's counters, so a registry of long-lived metric objects would only be copied
//! into. Per-container gauges and counters ([`containers`]) are labelled `runtime`, `id`,
//! `name`, `pod`; the agent's own health follows ([`agent`]).

mod agent;
mod containers;
mod exposition;

use std::time::Instant;

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

use exposition::Exposition;

use super::{
    Ctx,
    error::ApiError,
    routes::{blocking, views},
};

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(crate) async fn metrics(State(ctx): State<Ctx>) -> Result<Response, ApiError> {
    let records: Vec<_> = ctx
        .state
        .pipeline()
        .inventory()
        .containers()
        .cloned()
        .collect();
    let host = ctx.state.host().clone();
    let started = Instant::now();
    let list = blocking(move || views(&host, records)).await?;
    let collect_seconds = started.elapsed().as_secs_f64();
    let mut out = Exposition::default();
    containers::write(&mut out, &list, ctx.state.history().counters());
    agent::write(&mut out, &ctx, collect_seconds);
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], out.text).into_response())
}
