//! [`MetricsReader`]: the files of one cgroup's metrics resolved once, then read on every pass,
//! either opened each time or kept open and re-read with `pread` at offset 0.

use std::path::{Path, PathBuf};

use super::types::{ContainerMetrics, Reading, UnreadableFile};
use crate::{
    cgroup::{
        CgroupError, CgroupPaths, ControlFile, FdBudget, Hierarchies, HierarchyRef, ParseError,
    },
    host::HostRoot,
};

/// One file a pass may read. v1 and v2 variants are separate slots; only the ones that apply
/// to the host's layout are planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    MemoryCurrent,
    MemoryPeak,
    MemoryMax,
    MemoryHigh,
    MemoryLow,
    MemoryMin,
    MemorySwapMax,
    MemorySwapCurrent,
    MemoryEvents,
    V1MemoryUsage,
    V1MemoryMaxUsage,
    V1MemoryLimit,
    V1MemorySoftLimit,
    V1MemswLimit,
    V1MemswUsage,
    V1OomControl,
    CpuMax,
    CpuWeight,
    CpuStat,
    V1CfsQuota,
    V1CfsPeriod,
    V1CpuShares,
    V1CpuStat,
    V1CpuacctUsage,
    PidsCurrent,
    PidsMax,
    CpuPressure,
    MemoryPressure,
    IoPressure,
    NetDev,
}

const SLOT_COUNT: usize = Slot::NetDev as usize + 1;

impl Slot {
    fn file_name(self) -> &'static str {
        match self {
            Slot::MemoryCurrent => "memory.current",
            Slot::MemoryPeak => "memory.peak",
            Slot::MemoryMax => "memory.max",
            Slot::MemoryHigh => "memory.high",
            Slot::MemoryLow => "memory.low",
            Slot::MemoryMin => "memory.min",
            Slot::MemorySwapMax => "memory.swap.max",
            Slot::MemorySwapCurrent => "memory.swap.current",
            Slot::MemoryEvents => "memory.events",
            Slot::V1MemoryUsage => "memory.usage_in_bytes",
            Slot::V1MemoryMaxUsage => "memory.max_usage_in_bytes",
            Slot::V1MemoryLimit => "memory.limit_in_bytes",
            Slot::V1MemorySoftLimit => "memory.soft_limit_in_bytes",
            Slot::V1MemswLimit => "memory.memsw.limit_in_bytes",
            Slot::V1MemswUsage => "memory.memsw.usage_in_bytes",
            Slot::V1OomControl => "memory.oom_control",
            Slot::CpuMax => "cpu.max",
            Slot::CpuWeight => "cpu.weight",
            Slot::CpuStat | Slot::V1CpuStat => "cpu.stat",
            Slot::V1CfsQuota => "cpu.cfs_quota_us",
            Slot::V1CfsPeriod => "cpu.cfs_period_us",
            Slot::V1CpuShares => "cpu.shares",
            Slot::V1CpuacctUsage => "cpuacct.usage",
            Slot::PidsCurrent => "pids.current",
            Slot::PidsMax => "pids.max",
            Slot::CpuPressure => "cpu.pressure",
            Slot::MemoryPressure => "memory.pressure",
            Slot::IoPressure => "io.pressure",
            Slot::NetDev => "net/dev",
        }
    }
}

const MEMORY_V2: &[Slot] = &[
    Slot::MemoryCurrent,
    Slot::MemoryPeak,
    Slot::MemoryMax,
    Slot::MemoryHigh,
    Slot::MemoryLow,
    Slot::MemoryMin,
    Slot::MemorySwapMax,
    Slot::MemorySwapCurrent,
    Slot::MemoryEvents,
];
const MEMORY_V1: &[Slot] = &[
    Slot::V1MemoryUsage,
    Slot::V1MemoryMaxUsage,
    Slot::V1MemoryLimit,
    Slot::V1MemorySoftLimit,
    Slot::V1MemswLimit,
    Slot::V1MemswUsage,
    Slot::V1OomControl,
];
const CPU_V2: &[Slot] = &[Slot::CpuMax, Slot::CpuWeight];
const CPU_V1: &[Slot] = &[
    Slot::V1CfsQuota,
    Slot::V1CfsPeriod,
    Slot::V1CpuShares,
    Slot::V1CpuStat,
];
const PIDS: &[Slot] = &[Slot::PidsCurrent, Slot::PidsMax];
const PRESSURE: &[Slot] = &[Slot::CpuPressure, Slot::MemoryPressure, Slot::IoPressure];

/// Which groups of metrics a reader collects; fewer groups, fewer files per pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub memory: bool,
    pub cpu: bool,
    pub pids: bool,
    pub pressure: bool,
    pub network: bool,
}

impl Selection {
    pub const ALL: Selection = Selection {
        memory: true,
        cpu: true,
        pids: true,
        pressure: true,
        network: true,
    };
}

impl Default for Selection {
    fn default() -> Self {
        Selection::ALL
    }
}

/// How a reader gets at its files.
#[derive(Debug, Clone, Default)]
pub enum ReadMode {
    /// Open, read and close every file on every pass (the naive baseline).
    #[default]
    OneShot,
    /// Keep files open and re-read them with `pread(fd, buf, 0)`. With a budget, files beyond
    /// it are read one-shot, so many readers stay within the open-file limit.
    KeepOpen { budget: Option<FdBudget> },
}

/// Reads one cgroup's metrics, pass after pass.
///
/// Construction resolves which files apply (from the host's hierarchies and the cgroup's path
/// on each) without touching them; [`collect`](Self::collect) reads them. A missing file gives
/// `None`; a file that vanishes (the cgroup was removed) gives `None` from then on, until
/// [`reset`](Self::reset); a file that exists but cannot be read or parsed is listed in
/// [`ContainerMetrics::unreadable`]. Nothing here panics on bad content.
#[derive(Debug)]
pub struct MetricsReader {
    files: Vec<Option<ControlFile>>,
    buf: Vec<u8>,
}

/// Where `/proc/<pid>/net/dev` is read from.
#[derive(Debug, Clone, Copy)]
pub(super) enum NetProcess {
    Pid(u32),
    SelfProcess,
}

impl MetricsReader {
    /// A reader for the cgroup at `paths`; network counters from `member_pid`'s namespace.
    pub fn new(
        host: &HostRoot,
        hierarchies: &Hierarchies,
        paths: &CgroupPaths,
        member_pid: Option<u32>,
        selection: Selection,
        mode: ReadMode,
    ) -> Self {
        Self::build(
            host,
            hierarchies,
            paths,
            member_pid.map(NetProcess::Pid),
            selection,
            mode,
        )
    }

    pub(super) fn build(
        host: &HostRoot,
        hierarchies: &Hierarchies,
        paths: &CgroupPaths,
        net: Option<NetProcess>,
        selection: Selection,
        mode: ReadMode,
    ) -> Self {
        let mut plan: Vec<(Slot, PathBuf)> = Vec::new();
        let dir = |h: HierarchyRef<'_>| paths.dir_on(host, h);
        let mut add = |slots: &[Slot], dir: Option<PathBuf>| {
            if let Some(dir) = dir {
                plan.extend(slots.iter().map(|s| (*s, dir.join(s.file_name()))));
            }
        };
        if selection.memory
            && let Some(h) = hierarchies.mount_for_controller("memory")
        {
            add(if h.is_v2() { MEMORY_V2 } else { MEMORY_V1 }, dir(h));
        }
        if selection.cpu {
            let cpu = hierarchies.mount_for_controller("cpu");
            if let Some(h) = cpu {
                add(if h.is_v2() { CPU_V2 } else { CPU_V1 }, dir(h));
            }
            match hierarchies.mount_for_controller("cpuacct") {
                Some(h @ HierarchyRef::V1(_)) => add(&[Slot::V1CpuacctUsage], dir(h)),
                // v2 has cpu.stat (usage, and throttling with the cpu controller) in every
                // cgroup; on hybrid hosts it is the usage source when cpuacct is not on v1.
                _ => {
                    if let Some(v2) = hierarchies.v2.as_ref().map(HierarchyRef::V2) {
                        add(&[Slot::CpuStat], dir(v2));
                    }
                }
            }
        }
        if selection.pids
            && let Some(h) = hierarchies.mount_for_controller("pids")
        {
            add(PIDS, dir(h));
        }
        if selection.pressure
            && let Some(v2) = hierarchies.v2.as_ref().map(HierarchyRef::V2)
        {
            add(PRESSURE, dir(v2));
        }
        if selection.network
            && let Some(process) = net
        {
            let proc_dir = match process {
                NetProcess::Pid(pid) => pid.to_string(),
                NetProcess::SelfProcess => "self".to_string(),
            };
            add(&[Slot::NetDev], Some(host.proc_path(&proc_dir)));
        }
        let mut files: Vec<Option<ControlFile>> = (0..SLOT_COUNT).map(|_| None).collect();
        for (slot, path) in plan {
            files[slot as usize] = Some(match &mode {
                ReadMode::OneShot => ControlFile::one_shot(path),
                ReadMode::KeepOpen { budget } => ControlFile::kept_open(path, budget.clone()),
            });
        }
        MetricsReader {
            files,
            buf: Vec::new(),
        }
    }

    /// The files a pass reads (those that exist), in slot order.
    pub fn planned_files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().flatten().map(ControlFile::path)
    }

    /// Descriptors currently held.
    pub fn open_files(&self) -> usize {
        self.files.iter().flatten().filter(|f| f.is_open()).count()
    }

    /// Closes every file and forgets which were absent.
    pub fn reset(&mut self) {
        self.files.iter_mut().flatten().for_each(ControlFile::reset);
    }

    /// One pass over the files.
    pub fn collect(&mut self) -> ContainerMetrics {
        let mut pass = Pass {
            files: &mut self.files,
            buf: &mut self.buf,
            unreadable: Vec::new(),
        };
        super::build(&mut pass)
    }
}

/// One pass: reads slots and records what could not be read.
pub(super) struct Pass<'r> {
    files: &'r mut [Option<ControlFile>],
    buf: &'r mut Vec<u8>,
    pub(super) unreadable: Vec<UnreadableFile>,
}

impl Pass<'_> {
    /// `None` when the slot is not planned or its file does not exist; otherwise the parsed
    /// value or the error (also recorded in `unreadable`).
    pub(super) fn read<T>(
        &mut self,
        slot: Slot,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<Result<T, String>> {
        let file = self.files[slot as usize].as_mut()?;
        let error = match file.read(self.buf) {
            Ok(None) => return None,
            Ok(Some(text)) => match parse(text) {
                Ok(v) => return Some(Ok(v)),
                Err(source) => CgroupError::Parse {
                    path: file.path().to_path_buf(),
                    source,
                },
            },
            Err(e) => e,
        };
        let detail = match &error {
            CgroupError::Io { source, .. } => source.to_string(),
            CgroupError::Parse { source, .. } => source.to_string(),
        };
        self.unreadable.push(UnreadableFile {
            path: error.path().to_path_buf(),
            error: detail,
        });
        Some(Err(error.to_string()))
    }

    /// The value, `None` when absent or unreadable (then recorded).
    pub(super) fn value<T>(
        &mut self,
        slot: Slot,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<T> {
        self.read(slot, parse)?.ok()
    }

    /// A limit-like value that keeps "unreadable" apart from absent.
    pub(super) fn reading<T>(
        &mut self,
        slot: Slot,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<Reading<T>> {
        self.read(slot, parse).map(|r| match r {
            Ok(v) => Reading::Value(v),
            Err(unreadable) => Reading::Unreadable { unreadable },
        })
    }
}
