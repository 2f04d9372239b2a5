//! `GET /api/container/info` and `GET /api/container/metrics`: the agent's own container in the
//! shape users of the seed know, exactly these keys, `null` where unknown.

use axum::{
    Json,
    extract::{RawQuery, State},
};
use serde::Serialize;

use super::blocking;
use crate::{
    api::{Ctx, error::ApiError, params::Query},
    metrics::ContainerMetrics,
};

/// The seed's metrics object.
#[derive(Debug, Serialize, PartialEq)]
pub struct SeedMetrics {
    pub memory_limit_bytes: Option<u64>,
    pub memory_usage_bytes: Option<u64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub network_interfaces: Vec<String>,
}

impl From<ContainerMetrics> for SeedMetrics {
    fn from(m: ContainerMetrics) -> Self {
        Self {
            memory_limit_bytes: m.memory_limit_bytes,
            memory_usage_bytes: m.memory_usage_bytes,
            cpu_shares: m.cpu_shares,
            cpu_quota: m.cpu_quota,
            cpu_period: m.cpu_period,
            network_interfaces: m.network_interfaces,
        }
    }
}

/// The seed's container info.
#[derive(Debug, Serialize, PartialEq)]
pub struct SelfInfo {
    /// Lowercase runtime name (`docker`, `podman`, ..., `none`).
    pub runtime: String,
    pub container_id: Option<String>,
    pub is_containerized: bool,
    pub cgroup_path: Option<String>,
    pub metrics: SeedMetrics,
}

async fn own_metrics(ctx: &Ctx) -> Result<SeedMetrics, ApiError> {
    let collect = ctx.state.self_metrics();
    blocking(move || SeedMetrics::from(collect())).await
}

pub(crate) async fn info(
    State(ctx): State<Ctx>,
    RawQuery(query): RawQuery,
) -> Result<Json<SelfInfo>, ApiError> {
    Query::parse(query.as_deref(), &[])?;
    let metrics = own_metrics(&ctx).await?;
    let info = ctx.state.self_info();
    Ok(Json(SelfInfo {
        runtime: info.runtime.as_str().to_string(),
        container_id: info.container_id.clone(),
        is_containerized: info.is_containerized,
        cgroup_path: info.cgroup_path.clone(),
        metrics,
    }))
}

pub(crate) async fn metrics(
    State(ctx): State<Ctx>,
    RawQuery(query): RawQuery,
) -> Result<Json<SeedMetrics>, ApiError> {
    Query::parse(query.as_deref(), &[])?;
    Ok(Json(own_metrics(&ctx).await?))
}
