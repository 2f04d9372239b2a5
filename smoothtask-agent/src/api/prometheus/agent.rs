//! The agent's own health: version, degraded subsystems, eBPF programs, events by kind, lost
//! events, bus and stream subscribers with their lag, the history, the inventory, the last
//! rescan (when the agent reports one) and this scrape's collection time.

use super::exposition::{COUNTER, Exposition, GAUGE, Num};
use crate::api::{Ctx, policy::PolicyMode, routes::status_view};

pub fn write(out: &mut Exposition, ctx: &Ctx, collect_seconds: f64) {
    let status = status_view(ctx);
    out.family(
        "smoothtask_build_info",
        GAUGE,
        "The agent's version.",
        [(vec![("version", status.version.clone())], Num::U(1))],
    );
    out.family(
        "smoothtask_subsystem_degraded",
        GAUGE,
        "1 when a subsystem runs degraded (see /api/status for the reason).",
        status.subsystems.iter().map(|s| {
            (
                vec![("subsystem", s.name.clone()), ("mode", s.mode.clone())],
                Num::U(u64::from(s.reason.is_some())),
            )
        }),
    );
    out.one(
        "smoothtask_ebpf_programs_attached",
        GAUGE,
        "eBPF programs attached.",
        Num::U(status.ebpf_programs.len() as u64),
    );
    out.one(
        "smoothtask_bus_events_published_total",
        COUNTER,
        "Events published on the bus.",
        Num::U(status.events.published),
    );
    out.family(
        "smoothtask_events_total",
        COUNTER,
        "Events received from the bus by the API, by kind.",
        status
            .events
            .by_kind
            .iter()
            .map(|(kind, n)| (vec![("kind", (*kind).to_string())], Num::U(*n))),
    );
    out.family(
        "smoothtask_lost_events_total",
        COUNTER,
        "Events lost, by kind: kernel records (ring buffer full) and api.consumer (bus events the API missed).",
        status
            .lost_events
            .iter()
            .map(|(kind, n)| (vec![("kind", kind.clone())], Num::U(*n))),
    );
    out.one(
        "smoothtask_kernel_decode_errors_total",
        COUNTER,
        "Ring buffer records the agent could not decode.",
        Num::U(status.decode_errors),
    );
    out.one(
        "smoothtask_bus_subscribers",
        GAUGE,
        "Receivers subscribed to the bus.",
        Num::U(status.subscribers.bus as u64),
    );
    out.one(
        "smoothtask_stream_subscribers",
        GAUGE,
        "Open /api/events streams.",
        Num::U(status.subscribers.streams as u64),
    );
    out.one(
        "smoothtask_stream_subscriber_max_lag_events",
        GAUGE,
        "Events the furthest-behind open stream has yet to take from its queue.",
        Num::U(
            status
                .subscribers
                .open
                .iter()
                .map(|s| s.behind)
                .max()
                .unwrap_or(0),
        ),
    );
    out.one(
        "smoothtask_stream_missed_events_total",
        COUNTER,
        "Events streams missed because their queue overflowed.",
        Num::U(status.subscribers.missed),
    );
    out.one(
        "smoothtask_history_events",
        GAUGE,
        "Events held for replay.",
        Num::U(status.history.held as u64),
    );
    out.one(
        "smoothtask_containers",
        GAUGE,
        "Containers in the inventory.",
        Num::U(status.containers as u64),
    );
    if let Some(scan) = &status.scan {
        out.one(
            "smoothtask_scan_duration_seconds",
            GAUGE,
            "Duration of the last cgroup rescan.",
            Num::F(scan.last_duration_seconds),
        );
        out.one(
            "smoothtask_scans_total",
            COUNTER,
            "Cgroup rescans.",
            Num::U(scan.scans),
        );
        out.one(
            "smoothtask_scan_repaired_containers_total",
            COUNTER,
            "Containers rescans added or removed because events missed them.",
            Num::U(scan.repaired),
        );
    }
    out.one(
        "smoothtask_metrics_collection_duration_seconds",
        GAUGE,
        "Time this scrape spent reading per-container metrics.",
        Num::F(collect_seconds),
    );
    out.one(
        "smoothtask_policy_enforcing",
        GAUGE,
        "1 when the policy mode is enforce, 0 in observe.",
        Num::U(u64::from(ctx.state.policy().mode() == PolicyMode::Enforce)),
    );
}
