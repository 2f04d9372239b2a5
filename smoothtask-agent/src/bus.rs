//! The bus: one broadcast of `Arc<Event>` that every source publishes to and every consumer
//! subscribes to. Ids are assigned here, so they increase in publication order.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::SystemTime,
};

use tokio::sync::broadcast;

use crate::event::{Event, EventBody, SCHEMA_VERSION, Source};

/// Events a subscriber may fall behind before it is told it lagged.
pub const DEFAULT_CAPACITY: usize = 65_536;

#[derive(Debug)]
pub struct Bus {
    tx: broadcast::Sender<Arc<Event>>,
    next_id: AtomicU64,
}

impl Bus {
    pub fn new(capacity: usize) -> Arc<Self> {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Arc::new(Self {
            tx,
            next_id: AtomicU64::new(1),
        })
    }

    /// Publishes one event and returns it. Publishing never waits for subscribers.
    pub fn publish(
        &self,
        source: Source,
        time: SystemTime,
        mono_ns: u64,
        body: EventBody,
    ) -> Arc<Event> {
        let event = Arc::new(Event {
            schema: SCHEMA_VERSION,
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            time,
            mono_ns,
            source,
            body,
        });
        // No subscriber is not an error: the event simply has no audience.
        let _ = self.tx.send(Arc::clone(&event));
        event
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub fn subscriber_count(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Events published so far.
    pub fn published(&self) -> u64 {
        self.next_id.load(Ordering::Relaxed) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::KernelMode;

    fn started() -> EventBody {
        EventBody::AgentStarted {
            version: "t".into(),
            kernel: KernelMode::Disabled {
                reason: "test".into(),
            },
            cgroup_lifecycle: "rescan",
        }
    }

    #[tokio::test]
    async fn ids_increase_in_publication_order_for_every_subscriber() {
        let bus = Bus::new(16);
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        for _ in 0..3 {
            bus.publish(Source::Agent, SystemTime::now(), 0, started());
        }
        for rx in [&mut a, &mut b] {
            let ids: Vec<u64> = (0..3).map(|_| rx.try_recv().unwrap().id).collect();
            assert_eq!(ids, vec![1, 2, 3]);
        }
        assert_eq!(bus.published(), 3);
        assert_eq!(bus.subscriber_count(), 2);
    }
}
