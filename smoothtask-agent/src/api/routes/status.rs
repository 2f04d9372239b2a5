//! `GET /api/status`: the agent's [`crate::api::AgentStatus`] merged with what the API sees
//! live: events by kind, lost events, the history, subscribers, inventory size, policy mode.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{RawQuery, State},
};
use serde::Serialize;

use crate::api::{
    Ctx,
    error::ApiError,
    params::Query,
    status::{ScanStatus, Subsystem},
    subscribers::SubscriberView,
};

#[derive(Debug, Serialize)]
pub struct StatusView {
    pub version: String,
    /// The API's bus consumer runs.
    pub ready: bool,
    pub subsystems: Vec<Subsystem>,
    pub ebpf_programs: Vec<String>,
    /// Events lost per kind: kernel records (ring buffer full) and `api.consumer`, bus events
    /// the API's history missed.
    pub lost_events: BTreeMap<String, u64>,
    pub decode_errors: u64,
    pub events: EventsView,
    pub history: HistoryView,
    pub subscribers: SubscribersView,
    pub containers: usize,
    pub scan: Option<ScanStatus>,
}

#[derive(Debug, Serialize)]
pub struct EventsView {
    /// Published on the bus this run.
    pub published: u64,
    /// Received by the API, per kind.
    pub by_kind: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub held: usize,
    pub capacity: usize,
    pub oldest_id: Option<u64>,
    pub newest_id: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct SubscribersView {
    /// Receivers on the bus (sinks, the API's consumer, ...).
    pub bus: usize,
    /// Open `/api/events` streams.
    pub streams: usize,
    /// Each stream's queue.
    pub stream_queue: usize,
    /// Events missed by streams, all of them, including closed ones.
    pub missed: u64,
    pub open: Vec<SubscriberView>,
}

/// Builds the view (also used by `/metrics`).
pub(crate) fn view(ctx: &Ctx) -> StatusView {
    let state = &ctx.state;
    let reported = state.status().snapshot();
    let counters = state.history().counters();
    let (held, oldest_id, newest_id) = state.history().extent();
    let mut subsystems = reported.subsystems;
    let ready = state.is_running();
    subsystems.push(Subsystem {
        name: "api".into(),
        mode: if ctx.require_token {
            "token".into()
        } else {
            "loopback".into()
        },
        reason: (!ready).then(|| "the bus consumer is not running: no history or streams".into()),
    });
    if !subsystems.iter().any(|s| s.name == "policy") {
        subsystems.push(Subsystem {
            name: "policy".into(),
            mode: state.policy().mode().as_str().into(),
            reason: None,
        });
    }
    let bus = state.pipeline().bus();
    StatusView {
        version: reported.version,
        ready,
        subsystems,
        ebpf_programs: reported.ebpf_programs,
        lost_events: counters.merged_lost(&reported.lost_events),
        decode_errors: counters.decode_errors(),
        events: EventsView {
            published: bus.published(),
            by_kind: counters.by_kind(),
        },
        history: HistoryView {
            held,
            capacity: state.history().capacity(),
            oldest_id,
            newest_id,
        },
        subscribers: SubscribersView {
            bus: bus.subscriber_count(),
            streams: state.subscribers().count(),
            stream_queue: state.history().queue(),
            missed: state.subscribers().missed_total(),
            open: state.subscribers().views(newest_id.unwrap_or(0)),
        },
        containers: state.pipeline().inventory().len(),
        scan: reported.scan,
    }
}

pub(crate) async fn status(
    State(ctx): State<Ctx>,
    RawQuery(query): RawQuery,
) -> Result<Json<StatusView>, ApiError> {
    Query::parse(query.as_deref(), &[])?;
    Ok(Json(view(&ctx)))
}
