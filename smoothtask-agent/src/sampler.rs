//! The sampler: every interval, each known container's metrics read through kept-open files
//! (one `MetricsReader` per container, sharing one open-file budget). It keeps the latest
//! sample per container for consumers (API, Prometheus, policy) and publishes what only
//! sampling can see: `memory.limit_near` (usage crossed a ratio of the limit) and
//! `cpu.throttled` (throttled periods rose since the previous sample).

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, SystemTime},
};

use serde::Serialize;

use crate::{
    cgroup::{CgroupPaths, FdBudget, Hierarchies},
    clock::monotonic_ns,
    event::{ContainerRef, EventBody, Source},
    host::HostRoot,
    metrics::{ContainerMetrics, MetricsReader, ReadMode, Selection},
    pipeline::Pipeline,
};

/// Usage must fall this far below the ratio before `memory.limit_near` can fire again.
const LIMIT_NEAR_HYSTERESIS: f64 = 0.05;

#[derive(Clone, Debug)]
pub struct SamplerOptions {
    pub interval: Duration,
    /// `memory.limit_near` when usage / limit reaches this.
    pub limit_near_ratio: f64,
}

impl Default for SamplerOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            limit_near_ratio: 0.9,
        }
    }
}

/// Usage crossed a ratio of the memory limit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LimitNear {
    pub usage_bytes: u64,
    pub limit_bytes: u64,
    pub ratio: f64,
    pub threshold: f64,
    pub container: ContainerRef,
}

/// Throttled periods rose since the previous sample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CpuThrottled {
    pub throttled_periods: u64,
    pub periods: u64,
    pub throttled_ns: u64,
    pub container: ContainerRef,
}

/// The latest sample per container key (`docker/<id>`).
#[derive(Debug, Default)]
pub struct Samples(RwLock<HashMap<String, ContainerMetrics>>);

impl Samples {
    pub fn get(&self, key: &str) -> Option<ContainerMetrics> {
        self.0.read().ok()?.get(key).cloned()
    }

    pub fn all(&self) -> Vec<(String, ContainerMetrics)> {
        self.0
            .read()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
}

struct Tracked {
    reader: MetricsReader,
    container: ContainerRef,
    near: bool,
    nr_throttled: Option<u64>,
    nr_periods: Option<u64>,
    throttled_ns: Option<u64>,
}

/// Decides the sampling events for one container from its previous state and a new sample.
fn judge(t: &mut Tracked, m: &ContainerMetrics, ratio: f64) -> Vec<EventBody> {
    let mut out = Vec::new();
    if let (Some(usage), Some(limit)) = (m.memory_usage_bytes, m.memory_limit_bytes)
        && limit > 0
    {
        let r = usage as f64 / limit as f64;
        if r >= ratio && !t.near {
            t.near = true;
            out.push(EventBody::MemoryLimitNear(LimitNear {
                usage_bytes: usage,
                limit_bytes: limit,
                ratio: r,
                threshold: ratio,
                container: t.container.clone(),
            }));
        } else if r < ratio - LIMIT_NEAR_HYSTERESIS {
            t.near = false;
        }
    }
    if let (Some(now), Some(before)) = (m.cpu.nr_throttled, t.nr_throttled)
        && now > before
    {
        out.push(EventBody::CpuThrottled(CpuThrottled {
            throttled_periods: now - before,
            periods: m
                .cpu
                .nr_periods
                .zip(t.nr_periods)
                .map_or(0, |(a, b)| a.saturating_sub(b)),
            throttled_ns: m
                .cpu
                .throttled_ns
                .zip(t.throttled_ns)
                .map_or(0, |(a, b)| a.saturating_sub(b)),
            container: t.container.clone(),
        }));
    }
    t.nr_throttled = m.cpu.nr_throttled;
    t.nr_periods = m.cpu.nr_periods;
    t.throttled_ns = m.cpu.throttled_ns;
    out
}

/// Samples every `options.interval` until aborted.
pub async fn run(
    pipeline: Arc<Pipeline>,
    host: HostRoot,
    hierarchies: Hierarchies,
    options: SamplerOptions,
    samples: Arc<Samples>,
) {
    // Shared with the per-container PSI triggers.
    let budget = FdBudget::process();
    let mut tracked: HashMap<String, Tracked> = HashMap::new();
    let mut tick = tokio::time::interval(options.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let present: Vec<(String, String, Option<u32>, ContainerRef)> = pipeline
            .inventory()
            .containers()
            .filter_map(|c| {
                Some((
                    c.key.clone(),
                    c.cgroup_path()?.to_string(),
                    c.pids.first().copied(),
                    c.to_ref(),
                ))
            })
            .collect();
        tracked.retain(|k, _| present.iter().any(|(p, ..)| p == k));
        let mut latest = HashMap::new();
        let mut events = Vec::new();
        for (key, path, pid, container) in present {
            let t = tracked.entry(key.clone()).or_insert_with(|| Tracked {
                reader: MetricsReader::new(
                    &host,
                    &hierarchies,
                    &CgroupPaths::uniform(path),
                    pid,
                    Selection::ALL,
                    ReadMode::KeepOpen {
                        budget: Some(budget.clone()),
                    },
                ),
                container: container.clone(),
                near: false,
                nr_throttled: None,
                nr_periods: None,
                throttled_ns: None,
            });
            let mut m = t.reader.collect();
            m.runtime = container.runtime.as_str().to_string();
            m.container_id = Some(container.id.clone());
            events.extend(judge(t, &m, options.limit_near_ratio));
            latest.insert(key, m);
        }
        if let Ok(mut s) = samples.0.write() {
            *s = latest;
        }
        for body in events {
            pipeline.ingest(Source::Sampler, SystemTime::now(), monotonic_ns(), body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ContainerRuntime;

    fn tracked() -> Tracked {
        Tracked {
            reader: MetricsReader::new(
                &HostRoot::at("/nonexistent"),
                &Hierarchies::from_mountinfo("", ""),
                &CgroupPaths::uniform("/x"),
                None,
                Selection::ALL,
                ReadMode::OneShot,
            ),
            container: ContainerRef {
                runtime: ContainerRuntime::Docker,
                id: "abc".into(),
                name: None,
                pod: None,
            },
            near: false,
            nr_throttled: None,
            nr_periods: None,
            throttled_ns: None,
        }
    }

    fn sample(usage: u64, limit: Option<u64>, throttled: Option<u64>) -> ContainerMetrics {
        let mut m = ContainerMetrics {
            memory_usage_bytes: Some(usage),
            memory_limit_bytes: limit,
            ..ContainerMetrics::default()
        };
        m.cpu.nr_throttled = throttled;
        m.cpu.nr_periods = throttled.map(|t| t * 10);
        m
    }

    #[test]
    fn limit_near_fires_on_crossing_and_rearms_below_the_hysteresis() {
        let mut t = tracked();
        assert!(judge(&mut t, &sample(80, Some(100), None), 0.9).is_empty());
        let fired = judge(&mut t, &sample(95, Some(100), None), 0.9);
        assert!(
            matches!(&fired[..], [EventBody::MemoryLimitNear(n)] if n.usage_bytes == 95 && n.limit_bytes == 100)
        );
        assert!(
            judge(&mut t, &sample(97, Some(100), None), 0.9).is_empty(),
            "still near: once"
        );
        assert!(
            judge(&mut t, &sample(88, Some(100), None), 0.9).is_empty(),
            "within hysteresis"
        );
        assert!(
            judge(&mut t, &sample(95, Some(100), None), 0.9).is_empty(),
            "not re-armed yet"
        );
        assert!(judge(&mut t, &sample(80, Some(100), None), 0.9).is_empty());
        assert_eq!(
            judge(&mut t, &sample(91, Some(100), None), 0.9).len(),
            1,
            "re-armed"
        );
        assert!(
            judge(&mut t, &sample(10_000, None, None), 0.9).is_empty(),
            "unlimited"
        );
    }

    #[test]
    fn throttling_reports_the_rise_between_samples() {
        let mut t = tracked();
        assert!(
            judge(&mut t, &sample(1, None, Some(5)), 0.9).is_empty(),
            "first sample"
        );
        assert!(
            judge(&mut t, &sample(1, None, Some(5)), 0.9).is_empty(),
            "no rise"
        );
        let fired = judge(&mut t, &sample(1, None, Some(12)), 0.9);
        assert!(
            matches!(&fired[..], [EventBody::CpuThrottled(c)] if c.throttled_periods == 7 && c.periods == 70)
        );
    }
}
