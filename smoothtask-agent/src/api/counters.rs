//! What the API's bus consumer counted: events by kind, kernel records lost by kind (summed from
//! `kernel.lost`), undecodable ring buffer records, events the consumer itself missed because it
//! fell behind the bus, and memory reclaim stalls per container (from `memory.reclaim_stall` and
//! `memory.direct_reclaim`, forgotten when the container goes). Read by `/api/status` and
//! `/metrics`.

use std::{
    collections::BTreeMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use crate::event::{ContainerRef, Event, EventBody, ReclaimKind};

/// The lost-event kind under which the API reports bus events its own consumer missed.
pub const API_CONSUMER_KIND: &str = "api.consumer";

/// Reclaim stalls of one container and one kind of reclaim.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReclaimTotals {
    pub stalls: u64,
    pub stall_ns: u64,
}

/// `<runtime>/<id>`, the inventory's key.
fn key_of(c: &ContainerRef) -> String {
    format!("{}/{}", c.runtime.as_str(), c.id)
}

#[derive(Debug, Default)]
pub struct EventCounters {
    /// (container key, `memcg` or `direct`) -> totals.
    reclaim: Mutex<BTreeMap<(String, &'static str), ReclaimTotals>>,
    by_kind: Mutex<BTreeMap<&'static str, u64>>,
    lost: Mutex<BTreeMap<String, u64>>,
    decode_errors: AtomicU64,
    missed: AtomicU64,
    seen: AtomicU64,
}

impl EventCounters {
    /// Counts one event from the bus.
    pub fn count(&self, event: &Event) {
        self.seen.fetch_add(1, Ordering::Relaxed);
        *lock(&self.by_kind).entry(event.kind()).or_default() += 1;
        match &event.body {
            EventBody::KernelLost { lost, .. } => {
                let mut map = lock(&self.lost);
                for k in lost {
                    *map.entry(k.kind.to_string()).or_default() += k.count;
                }
            }
            EventBody::KernelDecodeError { count, .. } => {
                self.decode_errors.fetch_add(*count, Ordering::Relaxed);
            }
            EventBody::MemoryReclaimStall(stall) | EventBody::MemoryDirectReclaim(stall) => {
                if let Some(c) = &stall.target.container {
                    let kind = match stall.reclaim {
                        ReclaimKind::Memcg => "memcg",
                        ReclaimKind::Direct => "direct",
                    };
                    let mut map = lock(&self.reclaim);
                    let totals = map.entry((key_of(c), kind)).or_default();
                    totals.stalls += stall.count;
                    totals.stall_ns += stall.duration_ns;
                }
            }
            EventBody::ContainerRemoved { container, .. } => {
                let gone = key_of(&container.container);
                lock(&self.reclaim).retain(|(key, _), _| *key != gone);
            }
            _ => {}
        }
    }

    /// Reclaim stalls of the container `key` (`<runtime>/<id>`) by kind (`memcg`, `direct`).
    pub fn reclaim_of(&self, key: &str) -> Vec<(&'static str, ReclaimTotals)> {
        lock(&self.reclaim)
            .iter()
            .filter(|((k, _), _)| k == key)
            .map(|((_, kind), totals)| (*kind, *totals))
            .collect()
    }

    /// Counts bus events the consumer fell behind by.
    pub fn add_missed(&self, n: u64) {
        self.missed.fetch_add(n, Ordering::Relaxed);
    }

    /// Events seen, per kind.
    pub fn by_kind(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.by_kind).clone()
    }

    /// Kernel records lost, per kind, as reported by `kernel.lost` events.
    pub fn kernel_lost(&self) -> BTreeMap<String, u64> {
        lock(&self.lost).clone()
    }

    pub fn decode_errors(&self) -> u64 {
        self.decode_errors.load(Ordering::Relaxed)
    }

    /// Bus events the API's consumer missed.
    pub fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }

    /// Events the consumer received.
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }

    /// Lost events per kind: the larger of what the agent reports and what `kernel.lost` events
    /// said, plus [`API_CONSUMER_KIND`] for the consumer's own misses.
    pub fn merged_lost(&self, reported: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        let mut merged = self.kernel_lost();
        for (kind, count) in reported {
            let entry = merged.entry(kind.clone()).or_default();
            *entry = (*entry).max(*count);
        }
        merged.insert(API_CONSUMER_KIND.to_string(), self.missed());
        merged
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters stay whole if a holder panicked (single increments).
    m.lock().unwrap_or_else(|e| e.into_inner())
}
