//! The one path every fact takes to the bus: enrich (hierarchy name, container identity), update
//! the inventory, publish the event, then publish the containers it added or removed.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::SystemTime,
};

use crate::{
    attribution::Attributor,
    bus::Bus,
    clock::monotonic_ns,
    event::{ContainerSummary, EventBody, Source},
    inventory::{Change, ContainerRecord, Inventory, ObservedCgroup},
};

#[derive(Debug)]
pub struct Pipeline {
    bus: Arc<Bus>,
    inventory: Mutex<Inventory>,
    attributor: Mutex<Attributor>,
}

impl Pipeline {
    pub fn new(bus: Arc<Bus>, inventory: Inventory, attributor: Attributor) -> Arc<Self> {
        Arc::new(Self {
            bus,
            inventory: Mutex::new(inventory),
            attributor: Mutex::new(attributor),
        })
    }

    fn attributor(&self) -> MutexGuard<'_, Attributor> {
        self.attributor.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the containers' current oom_kill counters (once, after startup discovery).
    pub fn prime_oom_counters(&self) {
        let candidates = {
            let inventory = self.inventory();
            self.attributor().oom_candidates(&inventory)
        };
        self.attributor().prime_oom_counters(&candidates);
    }

    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    /// The inventory, locked. Hold it briefly: every event waits for it.
    pub fn inventory(&self) -> MutexGuard<'_, Inventory> {
        // A panic while holding the lock leaves consistent data (updates are single steps).
        self.inventory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Enriches, applies and publishes one event from a source.
    pub fn ingest(&self, source: Source, time: SystemTime, mono_ns: u64, mut body: EventBody) {
        if body.memory_target().is_some() {
            self.attribute_memory(&mut body);
        }
        if let EventBody::CgroupAttach { cgroup, pid, .. } = &body {
            self.attributor()
                .note_attach(*pid, cgroup.hierarchy_id, &cgroup.path);
        }
        let changes = {
            let mut inventory = self.inventory();
            if let Some(cgroup) = body.cgroup_mut() {
                cgroup.hierarchy = Some(inventory.labels().label(cgroup.hierarchy_id));
            }
            // Before applying: an rmdir may remove the container it names.
            let before = body
                .cgroup()
                .and_then(|c| inventory.container_of(c))
                .map(ContainerRecord::to_ref);
            let changes = inventory.apply(&body, time);
            let owner = before.or_else(|| {
                body.cgroup()
                    .and_then(|c| inventory.container_of(c))
                    .map(ContainerRecord::to_ref)
            });
            if let Some(owner) = owner {
                body.set_container(owner);
            }
            changes
        };
        self.bus.publish(source, time, mono_ns, body);
        self.publish_changes(source, time, mono_ns, changes, false);
    }

    /// Memory events: the task's memory cgroup and container; an OOM victim already gone is
    /// attributed by the oom_kill counter that rose.
    fn attribute_memory(&self, body: &mut EventBody) {
        let oom = matches!(body, EventBody::MemoryOomKill(_));
        let Some((pid, target)) = body.memory_target_mut() else {
            return;
        };
        self.attributor().resolve(pid, target);
        let candidates = {
            let inventory = self.inventory();
            self.attributor().attribute(&inventory, target);
            if !oom || target.container.is_some() || target.memory_cgroup.is_some() {
                return;
            }
            self.attributor().oom_candidates(&inventory)
        };
        let risen = self.attributor().oom_risen(&candidates);
        if let Some(key) = risen.first() {
            let inventory = self.inventory();
            if let Some(c) = inventory.get(key) {
                target.container = Some(c.to_ref());
                target.memory_cgroup = c.cgroup_path().map(str::to_string);
                target.attributed_by = Some("oom_kill_counter");
            }
        }
    }

    /// Reconciles the inventory with a scan; publishes what changed (`repaired` when the scan
    /// found what events had missed, false for the discovery at startup). Returns the number
    /// of changes.
    pub fn reconcile(&self, observed: &[ObservedCgroup], repaired: bool) -> usize {
        let now = SystemTime::now();
        let changes = self.inventory().reconcile(observed, now);
        let count = changes.len();
        self.publish_changes(Source::Rescan, now, monotonic_ns(), changes, repaired);
        count
    }

    fn publish_changes(
        &self,
        source: Source,
        time: SystemTime,
        mono_ns: u64,
        changes: Vec<Change>,
        repaired: bool,
    ) {
        for change in changes {
            let body = match change {
                Change::Added(c) => EventBody::ContainerAdded {
                    container: summary(&c),
                    repaired,
                },
                Change::Removed(c) => EventBody::ContainerRemoved {
                    container: summary(&c),
                    repaired,
                },
            };
            self.bus.publish(source, time, mono_ns, body);
        }
    }
}

fn summary(c: &ContainerRecord) -> ContainerSummary {
    ContainerSummary {
        container: c.to_ref(),
        cgroup_path: c.cgroup_path().map(str::to_string),
        cgroup_ids: c
            .cgroups
            .iter()
            .map(|(label, m)| (label.clone(), m.cgroup_id))
            .collect(),
    }
}
