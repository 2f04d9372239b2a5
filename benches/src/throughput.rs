//! Event throughput: kernel records decoded, enriched and published per second on one core,
//! against a raw drain (records consumed, not decoded) of the same ring buffer in the same run;
//! and records lost while a sustained 100 k/s of real kernel events flows, for the agent and for
//! the raw drain. Targets: >= 1 M events/s, 0 lost at 100 k/s.
//!
//! The events are real: `cgroup_attach_task` records from one sleeping process this benchmark
//! started, moved back and forth between two docker-shaped cgroups it created (one write to
//! `cgroup.procs` per record). The rate is measured with the agent's embedded programs loaded
//! here and their ring buffer read on this thread: each round fills the ring buffer (below its
//! capacity, so nothing is lost), then drains it either raw or through `decode_record` and
//! `Pipeline::ingest` (enrichment against an inventory that knows both containers, publication
//! on a bus with a subscriber), alternating. The loss figure runs the whole agent
//! (`Agent::start`) and counts its `kernel.lost` reports and the events its bus delivered.

use std::{
    fs::File,
    io::Write as _,
    os::fd::AsRawFd as _,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, RingBuf},
    programs::TracePoint,
};
use smoothtask_agent::{
    agent::AgentOptions,
    attribution::Attributor,
    bus::{Bus, DEFAULT_CAPACITY},
    cgroup::Hierarchies,
    clock::WallClock,
    event::{EventBody, Source},
    host::HostRoot,
    inventory::{HierarchyLabels, Inventory, scan_hierarchies},
    kernel::{decode_record, embedded_object, ensure_tracefs},
    pipeline::Pipeline,
};
use smoothtask_common::{
    EventKind,
    maps::{CGROUP_PROGRAMS, EVENTS_BYTES, EVENTS_MAP, LOST_MAP, STALL_THRESHOLD_GLOBAL},
};
use smoothtask_tests::TestChild;

use crate::{
    agent_run,
    containers::{Containers, container_id},
    report::{Benchmark, Figure},
};

/// v1 memory: the hierarchy where a move is cheapest here (no charge moving by default).
const HIERARCHY: &str = "memory";
const ROUNDS: usize = 16;
/// Records per ring buffer record: 312 bytes and an 8-byte header.
const RECORD_BYTES: usize = 320;
const SUSTAINED_RATE: u64 = 100_000;
const SUSTAINED: Duration = Duration::from_secs(5);

/// Moves one process between two cgroups: one `cgroup_attach_task` record per call.
struct Mover {
    _process: TestChild,
    pid: String,
    procs: [File; 2],
    next: usize,
}

impl Mover {
    fn new(containers: &Containers) -> anyhow::Result<Self> {
        let process = TestChild::sleep()?;
        let open = |id: &str| {
            let path = containers
                .parent_dir(HIERARCHY)
                .join(id)
                .join("cgroup.procs");
            File::options()
                .write(true)
                .open(&path)
                .with_context(|| format!("open {}", path.display()))
        };
        Ok(Self {
            pid: process.pid().to_string(),
            _process: process,
            procs: [open(&containers.ids[0])?, open(&containers.ids[1])?],
            next: 0,
        })
    }

    fn moves(&mut self, n: usize) -> anyhow::Result<()> {
        for _ in 0..n {
            self.procs[self.next].write_all(self.pid.as_bytes())?;
            self.next ^= 1;
        }
        Ok(())
    }

    /// `rate` moves per second for `duration`, in 1 ms slices; returns the moves made.
    fn paced(&mut self, rate: u64, duration: Duration) -> anyhow::Result<u64> {
        let start = Instant::now();
        let mut done = 0u64;
        while start.elapsed() < duration {
            let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
            if due > done {
                self.moves((due - done) as usize)?;
                done = due;
            } else {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        Ok(done)
    }
}

/// The agent's embedded programs, loaded and attached here (the cgroup ones only).
struct Programs {
    _ebpf: Ebpf,
    ring: RingBuf<MapData>,
    lost: PerCpuArray<MapData, u64>,
}

impl Programs {
    fn load() -> anyhow::Result<Self> {
        ensure_tracefs()?;
        let mut ebpf = EbpfLoader::new()
            .override_global(STALL_THRESHOLD_GLOBAL, &u64::MAX, true)
            .load(embedded_object())?;
        for tp in &CGROUP_PROGRAMS {
            let program: &mut TracePoint = ebpf
                .program_mut(tp.program)
                .context(tp.program)?
                .try_into()?;
            program.load()?;
            program.attach(tp.category, tp.name)?;
        }
        let ring = RingBuf::try_from(ebpf.take_map(EVENTS_MAP).context(EVENTS_MAP)?)?;
        let lost = PerCpuArray::try_from(ebpf.take_map(LOST_MAP).context(LOST_MAP)?)?;
        Ok(Self {
            _ebpf: ebpf,
            ring,
            lost,
        })
    }

    fn lost(&self) -> u64 {
        self.lost
            .get(&u32::from(EventKind::CgroupAttach.id()), 0)
            .map(|v| v.iter().sum())
            .unwrap_or(0)
    }

    /// Consumes every record without decoding it; returns how many.
    fn drain_raw(&mut self) -> usize {
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            std::hint::black_box(&item[..]);
            n += 1;
        }
        n
    }

    /// What the agent's reader does with each record: decode, enrich, publish.
    fn drain_full(&mut self, pipeline: &Pipeline, clock: &WallClock) -> usize {
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            if let Ok((mono_ns, body)) = decode_record(&item) {
                pipeline.ingest(Source::Ebpf, clock.to_system_time(mono_ns), mono_ns, body);
            }
            n += 1;
        }
        n
    }

    /// Waits up to 10 ms for the ring buffer to become readable.
    fn wait(&self) {
        let mut pfd = libc::pollfd {
            fd: self.ring.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 10) };
    }
}

struct Rates {
    raw_per_s: f64,
    full_per_s: f64,
    lost_during_rounds: u64,
}

/// Alternating rounds: fill the ring buffer, then drain it raw or fully on this thread.
fn rates(programs: &mut Programs, mover: &mut Mover) -> anyhow::Result<Rates> {
    let host = HostRoot::live();
    let hierarchies = Hierarchies::read(&host)?;
    let bus = Bus::new(DEFAULT_CAPACITY);
    let _subscriber = bus.subscribe(); // published events are kept for it, as for a sink
    let pipeline = Pipeline::new(
        bus,
        Inventory::new(HierarchyLabels::from_hierarchies(&hierarchies)),
        Attributor::new(host.clone(), hierarchies.clone()),
    );
    pipeline.reconcile(&scan_hierarchies(&host, &hierarchies), false);
    let clock = WallClock::new();
    // 90 % of the ring buffer: room for records of other cgroup activity on the host.
    let fill = EVENTS_BYTES as usize / RECORD_BYTES * 9 / 10;
    let lost_before = programs.lost();
    let (mut raw, mut full) = ((0usize, 0f64), (0usize, 0f64));
    programs.drain_raw();
    for round in 0..ROUNDS * 2 {
        mover.moves(fill)?;
        let start = Instant::now();
        if round % 2 == 0 {
            raw.0 += programs.drain_raw();
            raw.1 += start.elapsed().as_secs_f64();
        } else {
            full.0 += programs.drain_full(&pipeline, &clock);
            full.1 += start.elapsed().as_secs_f64();
        }
    }
    eprintln!(
        "event throughput: {} records drained raw in {:.1} ms, {} decoded+enriched+published in {:.1} ms",
        raw.0,
        raw.1 * 1e3,
        full.0,
        full.1 * 1e3
    );
    Ok(Rates {
        raw_per_s: raw.0 as f64 / raw.1,
        full_per_s: full.0 as f64 / full.1,
        lost_during_rounds: programs.lost() - lost_before,
    })
}

/// Sustained rate with the raw drain on this thread: returns (moves, achieved/s, lost).
fn sustained_raw(programs: &mut Programs, mover: Mover) -> anyhow::Result<(u64, f64, u64)> {
    programs.drain_raw();
    let lost_before = programs.lost();
    let stop = Arc::new(AtomicBool::new(false));
    let generator = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut mover = mover;
            let start = Instant::now();
            let moved = mover.paced(SUSTAINED_RATE, SUSTAINED);
            stop.store(true, Ordering::Relaxed);
            moved.map(|m| (m, m as f64 / start.elapsed().as_secs_f64()))
        })
    };
    while !stop.load(Ordering::Relaxed) {
        programs.wait();
        programs.drain_raw();
    }
    programs.drain_raw();
    let (moved, rate) = generator
        .join()
        .map_err(|_| anyhow::anyhow!("generator thread"))??;
    Ok((moved, rate, programs.lost() - lost_before))
}

/// What the whole agent did at the sustained rate.
struct AgentRun {
    moved: u64,
    rate: f64,
    lost: u64,
    delivered: u64,
    lagged: u64,
}

fn sustained_agent(containers: &Containers) -> anyhow::Result<AgentRun> {
    let rt = agent_run::runtime()?;
    let agent = agent_run::start(&rt, AgentOptions::default(), DEFAULT_CAPACITY)?;
    let ours = format!("/{}/", containers.prefix);
    let mut rx = agent.bus().subscribe();
    let counter = rt.spawn(async move {
        let (mut delivered, mut lost, mut lagged) = (0u64, 0u64, 0u64);
        loop {
            match rx.recv().await {
                Ok(event) => match &event.body {
                    EventBody::CgroupAttach { cgroup, .. } if cgroup.path.starts_with(&ours) => {
                        delivered += 1
                    }
                    EventBody::KernelLost { total, .. } => lost += total,
                    _ => {}
                },
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => lagged += n,
                Err(_) => break,
            }
        }
        (delivered, lost, lagged)
    });
    let mut mover = Mover::new(containers)?;
    let start = Instant::now();
    let moved = mover.paced(SUSTAINED_RATE, SUSTAINED)?;
    let rate = moved as f64 / start.elapsed().as_secs_f64();
    drop(mover);
    // The loss counters are reported every second.
    std::thread::sleep(Duration::from_millis(2500));
    let (delivered, lost, lagged) = rt.block_on(async {
        agent.shutdown().await;
        counter.await
    })?;
    Ok(AgentRun {
        moved,
        rate,
        lost,
        delivered,
        lagged,
    })
}

pub fn run() -> anyhow::Result<Benchmark> {
    let mut containers = Containers::parents("bench-throughput", &[HIERARCHY])?;
    containers.add(&container_id(0), false)?;
    containers.add(&container_id(1), false)?;
    let mut programs = Programs::load()?;
    let mut mover = Mover::new(&containers)?;
    let rates = rates(&mut programs, &mut mover)?;
    let (raw_moved, raw_rate, raw_lost) = sustained_raw(&mut programs, mover)?;
    drop(programs);
    let agent = sustained_agent(&containers)?;
    drop(containers);
    eprintln!(
        "event throughput: at {SUSTAINED_RATE}/s: raw drain {raw_moved} moves ({raw_rate:.0}/s) lost {raw_lost}; agent {} moves ({:.0}/s), {} delivered, {} lost (kernel), {} lagged (bus subscriber)",
        agent.moved, agent.rate, agent.delivered, agent.lost, agent.lagged
    );
    anyhow::ensure!(
        rates.lost_during_rounds == 0,
        "{} records lost while measuring the drain rate",
        rates.lost_during_rounds
    );
    Ok(Benchmark {
        name: "event throughput".into(),
        what: format!(
            "cgroup_attach_task records from real moves between two cgroups; rate: {ROUNDS} rounds each of filling the ring buffer and draining it on one thread; loss: {} s at {} k/s",
            SUSTAINED.as_secs(),
            SUSTAINED_RATE / 1000
        ),
        figures: vec![
            Figure::new(
                "decoded, enriched, published (one core)",
                "events/s",
                rates.full_per_s,
                "raw ring buffer drain",
                rates.raw_per_s,
            )
            .at_least(1e6),
            Figure::new(
                &format!(
                    "lost at {} k/s (achieved {:.0} k/s)",
                    SUSTAINED_RATE / 1000,
                    agent.rate / 1e3
                ),
                "events",
                agent
                    .lost
                    .max(agent.moved.saturating_sub(agent.delivered + agent.lagged))
                    as f64,
                &format!("raw drain at {:.0} k/s", raw_rate / 1e3),
                raw_lost as f64,
            )
            .at_most(0.0),
        ],
    })
}
