//! The live stream subscribers: one entry per open `/api/events` response with how far it has
//! read and how many events it missed, for `/api/status` and `/metrics`. An entry goes when its
//! response ends ([`SubscriberGuard`] drops).

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::Serialize;

/// One subscriber's progress.
#[derive(Debug)]
pub struct SubscriberStats {
    pub id: u64,
    pub format: &'static str,
    /// The id of the last event it took from its queue (sent or filtered out).
    seen_id: AtomicU64,
    /// Events it missed because its queue overflowed.
    missed: AtomicU64,
    /// Events written to it.
    sent: AtomicU64,
}

impl SubscriberStats {
    pub fn saw(&self, id: u64) {
        self.seen_id.fetch_max(id, Ordering::Relaxed);
    }

    pub fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }
}

/// A subscriber as `/api/status` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SubscriberView {
    pub id: u64,
    pub format: &'static str,
    pub seen_id: u64,
    /// Events published after the last one it took (`newest_id - seen_id`).
    pub behind: u64,
    pub missed: u64,
    pub sent: u64,
}

#[derive(Debug, Default)]
pub struct Subscribers {
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<SubscriberStats>>>,
    /// Missed by every subscriber, including those gone.
    missed_total: AtomicU64,
}

impl Subscribers {
    fn open(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<SubscriberStats>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a subscriber that has seen everything up to `seen_id`.
    pub fn add(self: &Arc<Self>, format: &'static str, seen_id: u64) -> SubscriberGuard {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let stats = Arc::new(SubscriberStats {
            id,
            format,
            seen_id: AtomicU64::new(seen_id),
            missed: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        });
        self.open().insert(id, Arc::clone(&stats));
        SubscriberGuard {
            registry: Arc::clone(self),
            stats,
        }
    }

    pub fn count(&self) -> usize {
        self.open().len()
    }

    pub fn missed_total(&self) -> u64 {
        self.missed_total.load(Ordering::Relaxed)
    }

    /// Every open subscriber, `newest_id` being the newest event the API has seen.
    pub fn views(&self, newest_id: u64) -> Vec<SubscriberView> {
        self.open()
            .values()
            .map(|s| {
                let seen_id = s.seen_id.load(Ordering::Relaxed);
                SubscriberView {
                    id: s.id,
                    format: s.format,
                    seen_id,
                    behind: newest_id.saturating_sub(seen_id),
                    missed: s.missed.load(Ordering::Relaxed),
                    sent: s.sent.load(Ordering::Relaxed),
                }
            })
            .collect()
    }
}

/// Keeps a subscriber registered while its response lives.
#[derive(Debug)]
pub struct SubscriberGuard {
    registry: Arc<Subscribers>,
    stats: Arc<SubscriberStats>,
}

impl SubscriberGuard {
    pub fn stats(&self) -> &SubscriberStats {
        &self.stats
    }

    /// Counts events this subscriber missed.
    pub fn missed(&self, n: u64) {
        self.stats.missed.fetch_add(n, Ordering::Relaxed);
        self.registry.missed_total.fetch_add(n, Ordering::Relaxed);
    }
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.registry.open().remove(&self.stats.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_come_and_go_and_their_misses_stay_counted() {
        let registry = Arc::new(Subscribers::default());
        let a = registry.add("ndjson", 5);
        let b = registry.add("sse", 5);
        a.stats().saw(9);
        b.missed(3);
        let views = registry.views(10);
        assert_eq!(views.len(), 2);
        assert_eq!((views[0].behind, views[1].behind), (1, 5));
        drop(b);
        assert_eq!(registry.count(), 1);
        assert_eq!(registry.missed_total(), 3);
    }
}
