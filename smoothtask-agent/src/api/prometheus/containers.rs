//! Per-container families, labelled `runtime`, `id`, `name`, `pod` (empty when unknown): limits
//! and usage from cgroup files read at scrape time, PSI, OOM kills, and reclaim stalls counted
//! from the kernel's `memory.reclaim_stall` / `memory.direct_reclaim` events. A container
//! without a value (unlimited, file absent) has no sample in that family.

use super::exposition::{COUNTER, Exposition, GAUGE, Labels, Num};
use crate::{
    api::{counters::EventCounters, routes::ContainerView},
    cgroup::{Psi, PsiLine},
    metrics::ContainerMetrics,
};

type Extract = fn(&ContainerMetrics) -> Option<Num>;

fn ns_to_seconds(ns: u64) -> Num {
    Num::F(ns as f64 / 1e9)
}

/// Families with one sample per container: (name, type, help, value).
const SIMPLE: [(&str, &str, &str, Extract); 14] = [
    (
        "smoothtask_container_memory_limit_bytes",
        GAUGE,
        "Hard memory limit (memory.max, memory.limit_in_bytes); absent when unlimited.",
        |m| m.memory_limit_bytes.map(Num::U),
    ),
    (
        "smoothtask_container_memory_usage_bytes",
        GAUGE,
        "Memory in use.",
        |m| m.memory_usage_bytes.map(Num::U),
    ),
    (
        "smoothtask_container_memory_peak_bytes",
        GAUGE,
        "High-water mark of memory use.",
        |m| m.memory.peak_bytes.map(Num::U),
    ),
    (
        "smoothtask_container_memory_swap_usage_bytes",
        GAUGE,
        "Swap in use.",
        |m| m.memory.swap_usage_bytes.map(Num::U),
    ),
    (
        "smoothtask_container_oom_kills_total",
        COUNTER,
        "Processes killed by the OOM killer in the container's cgroup.",
        |m| m.memory.oom_kills.map(Num::U),
    ),
    (
        "smoothtask_container_cpu_shares",
        GAUGE,
        "CPU shares (v1 cpu.shares; on v2 derived from cpu.weight).",
        |m| m.cpu_shares.map(Num::U),
    ),
    (
        "smoothtask_container_cpu_quota",
        GAUGE,
        "CFS quota in microseconds per period; absent when unlimited.",
        |m| m.cpu_quota.map(Num::I),
    ),
    (
        "smoothtask_container_cpu_period",
        GAUGE,
        "CFS period in microseconds.",
        |m| m.cpu_period.map(Num::U),
    ),
    (
        "smoothtask_container_cpu_usage_seconds_total",
        COUNTER,
        "CPU time consumed.",
        |m| m.cpu.usage_ns.map(ns_to_seconds),
    ),
    (
        "smoothtask_container_cpu_periods_total",
        COUNTER,
        "CFS enforcement periods elapsed.",
        |m| m.cpu.nr_periods.map(Num::U),
    ),
    (
        "smoothtask_container_cpu_throttled_periods_total",
        COUNTER,
        "CFS periods in which the container was throttled.",
        |m| m.cpu.nr_throttled.map(Num::U),
    ),
    (
        "smoothtask_container_cpu_throttled_seconds_total",
        COUNTER,
        "Time the container was throttled.",
        |m| m.cpu.throttled_ns.map(ns_to_seconds),
    ),
    (
        "smoothtask_container_pids",
        GAUGE,
        "Processes and threads in the container.",
        |m| m.pids.current.map(Num::U),
    ),
    (
        "smoothtask_container_unreadable_files",
        GAUGE,
        "Cgroup or proc files that exist but could not be read in this scrape.",
        |m| Some(Num::U(m.unreadable.len() as u64)),
    ),
];

fn labels(c: &ContainerView) -> Labels {
    let l = &c.listing;
    vec![
        ("runtime", l.runtime.clone()),
        ("id", l.id.clone()),
        ("name", l.name.clone().unwrap_or_default()),
        (
            "pod",
            l.pod.as_ref().map(|p| p.uid.clone()).unwrap_or_default(),
        ),
    ]
}

fn with(mut labels: Labels, extra: &[(&'static str, &str)]) -> Labels {
    labels.extend(extra.iter().map(|(k, v)| (*k, (*v).to_string())));
    labels
}

/// (resource, scope, line) of every PSI line the container has.
fn psi_lines(m: &ContainerMetrics) -> Vec<(&'static str, &'static str, PsiLine)> {
    let resources: [(&str, Option<&Psi>); 3] = [
        ("cpu", m.pressure.cpu.as_ref()),
        ("memory", m.pressure.memory.as_ref()),
        ("io", m.pressure.io.as_ref()),
    ];
    resources
        .into_iter()
        .filter_map(|(resource, psi)| psi.map(|p| (resource, p)))
        .flat_map(|(resource, p)| {
            std::iter::once((resource, "some", p.some))
                .chain(p.full.map(|full| (resource, "full", full)))
        })
        .collect()
}

pub fn write(out: &mut Exposition, containers: &[ContainerView], counters: &EventCounters) {
    for (name, kind, help, value) in SIMPLE {
        out.family(
            name,
            kind,
            help,
            containers
                .iter()
                .filter_map(|c| value(&c.listing.metrics).map(|v| (labels(c), v))),
        );
    }
    out.family(
        "smoothtask_container_pressure_stalled_seconds_total",
        COUNTER,
        "Time tasks stalled on a resource (PSI total); scope some or full.",
        containers.iter().flat_map(|c| {
            psi_lines(&c.listing.metrics)
                .into_iter()
                .map(move |(resource, scope, line)| {
                    (
                        with(labels(c), &[("resource", resource), ("scope", scope)]),
                        Num::F(line.total as f64 / 1e6),
                    )
                })
        }),
    );
    out.family(
        "smoothtask_container_pressure_ratio",
        GAUGE,
        "Share of time tasks stalled on a resource, averaged over a window (PSI avg10/60/300).",
        containers.iter().flat_map(|c| {
            psi_lines(&c.listing.metrics)
                .into_iter()
                .flat_map(move |(resource, scope, line)| {
                    [
                        ("10s", line.avg10),
                        ("60s", line.avg60),
                        ("300s", line.avg300),
                    ]
                    .into_iter()
                    .map(move |(window, avg)| {
                        let extra = [("resource", resource), ("scope", scope), ("window", window)];
                        (with(labels(c), &extra), Num::F(avg / 100.0))
                    })
                })
        }),
    );
    let reclaim: Vec<(Labels, crate::api::counters::ReclaimTotals)> = containers
        .iter()
        .flat_map(|c| {
            counters
                .reclaim_of(&c.key)
                .into_iter()
                .map(move |(kind, totals)| (with(labels(c), &[("reclaim", kind)]), totals))
        })
        .collect();
    out.family(
        "smoothtask_container_reclaim_stalls_total",
        COUNTER,
        "Memory reclaim stalls seen by the kernel programs since the agent started; reclaim memcg (the container's limit) or direct (the host short of memory).",
        reclaim.iter().map(|(l, t)| (l.clone(), Num::U(t.stalls))),
    );
    out.family(
        "smoothtask_container_reclaim_stall_seconds_total",
        COUNTER,
        "Time tasks spent stalled in memory reclaim since the agent started.",
        reclaim
            .iter()
            .map(|(l, t)| (l.clone(), ns_to_seconds(t.stall_ns))),
    );
}
