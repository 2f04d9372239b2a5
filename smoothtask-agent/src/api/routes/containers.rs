//! `GET /api/containers` (filters `runtime`, `name` glob, `pod`) and `GET /api/containers/{id}`
//! (one container with its recent events): inventory records with metrics read now.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, RawQuery, State, rejection::PathRejection},
    response::Response,
};
use serde::Serialize;

use super::{blocking, json_response};
use crate::{
    api::{
        Ctx,
        error::ApiError,
        params::{self, ContainerSelector, Query},
    },
    cgroup::Hierarchies,
    commands::{self, ContainerListing},
    event::Event,
    host::HostRoot,
    inventory::{ContainerRecord, Inventory, Membership},
    metrics::{ContainerMetrics, UnreadableFile},
};

/// One container: the `smoothtaskd containers --json` listing plus the inventory's key, cgroups
/// per hierarchy and first sighting.
#[derive(Debug, Serialize)]
pub struct ContainerView {
    /// `<runtime>/<id>`.
    pub key: String,
    #[serde(flatten)]
    pub listing: ContainerListing,
    pub cgroups: BTreeMap<String, Membership>,
    pub first_seen: String,
}

#[derive(Serialize)]
struct ContainerDetail<'a> {
    #[serde(flatten)]
    container: ContainerView,
    /// Its newest events from the history, oldest first.
    events: Vec<&'a Event>,
}

/// Reads the metrics of `records` (blocking: cgroup files and /proc). The same reads as
/// `smoothtaskd containers` (`commands::list_containers`), over the live inventory.
pub(crate) fn views(host: &HostRoot, records: Vec<ContainerRecord>) -> Vec<ContainerView> {
    let hierarchies = Hierarchies::read(host);
    records
        .into_iter()
        .map(|c| {
            let metrics = match &hierarchies {
                Ok(h) => commands::container_metrics(host, h, &c),
                Err(e) => ContainerMetrics {
                    unreadable: vec![UnreadableFile {
                        path: e.path().to_path_buf(),
                        error: e.to_string(),
                    }],
                    ..ContainerMetrics::default()
                },
            };
            ContainerView {
                listing: commands::listing_with(&c, metrics),
                key: c.key,
                cgroups: c.cgroups,
                first_seen: humantime::format_rfc3339_nanos(c.first_seen).to_string(),
            }
        })
        .collect()
}

pub(crate) async fn list(
    State(ctx): State<Ctx>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<ContainerView>>, ApiError> {
    let q = Query::parse(query.as_deref(), &["runtime", "name", "pod"])?;
    let runtime = q
        .single("runtime")?
        .map(|v| params::parse_runtime("runtime", v))
        .transpose()?;
    let name = q
        .single("name")?
        .map(|v| params::parse_glob("name", v))
        .transpose()?;
    let pod = q
        .single("pod")?
        .map(|v| params::parse_pod("pod", v))
        .transpose()?;
    let records: Vec<ContainerRecord> = ctx
        .state
        .pipeline()
        .inventory()
        .containers()
        .filter(|c| runtime.as_ref().is_none_or(|r| *r == c.runtime))
        .filter(|c| {
            name.as_ref()
                .is_none_or(|g| g.matches(c.name.as_deref().unwrap_or(&c.id)))
        })
        .filter(|c| {
            pod.as_ref()
                .is_none_or(|p| c.pod.as_ref().is_some_and(|cp| cp.uid == *p))
        })
        .cloned()
        .collect();
    let host = ctx.state.host().clone();
    Ok(Json(blocking(move || views(&host, records)).await?))
}

/// The container `id` names: a key, a bare id, or a unique id prefix.
fn find(inventory: &Inventory, id: &str) -> Result<ContainerRecord, ApiError> {
    if let Some(c) = inventory.get(id) {
        return Ok(c.clone());
    }
    let selector = ContainerSelector::parse("id", id)?;
    let hits: Vec<&ContainerRecord> = inventory
        .containers()
        .filter(|c| selector.matches(&c.runtime, &c.id))
        .collect();
    match hits.as_slice() {
        [] => Err(ApiError::not_found(format!("no container {id:?}"))),
        [one] => Ok((*one).clone()),
        many => Err(ApiError::parameter(
            "id",
            format!(
                "{id:?} matches {} containers; give more of the id or <runtime>/<id>",
                many.len()
            ),
        )),
    }
}

pub(crate) async fn one(
    State(ctx): State<Ctx>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::parameter("id", e.body_text()))?;
    params::check_container_id("id", &id)?;
    let q = Query::parse(query.as_deref(), &["events"])?;
    let limit = q.number("events")?.map_or(ctx.state.recent_events(), |n| {
        usize::try_from(n).unwrap_or(usize::MAX)
    });
    let record = find(&ctx.state.pipeline().inventory(), &id)?;
    let (runtime, cid) = (record.runtime.clone(), record.id.clone());
    let events = ctx.state.history().recent(limit, |e| {
        e.body
            .container()
            .is_some_and(|c| c.runtime == runtime && c.id == cid)
    });
    let host = ctx.state.host().clone();
    let view = blocking(move || views(&host, vec![record]))
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("no metrics collected"))?;
    let detail = ContainerDetail {
        container: view,
        events: events.iter().map(|e| &**e).collect(),
    };
    json_response(&detail)
}
