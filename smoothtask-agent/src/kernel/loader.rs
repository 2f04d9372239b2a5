//! Loads the embedded object, attaches the programs and starts the reader and counter tasks.

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::{Duration, SystemTime},
};

use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, PerCpuHashMap, RingBuf},
    programs::TracePoint,
};
use smoothtask_common::{
    maps::{
        CGROUP_PROGRAMS, EVENTS_MAP, LOST_MAP, MEMORY_PROGRAMS, PARTIAL_MAP, SHORT_STALLS_MAP,
        STALL_THRESHOLD_GLOBAL, TracepointProgram,
    },
    memory::{RECLAIM_DIRECT, StallKey, StallTotals},
};
use tokio::{io::unix::AsyncFd, task::JoinHandle};

use super::{
    KernelError,
    counters::{KernelCounters, delta},
    decode, format, object,
    reader::{self, ReaderStats},
    tracefs::{TracefsStatus, ensure_tracefs},
};
use crate::{
    bus::Bus,
    clock::{WallClock, monotonic_ns},
    event::{EventBody, KindCount, ReclaimStall, Source},
    pipeline::Pipeline,
};

/// Attached kernel programs and the tasks that read them. Dropping it detaches everything.
pub struct KernelSource {
    /// Keeps programs loaded and links attached.
    _ebpf: Ebpf,
    programs: Vec<&'static str>,
    skipped: Vec<String>,
    tracefs: TracefsStatus,
    stats: Arc<ReaderStats>,
    tasks: Vec<JoinHandle<()>>,
}

impl KernelSource {
    /// Loads and attaches the programs and starts publishing their records through
    /// `pipeline`. The cgroup programs are required; a memory program whose tracepoint this
    /// kernel lacks (or lays out differently) is skipped with its reason. Kernel counter deltas
    /// (lost records, short reclaim stalls) are published every `options.report_every`.
    pub fn start(pipeline: Arc<Pipeline>, options: KernelOptions) -> Result<Self, KernelError> {
        if object::is_stub_build() {
            return Err(KernelError::StubBuild);
        }
        let tracefs = ensure_tracefs()?;
        for tp in &CGROUP_PROGRAMS {
            format::verify(tracefs.path(), tp)?;
        }

        let threshold_ns = u64::try_from(options.stall_threshold.as_nanos()).unwrap_or(u64::MAX);
        let mut ebpf = EbpfLoader::new()
            .override_global(STALL_THRESHOLD_GLOBAL, &threshold_ns, true)
            .load(object::embedded_object())?;
        let mut programs = Vec::new();
        for tp in &CGROUP_PROGRAMS {
            attach(&mut ebpf, tp)?;
            programs.push(tp.program);
        }
        let mut skipped = Vec::new();
        for tp in &MEMORY_PROGRAMS {
            match format::verify(tracefs.path(), tp).and_then(|()| attach(&mut ebpf, tp)) {
                Ok(()) => programs.push(tp.program),
                Err(err) => {
                    tracing::warn!(target: "kernel", "{} not attached: {err}", tp.program);
                    skipped.push(format!("{}: {err}", tp.program));
                }
            }
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

        let short_stalls: PerCpuHashMap<MapData, StallKey, StallTotals> =
            PerCpuHashMap::try_from(take_map(&mut ebpf, SHORT_STALLS_MAP)?).map_err(|source| {
                KernelError::Map {
                    map: SHORT_STALLS_MAP,
                    source,
                }
            })?;

        let stats = Arc::new(ReaderStats::default());
        let clock = WallClock::new();
        let tasks = vec![
            tokio::spawn(report_short_stalls(
                short_stalls,
                Arc::clone(&pipeline),
                options.report_every,
            )),
            tokio::spawn(report_counters(
                counters,
                Arc::clone(pipeline.bus()),
                Arc::clone(&stats),
                options.report_every,
            )),
            tokio::spawn(reader::run(ring, pipeline, clock, Arc::clone(&stats))),
        ];
        Ok(Self {
            _ebpf: ebpf,
            programs,
            skipped,
            tracefs,
            stats,
            tasks,
        })
    }

    /// Names of the attached programs.
    pub fn programs(&self) -> &[&'static str] {
        &self.programs
    }

    /// Optional programs that could not be attached, each with its reason.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
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

/// What the kernel source is tuned with.
#[derive(Clone, Copy, Debug)]
pub struct KernelOptions {
    /// How often kernel counters (lost records, short stalls) are read and reported.
    pub report_every: Duration,
    /// Reclaim stalls at least this long are sent one by one; shorter ones are aggregated in
    /// the kernel and reported every `report_every`.
    pub stall_threshold: Duration,
}

impl Default for KernelOptions {
    fn default() -> Self {
        Self {
            report_every: Duration::from_secs(1),
            stall_threshold: Duration::from_millis(1),
        }
    }
}

fn attach(ebpf: &mut Ebpf, tp: &'static TracepointProgram) -> Result<(), KernelError> {
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
    Ok(())
}

/// Publishes the short reclaim stalls the kernel aggregated, as deltas per cgroup and kind.
async fn report_short_stalls(
    map: PerCpuHashMap<MapData, StallKey, StallTotals>,
    pipeline: Arc<Pipeline>,
    every: Duration,
) {
    let mut reported: HashMap<(u64, u32), StallTotals> = HashMap::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let mut current = HashMap::new();
        for entry in map.iter() {
            let Ok((key, per_cpu)) = entry else { continue };
            let mut sum = StallTotals::default();
            for t in per_cpu.iter() {
                sum.count += t.count;
                sum.total_ns += t.total_ns;
                sum.nr_reclaimed += t.nr_reclaimed;
                sum.last_pid = sum.last_pid.max(t.last_pid);
            }
            current.insert((key.cgroup_id, key.reclaim), sum);
        }
        for (&(cgroup_id, reclaim), now) in &current {
            let before = reported
                .get(&(cgroup_id, reclaim))
                .copied()
                .unwrap_or_default();
            // An LRU eviction restarts a key's totals: then everything is new.
            let before = if now.count < before.count {
                StallTotals::default()
            } else {
                before
            };
            let count = now.count - before.count;
            if count == 0 {
                continue;
            }
            let stall = ReclaimStall {
                reclaim: decode::reclaim_kind(reclaim),
                pid: now.last_pid,
                tid: 0,
                comm: String::new(),
                duration_ns: now.total_ns.saturating_sub(before.total_ns),
                nr_reclaimed: now.nr_reclaimed.saturating_sub(before.nr_reclaimed),
                count,
                aggregated: true,
                target: decode::target(cgroup_id),
            };
            let body = if reclaim == RECLAIM_DIRECT {
                EventBody::MemoryDirectReclaim(stall)
            } else {
                EventBody::MemoryReclaimStall(stall)
            };
            pipeline.ingest(Source::Ebpf, SystemTime::now(), monotonic_ns(), body);
        }
        reported = current;
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
