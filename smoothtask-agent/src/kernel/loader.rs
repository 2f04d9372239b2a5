//! Loads the embedded object, attaches the programs and starts the reader and counter tasks.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, SystemTime},
};

use aya::{
    Ebpf,
    maps::{MapData, PerCpuArray, RingBuf},
    programs::TracePoint,
};
use smoothtask_common::maps::{CGROUP_PROGRAMS, EVENTS_MAP, LOST_MAP, PARTIAL_MAP};
use tokio::{io::unix::AsyncFd, task::JoinHandle};

use super::{
    KernelError,
    counters::{KernelCounters, delta},
    format, object,
    reader::{self, ReaderStats},
    tracefs::{TracefsStatus, ensure_tracefs},
};
use crate::{
    bus::Bus,
    clock::{WallClock, monotonic_ns},
    event::{EventBody, KindCount, Source},
    pipeline::Pipeline,
};

/// Attached kernel programs and the tasks that read them. Dropping it detaches everything.
pub struct KernelSource {
    /// Keeps programs loaded and links attached.
    _ebpf: Ebpf,
    programs: Vec<&'static str>,
    tracefs: TracefsStatus,
    stats: Arc<ReaderStats>,
    tasks: Vec<JoinHandle<()>>,
}

impl KernelSource {
    /// Loads and attaches the cgroup programs and starts publishing their records on `bus`.
    /// Kernel counter deltas (lost or undecodable records) are published every `report_every`.
    pub fn start(pipeline: Arc<Pipeline>, report_every: Duration) -> Result<Self, KernelError> {
        if object::is_stub_build() {
            return Err(KernelError::StubBuild);
        }
        let tracefs = ensure_tracefs()?;
        for tp in &CGROUP_PROGRAMS {
            format::verify(tracefs.path(), tp)?;
        }

        let mut ebpf = Ebpf::load(object::embedded_object())?;
        let mut programs = Vec::new();
        for tp in &CGROUP_PROGRAMS {
            let prog_err = |source| KernelError::Program {
                program: tp.program,
                source,
            };
            let program: &mut TracePoint = ebpf
                .program_mut(tp.program)
                .ok_or(KernelError::MissingProgram(tp.program))?
                .try_into()
                .map_err(prog_err)?;
            program.load().map_err(prog_err)?;
            program.attach(tp.category, tp.name).map_err(prog_err)?;
            programs.push(tp.program);
        }

        let ring = RingBuf::try_from(take_map(&mut ebpf, EVENTS_MAP)?).map_err(|source| {
            KernelError::Map {
                map: EVENTS_MAP,
                source,
            }
        })?;
        let counters = KernelCounters::new(
            per_cpu(&mut ebpf, LOST_MAP)?,
            per_cpu(&mut ebpf, PARTIAL_MAP)?,
        );
        // SAFETY: the ring buffer owns its fd and keeps it open until the AsyncFd drops it.
        let ring = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
            .map_err(|e| KernelError::AsyncFd(e.into_parts().1))?;

        let stats = Arc::new(ReaderStats::default());
        let clock = WallClock::new();
        let tasks = vec![
            tokio::spawn(report_counters(
                counters,
                Arc::clone(pipeline.bus()),
                Arc::clone(&stats),
                report_every,
            )),
            tokio::spawn(reader::run(ring, pipeline, clock, Arc::clone(&stats))),
        ];
        Ok(Self {
            _ebpf: ebpf,
            programs,
            tracefs,
            stats,
            tasks,
        })
    }

    /// Names of the attached programs.
    pub fn programs(&self) -> &[&'static str] {
        &self.programs
    }

    pub fn tracefs(&self) -> &TracefsStatus {
        &self.tracefs
    }

    /// Records read from the ring buffer so far.
    pub fn records_read(&self) -> u64 {
        self.stats.records.load(Ordering::Relaxed)
    }
}

impl Drop for KernelSource {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn take_map(ebpf: &mut Ebpf, name: &'static str) -> Result<aya::maps::Map, KernelError> {
    ebpf.take_map(name).ok_or(KernelError::MissingMap(name))
}

fn per_cpu(ebpf: &mut Ebpf, name: &'static str) -> Result<PerCpuArray<MapData, u64>, KernelError> {
    PerCpuArray::try_from(take_map(ebpf, name)?)
        .map_err(|source| KernelError::Map { map: name, source })
}

/// Publishes `kernel.lost` and `kernel.decode_error` whenever their counters rise, so no loss
/// goes unannounced.
async fn report_counters(
    counters: KernelCounters,
    bus: Arc<Bus>,
    stats: Arc<ReaderStats>,
    every: Duration,
) {
    let mut reported_lost: Vec<KindCount> = Vec::new();
    let mut reported_decode_errors = 0u64;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let lost = counters.lost();
        let new = delta(&reported_lost, &lost);
        if !new.is_empty() {
            let total = new.iter().map(|c| c.count).sum();
            tracing::warn!(target: "kernel", "{total} kernel records lost (ring buffer full)");
            bus.publish(
                Source::Agent,
                SystemTime::now(),
                monotonic_ns(),
                EventBody::KernelLost { lost: new, total },
            );
            reported_lost = lost;
        }
        let errors = stats.decode_errors.load(Ordering::Relaxed);
        if errors > reported_decode_errors {
            bus.publish(
                Source::Agent,
                SystemTime::now(),
                monotonic_ns(),
                EventBody::KernelDecodeError {
                    count: errors - reported_decode_errors,
                    last_error: stats
                        .last_error
                        .lock()
                        .map(|e| e.clone())
                        .unwrap_or_default(),
                },
            );
            reported_decode_errors = errors;
        }
    }
}
