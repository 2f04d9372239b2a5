//! The pressure watcher: system-wide triggers on `/proc/pressure/*` and per-container memory
//! triggers on each container's cgroup v2 `memory.pressure`, armed and dropped as containers
//! come and go. Each firing is a `pressure.threshold` event.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime},
};

use tokio::{sync::broadcast::error::RecvError, task::JoinHandle};

use super::{Resource, StallKind, Trigger, TriggerSpec, has_cap_sys_resource, trigger::Fired};
use crate::{
    cgroup::{FdBudget, FdToken, Hierarchies, HierarchyRef},
    clock::monotonic_ns,
    event::{ContainerRef, EventBody, PressureThreshold, Source},
    host::HostRoot,
    pipeline::Pipeline,
};

/// What to watch.
#[derive(Clone, Debug)]
pub struct PressureOptions {
    pub stall: Duration,
    pub window: Duration,
    /// Resources watched system-wide.
    pub system: Vec<Resource>,
    /// Arm a memory trigger on every container's cgroup v2.
    pub containers: bool,
}

impl Default for PressureOptions {
    fn default() -> Self {
        Self {
            stall: Duration::from_millis(100),
            window: Duration::from_secs(2),
            system: Resource::ALL.to_vec(),
            containers: true,
        }
    }
}

/// Running triggers. Dropping it disarms them all.
pub struct PressureWatcher {
    tasks: Vec<JoinHandle<()>>,
    /// Why some part is not watched (no PSI, no cgroup v2...), for the status.
    pub notes: Vec<String>,
    pub system_triggers: usize,
}

impl Drop for PressureWatcher {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl PressureWatcher {
    pub fn start(
        pipeline: Arc<Pipeline>,
        host: &HostRoot,
        hierarchies: &Hierarchies,
        options: &PressureOptions,
    ) -> Self {
        let requested = TriggerSpec {
            kind: StallKind::Some,
            stall: options.stall,
            window: options.window,
        };
        let (spec, rounded) = requested.accepted(has_cap_sys_resource());
        let mut notes = Vec::new();
        if rounded {
            let note = format!(
                "no CAP_SYS_RESOURCE: PSI window {:?} rounded up to {:?} (the kernel accepts only multiples of 2 s)",
                requested.window, spec.window
            );
            tracing::info!(target: "pressure", "{note}");
            notes.push(note);
        }
        let mut tasks = Vec::new();
        let mut system_triggers = 0;
        for resource in &options.system {
            let path = host.proc_path(&format!("pressure/{}", resource.as_str()));
            match Trigger::arm(&path, spec) {
                Ok(trigger) => {
                    system_triggers += 1;
                    tasks.push(tokio::spawn(watch(
                        trigger,
                        *resource,
                        None,
                        None,
                        Arc::clone(&pipeline),
                    )));
                }
                Err(err) => {
                    tracing::warn!(target: "pressure", "{err}");
                    notes.push(err.to_string());
                }
            }
        }
        if options.containers {
            match hierarchies.v2.as_ref() {
                Some(v2) => tasks.push(tokio::spawn(per_container(
                    Arc::clone(&pipeline),
                    host.clone(),
                    HierarchyRefOwned(v2.clone()),
                    spec,
                ))),
                None => notes.push("no cgroup v2 hierarchy: no per-container PSI triggers".into()),
            }
        }
        Self {
            tasks,
            notes,
            system_triggers,
        }
    }
}

/// The v2 hierarchy, owned by the per-container task.
struct HierarchyRefOwned(crate::cgroup::V2Hierarchy);

async fn watch(
    trigger: Trigger,
    resource: Resource,
    cgroup_path: Option<String>,
    container: Option<ContainerRef>,
    pipeline: Arc<Pipeline>,
) {
    loop {
        match trigger.fired().await {
            Fired::Gone => return, // the cgroup went away: dropped quietly
            Fired::Threshold => {
                let now = trigger.read_now();
                let line = now.as_ref().map(|p| &p.some);
                let spec = trigger.spec();
                let body = EventBody::PressureThreshold(PressureThreshold {
                    scope: if container.is_some() {
                        "container"
                    } else {
                        "system"
                    },
                    resource: resource.as_str(),
                    stall_kind: spec.kind.as_str(),
                    stall_us: u64::try_from(spec.stall.as_micros()).unwrap_or(u64::MAX),
                    window_us: u64::try_from(spec.window.as_micros()).unwrap_or(u64::MAX),
                    avg10: line.map(|l| l.avg10),
                    total_us: line.map(|l| l.total),
                    cgroup_path: cgroup_path.clone(),
                    container: container.clone(),
                });
                pipeline.ingest(Source::Psi, SystemTime::now(), monotonic_ns(), body);
            }
        }
    }
}

/// Arms a memory trigger for every container (present and future) on its v2 cgroup.
async fn per_container(
    pipeline: Arc<Pipeline>,
    host: HostRoot,
    v2: HierarchyRefOwned,
    spec: TriggerSpec,
) {
    let mut rx = pipeline.bus().subscribe();
    // Each trigger holds a descriptor: they share the process's budget with the sampler's
    // kept-open files, so thousands of containers cannot starve the agent of descriptors.
    let budget = FdBudget::process();
    let mut spent_warned = false;
    let mut armed: HashMap<String, (JoinHandle<()>, FdToken)> = HashMap::new();
    let mut arm = |key: String,
                   path: String,
                   container: ContainerRef,
                   armed: &mut HashMap<String, (JoinHandle<()>, FdToken)>| {
        if armed.contains_key(&key) {
            return;
        }
        let Some(dir) = HierarchyRef::V2(&v2.0).host_fs_path(&host, &path) else {
            return;
        };
        let Some(token) = budget.try_take() else {
            if !spent_warned {
                spent_warned = true;
                tracing::warn!(target: "pressure", "open-file budget spent: no PSI trigger for {key} and later containers while it stays spent ({} armed)", armed.len());
            }
            return;
        };
        let file: PathBuf = dir.join("memory.pressure");
        match Trigger::arm(&file, spec) {
            Ok(trigger) => {
                let task = tokio::spawn(watch(
                    trigger,
                    Resource::Memory,
                    Some(path),
                    Some(container),
                    Arc::clone(&pipeline),
                ));
                armed.insert(key, (task, token));
            }
            Err(err) => tracing::debug!(target: "pressure", "{err}"),
        }
    };
    let present: Vec<(String, String, ContainerRef)> = pipeline
        .inventory()
        .containers()
        .filter_map(|c| Some((c.key.clone(), c.cgroup_path()?.to_string(), c.to_ref())))
        .collect();
    for (key, path, container) in present {
        arm(key, path, container, &mut armed);
    }
    loop {
        match rx.recv().await {
            Ok(event) => match &event.body {
                EventBody::ContainerAdded { container, .. } => {
                    if let Some(path) = &container.cgroup_path {
                        let key = format!(
                            "{}/{}",
                            container.container.runtime.as_str(),
                            container.container.id
                        );
                        arm(key, path.clone(), container.container.clone(), &mut armed);
                    }
                }
                EventBody::ContainerRemoved { container, .. } => {
                    let key = format!(
                        "{}/{}",
                        container.container.runtime.as_str(),
                        container.container.id
                    );
                    if let Some((task, _token)) = armed.remove(&key) {
                        task.abort();
                    }
                }
                _ => {}
            },
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(target: "pressure", "missed {n} events; containers added meanwhile get triggers at the next rescan");
            }
            Err(RecvError::Closed) => return,
        }
    }
}
