//! The API's bounded event history and live fan-out. One consumer task takes every event from
//! the bus, counts it, appends it to a ring of the newest `capacity` events and forwards it to
//! the stream subscribers' broadcast, whose capacity is each subscriber's queue. Appending and
//! forwarding happen under one lock, so a subscriber that copies the ring and subscribes under
//! that lock sees every later event exactly once (`?since=` replay, then live). Each event is
//! serialized once here, not once per subscriber.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard},
};

use tokio::sync::broadcast::{self, error::RecvError};

use super::{counters::EventCounters, status::StatusHandle};
use crate::event::{Event, EventBody};

/// Events kept for replay unless configured otherwise.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// An event with its NDJSON line (no newline).
#[derive(Debug)]
pub struct Recorded {
    pub event: Arc<Event>,
    pub json: Box<str>,
}

/// What a stream subscriber receives.
#[derive(Clone, Debug)]
pub enum StreamItem {
    Event(Arc<Recorded>),
    /// The API's consumer fell behind the bus and missed this many events.
    Lagged(u64),
}

/// Events to replay and the live receiver that continues after them.
pub struct Replay {
    pub events: Vec<Arc<Recorded>>,
    /// Events after `since` no longer (or never) held by the history.
    pub missed: u64,
    /// The newest event held when subscribing.
    pub newest_id: Option<u64>,
    pub live: broadcast::Receiver<StreamItem>,
}

#[derive(Debug)]
pub struct History {
    ring: Mutex<VecDeque<Arc<Recorded>>>,
    capacity: usize,
    fanout: broadcast::Sender<StreamItem>,
    queue: usize,
    counters: EventCounters,
}

impl History {
    /// A history of `capacity` events (0 keeps none) whose stream subscribers may fall `queue`
    /// items behind before they lag.
    pub fn new(capacity: usize, queue: usize) -> Self {
        let queue = queue.max(1);
        let (fanout, _) = broadcast::channel(queue);
        Self {
            ring: Mutex::new(VecDeque::with_capacity(capacity.min(DEFAULT_CAPACITY))),
            capacity,
            fanout,
            queue,
            counters: EventCounters::default(),
        }
    }

    fn ring(&self) -> MutexGuard<'_, VecDeque<Arc<Recorded>>> {
        // Pushes and pops are single steps: the ring is whole even after a panic.
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts, keeps and forwards one event.
    pub fn record(&self, event: Arc<Event>) {
        self.counters.count(&event);
        let json = event.to_json().into_boxed_str();
        let recorded = Arc::new(Recorded { event, json });
        let mut ring = self.ring();
        if self.capacity > 0 {
            if ring.len() == self.capacity {
                ring.pop_front();
            }
            ring.push_back(Arc::clone(&recorded));
        }
        // No subscriber is not an error.
        let _ = self.fanout.send(StreamItem::Event(recorded));
    }

    /// Records that the consumer missed `missed` bus events and tells the subscribers.
    pub fn record_lag(&self, missed: u64) {
        self.counters.add_missed(missed);
        let _ring = self.ring();
        let _ = self.fanout.send(StreamItem::Lagged(missed));
    }

    /// Subscribes: the held events after `since` (none without `since`), then live.
    pub fn subscribe(&self, since: Option<u64>) -> Replay {
        let ring = self.ring();
        let live = self.fanout.subscribe();
        let newest_id = ring.back().map(|r| r.event.id);
        let Some(since) = since else {
            return Replay {
                events: Vec::new(),
                missed: 0,
                newest_id,
                live,
            };
        };
        let missed = ring.front().map_or(0, |oldest| {
            oldest.event.id.saturating_sub(since.saturating_add(1))
        });
        let start = ring.partition_point(|r| r.event.id <= since);
        Replay {
            events: ring.range(start..).cloned().collect(),
            missed,
            newest_id,
            live,
        }
    }

    /// The newest `limit` held events that `keep` accepts, oldest first.
    pub fn recent(&self, limit: usize, keep: impl Fn(&Event) -> bool) -> Vec<Arc<Event>> {
        let ring = self.ring();
        let mut found: Vec<Arc<Event>> = ring
            .iter()
            .rev()
            .filter(|r| keep(&r.event))
            .take(limit)
            .map(|r| Arc::clone(&r.event))
            .collect();
        found.reverse();
        found
    }

    /// (events held, oldest id, newest id).
    pub fn extent(&self) -> (usize, Option<u64>, Option<u64>) {
        let ring = self.ring();
        (
            ring.len(),
            ring.front().map(|r| r.event.id),
            ring.back().map(|r| r.event.id),
        )
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Each stream subscriber's queue length.
    pub fn queue(&self) -> usize {
        self.queue
    }

    pub fn counters(&self) -> &EventCounters {
        &self.counters
    }
}

/// The consumer task: every bus event into the history until the bus closes. An
/// `agent.started` event also sets the kernel mode in `status`.
pub async fn consume(
    mut rx: broadcast::Receiver<Arc<Event>>,
    history: Arc<History>,
    status: StatusHandle,
) {
    loop {
        match rx.recv().await {
            Ok(event) => {
                if let EventBody::AgentStarted { kernel, .. } = &event.body {
                    status.update(|s| s.set_kernel_mode(kernel));
                }
                history.record(event);
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(target: "api", "the API's event history fell behind the bus and missed {missed} events");
                history.record_lag(missed);
            }
            Err(RecvError::Closed) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::event::{SCHEMA_VERSION, Source};

    fn event(id: u64) -> Arc<Event> {
        Arc::new(Event {
            schema: SCHEMA_VERSION,
            id,
            time: SystemTime::UNIX_EPOCH,
            mono_ns: 0,
            source: Source::Agent,
            body: EventBody::KernelDecodeError {
                count: 1,
                last_error: "x".into(),
            },
        })
    }

    #[test]
    fn keeps_the_newest_and_replays_after_since() {
        let history = History::new(3, 8);
        for id in 1..=5 {
            history.record(event(id));
        }
        assert_eq!(history.extent(), (3, Some(3), Some(5)));
        let replay = history.subscribe(Some(3));
        let ids: Vec<u64> = replay.events.iter().map(|r| r.event.id).collect();
        assert_eq!((ids, replay.missed), (vec![4, 5], 0));
        let replay = history.subscribe(Some(0));
        assert_eq!((replay.events.len(), replay.missed), (3, 2));
        assert!(history.subscribe(None).events.is_empty());
        assert_eq!(history.counters().decode_errors(), 5);
        let recent: Vec<u64> = history.recent(2, |_| true).iter().map(|e| e.id).collect();
        assert_eq!(recent, vec![4, 5]);
    }

    #[test]
    fn live_continues_where_the_replay_ends() {
        let history = History::new(10, 8);
        history.record(event(1));
        let mut replay = history.subscribe(Some(0));
        history.record(event(2));
        assert_eq!(replay.events.len(), 1);
        match replay.live.try_recv() {
            Ok(StreamItem::Event(r)) => assert_eq!(r.event.id, 2),
            other => panic!("{other:?}"),
        }
    }
}
