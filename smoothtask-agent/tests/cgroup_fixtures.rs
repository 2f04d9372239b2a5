//! Fixture tests of `cgroup` and `metrics`: fake host roots for v1 (co-mounted `cpu,cpuacct`),
//! v2 (systemd driver), hybrid (this machine: `cpu` and `cpuacct` apart), the agent inside a
//! v1 container, and broken input; plus proptests that the parsers never panic.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use smoothtask_agent::{
    cgroup::{
        self, CgroupPaths, CpuMax, FdBudget, FlatKeyed, Hierarchies, HierarchyRef, Layout, Limit,
        MaxValue, Psi, PsiLine,
    },
    host::HostRoot,
    metrics::{
        self, ContainerMetrics, MetricsReader, ReadMode, Reading, Selection,
        collect_cgroup_metrics, collect_self_metrics,
    },
};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cgroup")
        .join(case)
}

fn host(case: &str) -> HostRoot {
    HostRoot::at(fixture(case))
}

fn read(case: &str) -> (HostRoot, Hierarchies) {
    let host = host(case);
    let h = Hierarchies::read(&host).expect("fixture mountinfo");
    (host, h)
}

fn psi(avg10: f64, avg60: f64, avg300: f64, total: u64) -> PsiLine {
    PsiLine {
        avg10,
        avg60,
        avg300,
        total,
    }
}

/// Metrics of `pid`'s cgroup, collected once one-shot and once through a kept-open reader
/// (twice, to exercise `pread` re-reads); all three must agree.
fn metrics_of(case: &str, pid: u32) -> ContainerMetrics {
    let (host, h) = read(case);
    let paths = CgroupPaths::for_pid(&host, pid).expect("fixture /proc/<pid>/cgroup");
    let naive = collect_cgroup_metrics(&host, &h, &paths, Some(pid));
    let mut reader = MetricsReader::new(
        &host,
        &h,
        &paths,
        Some(pid),
        Selection::ALL,
        ReadMode::KeepOpen {
            budget: Some(FdBudget::new(64)),
        },
    );
    let first = reader.collect();
    assert!(reader.open_files() > 0);
    let second = reader.collect();
    assert_eq!(first, naive, "kept-open pass differs from one-shot");
    assert_eq!(second, naive, "second kept-open pass differs");
    naive
}

// ---------------------------------------------------------------------------- hybrid

#[test]
fn hybrid_hierarchies() {
    let (_, h) = read("hybrid");
    assert_eq!(h.layout, Layout::Hybrid);
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    let ids: Vec<(String, Option<u32>)> =
        h.v1.iter().map(|v| (v.label(), v.hierarchy_id)).collect();
    assert_eq!(
        ids,
        [
            ("cpu", Some(1)),
            ("cpuacct", Some(2)),
            ("cpuset", Some(3)),
            ("memory", Some(4)),
            ("devices", Some(5)),
            ("freezer", Some(6)),
            ("blkio", Some(7)),
            ("pids", Some(8)),
            // Named: not in /proc/cgroups, learnt from /proc/self/cgroup.
            ("name=systemd", Some(9)),
        ]
        .map(|(l, id)| (l.to_string(), id))
    );
    let v2 = h.v2.as_ref().expect("unified");
    assert_eq!(v2.mount_point, Path::new("/sys/fs/cgroup/unified"));
    assert_eq!(
        v2.controllers.as_deref(),
        Some(&["hugetlb".to_string()][..])
    );
    assert_eq!(
        h.mount_for_controller("cpu").map(HierarchyRef::mount_point),
        Some(Path::new("/sys/fs/cgroup/cpu"))
    );
    assert_eq!(
        h.mount_for_controller("cpuacct")
            .map(HierarchyRef::mount_point),
        Some(Path::new("/sys/fs/cgroup/cpuacct"))
    );
    assert!(
        h.mount_for_controller("hugetlb")
            .is_some_and(HierarchyRef::is_v2)
    );
    assert!(h.mount_for_controller("io").is_none());
    // eBPF cgroup tracepoints report `root` = hierarchy id.
    assert_eq!(
        h.by_hierarchy_id(4).map(HierarchyRef::mount_point),
        Some(Path::new("/sys/fs/cgroup/memory"))
    );
    assert_eq!(
        h.by_hierarchy_id(0).map(HierarchyRef::mount_point),
        Some(Path::new("/sys/fs/cgroup/unified"))
    );
    assert!(h.by_hierarchy_id(10).is_none());
    let memory = h.mount_for_controller("memory").expect("memory");
    assert_eq!(
        h.fs_path(memory, "/process_api/650605b195430586f8ab761c15b97b6e"),
        Some(PathBuf::from(
            "/sys/fs/cgroup/memory/process_api/650605b195430586f8ab761c15b97b6e"
        ))
    );
    let human = h.render_human();
    assert!(human.starts_with("cgroup layout: hybrid"), "{human}");
    assert!(human.contains("/sys/fs/cgroup/cpuacct"), "{human}");
    assert!(
        human.contains("not on any v1 hierarchy: net_cls perf_event net_prio hugetlb"),
        "{human}"
    );
    let json = serde_json::to_value(&h).expect("json");
    assert_eq!(json["layout"], "hybrid");
    assert_eq!(json["v1"][8]["name"], "systemd");
    assert_eq!(json["v1"][8]["hierarchy_id"], 9);
}

#[test]
fn hybrid_docker_container_metrics() {
    let m = metrics_of("hybrid", 4242);
    assert!(m.unreadable.is_empty(), "{:?}", m.unreadable);
    assert_eq!(m.runtime, "unknown");
    assert_eq!(m.memory_limit_bytes, Some(536_870_912));
    assert_eq!(m.memory_usage_bytes, Some(104_857_600));
    assert_eq!(m.cpu_shares, Some(512));
    assert_eq!(m.cpu_quota, Some(50_000));
    assert_eq!(m.cpu_period, Some(100_000));
    assert_eq!(m.network_interfaces, ["lo", "eth0"]);

    let mem = &m.memory;
    assert_eq!(mem.limit, Some(Reading::Value(Limit::Bytes(536_870_912))));
    assert_eq!(mem.soft_limit, Some(Reading::Value(Limit::Unlimited)));
    assert_eq!(
        mem.memory_and_swap_limit,
        Some(Reading::Value(Limit::Bytes(1_073_741_824)))
    );
    assert_eq!(mem.swap_usage_bytes, Some(5_242_880));
    assert_eq!(mem.peak_bytes, Some(209_715_200));
    assert_eq!(mem.oom_kills, Some(2));
    assert_eq!(
        (mem.high.clone(), mem.low.clone(), mem.min.clone()),
        (None, None, None)
    );
    assert_eq!(mem.swap_limit, None);

    let cpu = &m.cpu;
    assert_eq!(
        cpu.max,
        Some(Reading::Value(CpuMax {
            quota_us: MaxValue::Value(50_000),
            period_us: 100_000
        }))
    );
    assert_eq!(
        (cpu.shares, cpu.weight, cpu.normalized_weight),
        (Some(512), None, Some(50))
    );
    // Separate cpuacct hierarchy: usage from cpuacct.usage, not the unified cpu.stat.
    assert_eq!(cpu.usage_ns, Some(5_123_456_789));
    assert_eq!(
        (cpu.nr_periods, cpu.nr_throttled, cpu.throttled_ns),
        (Some(1200), Some(37), Some(2_450_000_000))
    );
    assert_eq!(m.pids.current, Some(7));
    assert_eq!(m.pids.max, Some(Reading::Value(MaxValue::Value(100))));
    // Pressure from the unified hierarchy, which has it without controllers.
    assert_eq!(
        m.pressure.cpu,
        Some(Psi {
            some: psi(3.5, 1.25, 0.4, 8_812_345),
            full: Some(psi(0.0, 0.0, 0.0, 0)),
        })
    );
    assert_eq!(
        m.pressure.memory.map(|p| p.full),
        Some(Some(psi(0.1, 0.04, 0.01, 40_123)))
    );
    assert_eq!(m.pressure.io.map(|p| p.some.total), Some(0));
    let eth0 = &m.network[1];
    assert_eq!(
        (
            eth0.rx_bytes,
            eth0.rx_packets,
            eth0.rx_errors,
            eth0.rx_dropped
        ),
        (1_834_567, 2210, 1, 3)
    );
    assert_eq!(
        (
            eth0.tx_bytes,
            eth0.tx_packets,
            eth0.tx_errors,
            eth0.tx_dropped
        ),
        (998_877, 1543, 0, 2)
    );
}

#[test]
fn hybrid_host_root_cgroup_has_v1_sentinels() {
    let (host, h) = read("hybrid");
    let m = collect_cgroup_metrics(&host, &h, &CgroupPaths::uniform("/"), None);
    assert_eq!(m.memory.limit, Some(Reading::Value(Limit::Unlimited)));
    assert_eq!(m.memory_limit_bytes, None);
    assert_eq!(m.memory_usage_bytes, Some(71_372_800));
    assert_eq!(m.cpu_quota, None);
    assert_eq!(m.cpu_period, Some(100_000));
    assert_eq!(m.cpu.normalized_weight, Some(100));
    assert_eq!(m.cpu.usage_ns, Some(108_037_207_212));
    assert_eq!(m.pressure.cpu.map(|p| p.some.total), Some(6_393_745));
    assert!(m.network.is_empty());
    assert!(m.unreadable.is_empty(), "{:?}", m.unreadable);
}

#[test]
fn hybrid_self_metrics_use_own_paths_and_interfaces() {
    let m = collect_self_metrics(&host("hybrid"));
    // memory: /process_api/<id> has no files in the fixture; the rest is the root cgroup.
    assert_eq!(m.memory.limit, None);
    assert_eq!(m.cpu.shares, Some(1024));
    assert_eq!(m.network_interfaces, ["lo", "ifb0", "ifb1", "eth0"]);
    assert_eq!(m.network[3].rx_bytes, 28_161_169);
}

// ---------------------------------------------------------------------------- v1

#[test]
fn v1_comounted_hierarchies() {
    let (_, h) = read("v1-comounted");
    assert_eq!(h.layout, Layout::V1);
    assert!(h.v2.is_none());
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    let cpu = h.mount_for_controller("cpu").expect("cpu");
    let cpuacct = h.mount_for_controller("cpuacct").expect("cpuacct");
    assert_eq!(cpu, cpuacct);
    assert_eq!(cpu.mount_point(), Path::new("/sys/fs/cgroup/cpu,cpuacct"));
    assert_eq!(cpu.hierarchy_id(), Some(3));
    let HierarchyRef::V1(v1) = cpu else {
        panic!("v1 expected")
    };
    // Super options order, `seclabel` and `release_agent=` are not controllers.
    assert_eq!(v1.controllers, ["cpuacct", "cpu"]);
    assert_eq!(h.named("systemd").and_then(|s| s.hierarchy_id), Some(1));
    assert_eq!(
        h.mount_for_controller("net_prio")
            .and_then(|r| r.hierarchy_id()),
        Some(2)
    );
    assert_eq!(h.v1.len(), 11);
    assert!(h.by_hierarchy_id(0).is_none());
    assert!(h.mount_for_controller("io").is_none());
}

#[test]
fn v1_comounted_kubepods_container_metrics() {
    let m = metrics_of("v1-comounted", 31337);
    assert!(m.unreadable.is_empty(), "{:?}", m.unreadable);
    // Unlimited is None in the flat fields and `Unlimited` in the detail.
    assert_eq!(m.memory_limit_bytes, None);
    assert_eq!(m.memory.limit, Some(Reading::Value(Limit::Unlimited)));
    assert_eq!(
        m.memory.memory_and_swap_limit,
        Some(Reading::Value(Limit::Unlimited))
    );
    assert_eq!(m.memory_usage_bytes, Some(38_875_136));
    assert_eq!(m.memory.swap_usage_bytes, Some(0));
    assert_eq!(m.memory.peak_bytes, Some(52_293_632));
    // 3.10 kernels have no oom_kill line in memory.oom_control.
    assert_eq!(m.memory.oom_kills, None);
    assert_eq!(m.cpu_quota, None);
    assert_eq!(m.cpu_period, Some(100_000));
    assert_eq!(
        m.cpu.max,
        Some(Reading::Value(CpuMax {
            quota_us: MaxValue::Unlimited,
            period_us: 100_000
        }))
    );
    assert_eq!(m.cpu_shares, Some(102));
    assert_eq!(m.cpu.normalized_weight, Some(10));
    assert_eq!(m.cpu.usage_ns, Some(987_654_321_012));
    assert_eq!((m.cpu.nr_periods, m.cpu.throttled_ns), (Some(0), Some(0)));
    assert_eq!(m.cpu.user_ns, None);
    assert_eq!(m.pids.current, Some(23));
    assert_eq!(m.pids.max, Some(Reading::Value(MaxValue::Unlimited)));
    // No v2 mount: no per-cgroup pressure.
    assert_eq!(m.pressure, metrics::PressureMetrics::default());
    assert_eq!(m.network_interfaces, ["lo", "eth0"]);
    assert_eq!(m.network[1].rx_dropped, 17);
}

#[test]
fn v1_comounted_decodes_escaped_mount_points() {
    let text = std::fs::read_to_string(fixture("v1-comounted").join("proc/self/mountinfo"))
        .expect("fixture");
    let disk = cgroup::parse_mountinfo(&text)
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.fs_type == "ext4")
        .expect("ext4 line");
    assert_eq!(disk.mount_point, Path::new("/mnt/my disk"));
    assert_eq!(disk.optional_fields, ["shared:30"]);
}

#[test]
fn v1_inside_a_container_keeps_mount_roots() {
    let (host, h) = read("v1-in-container");
    assert_eq!(h.layout, Layout::V1);
    let id = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
    let memory = h.mount_for_controller("memory").expect("memory");
    assert_eq!(memory.root(), format!("/docker/{id}"));
    assert_eq!(memory.hierarchy_id(), Some(4));
    assert_eq!(
        memory.fs_path(&format!("/docker/{id}")),
        Some(PathBuf::from("/sys/fs/cgroup/memory"))
    );
    assert_eq!(memory.fs_path("/docker/other"), None);
    assert_eq!(h.named("systemd").and_then(|s| s.hierarchy_id), Some(1));
    let m = collect_self_metrics(&host);
    assert!(m.unreadable.is_empty(), "{:?}", m.unreadable);
    assert_eq!(m.memory_limit_bytes, Some(1_073_741_824));
    assert_eq!(m.memory_usage_bytes, Some(123_731_968));
    assert_eq!(m.memory.oom_kills, Some(0));
    assert_eq!(m.cpu_quota, Some(200_000));
    assert_eq!(
        m.cpu.max.and_then(|r| r.value().and_then(|c| c.cpus())),
        Some(2.0)
    );
    assert_eq!(m.cpu.usage_ns, Some(44_556_677_889));
    assert_eq!(m.cpu.nr_throttled, Some(4));
    assert_eq!(m.pids.max, Some(Reading::Value(MaxValue::Value(4096))));
    assert_eq!(m.network_interfaces, ["lo", "eth0"]);
}

// ---------------------------------------------------------------------------- v2

#[test]
fn v2_systemd_hierarchies() {
    let (_, h) = read("v2-systemd");
    assert_eq!(h.layout, Layout::V2);
    assert!(h.v1.is_empty());
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    let v2 = h.v2.as_ref().expect("v2");
    assert_eq!(v2.mount_point, Path::new("/sys/fs/cgroup"));
    assert_eq!(
        v2.controllers.as_deref().map(|c| c.join(" ")),
        Some("cpuset cpu io memory hugetlb pids rdma misc".to_string())
    );
    assert!(h.subsystems.iter().all(|s| s.hierarchy_id == 0));
    assert!(
        h.mount_for_controller("memory")
            .is_some_and(HierarchyRef::is_v2)
    );
    assert!(h.mount_for_controller("cpuacct").is_none());
    assert!(h.by_hierarchy_id(1).is_none());
}

#[test]
fn v2_systemd_docker_scope_metrics() {
    let m = metrics_of("v2-systemd", 777);
    assert!(m.unreadable.is_empty(), "{:?}", m.unreadable);
    assert_eq!(m.memory_limit_bytes, Some(268_435_456));
    assert_eq!(m.memory_usage_bytes, Some(73_400_320));
    let mem = &m.memory;
    assert_eq!(mem.high, Some(Reading::Value(Limit::Unlimited)));
    assert_eq!(mem.low, Some(Reading::Value(Limit::Bytes(0))));
    assert_eq!(mem.min, Some(Reading::Value(Limit::Bytes(0))));
    assert_eq!(
        mem.swap_limit,
        Some(Reading::Value(Limit::Bytes(268_435_456)))
    );
    assert_eq!(mem.swap_usage_bytes, Some(1_048_576));
    assert_eq!(mem.peak_bytes, Some(90_177_536));
    assert_eq!(mem.oom_kills, Some(1));
    assert_eq!(
        (mem.soft_limit.clone(), mem.memory_and_swap_limit.clone()),
        (None, None)
    );
    assert_eq!(m.cpu_quota, Some(150_000));
    assert_eq!(m.cpu_period, Some(100_000));
    assert_eq!(
        m.cpu
            .max
            .as_ref()
            .and_then(Reading::value)
            .and_then(|c| c.cpus()),
        Some(1.5)
    );
    // Docker's 1024 shares through runc's linear formula: weight 39; the kernel's shares: 399.
    assert_eq!((m.cpu.weight, m.cpu.shares), (Some(39), None));
    assert_eq!(m.cpu.normalized_weight, Some(39));
    assert_eq!(m.cpu_shares, Some(399));
    assert_eq!(m.cpu.usage_ns, Some(8_123_456_000));
    assert_eq!(m.cpu.user_ns, Some(6_000_000_000));
    assert_eq!(m.cpu.system_ns, Some(2_123_456_000));
    assert_eq!(
        (m.cpu.nr_periods, m.cpu.nr_throttled, m.cpu.throttled_ns),
        (Some(5000), Some(120), Some(3_456_789_000))
    );
    assert_eq!(m.pids.current, Some(12));
    assert_eq!(m.pids.max, Some(Reading::Value(MaxValue::Unlimited)));
    assert_eq!(
        m.pressure.cpu,
        Some(Psi {
            some: psi(12.5, 8.02, 3.33, 45_678_901),
            full: Some(psi(10.0, 6.5, 2.75, 40_000_000)),
        })
    );
    assert_eq!(
        m.pressure.io.map(|p| p.full.map(|f| f.total)),
        Some(Some(200_000))
    );
    assert_eq!(m.network_interfaces, ["lo", "eth0"]);
    assert_eq!(m.network[1].tx_packets, 1987);
    let json = serde_json::to_value(&m).expect("json");
    assert_eq!(json["memory_limit_bytes"], 268_435_456);
    assert_eq!(json["memory"]["high"], "unlimited");
    assert_eq!(json["memory"]["limit"]["bytes"], 268_435_456);
    assert_eq!(json["cpu"]["max"]["quota_us"]["value"], 150_000);
    assert_eq!(json["pids"]["max"], "unlimited");
    let back: ContainerMetrics = serde_json::from_value(json).expect("round trip");
    assert_eq!(
        (&back.memory, &back.cpu, &back.pids),
        (&m.memory, &m.cpu, &m.pids)
    );
    assert_eq!(back.network, m.network);
}

#[test]
fn v2_flat_and_weight_files_read_directly() {
    let dir = fixture("v2-systemd").join(
        "sys/fs/cgroup/system.slice/docker-c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789.scope",
    );
    let stat = cgroup::read_flat_keyed(&dir.join("memory.stat")).expect("memory.stat");
    assert_eq!(stat.get("anon"), Some(51_380_224));
    assert_eq!(stat.get("oom_kill"), Some(1));
    assert_eq!(stat.0.len(), 28);
    let events = cgroup::read_flat_keyed(&dir.join("memory.events")).expect("events");
    assert_eq!(
        events,
        FlatKeyed::parse("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n")
            .expect("valid")
    );
    assert_eq!(
        cgroup::read_u64(&dir.join("cpu.weight")).expect("weight"),
        39
    );
    assert_eq!(cgroup::runc_shares_to_weight_linear(1024), 39);
    assert_eq!(
        cgroup::read_limit(&dir.join("memory.high")).expect("high"),
        Limit::Unlimited
    );
    assert_eq!(
        cgroup::read_cpu_max_v2(&dir).expect("cpu.max"),
        CpuMax {
            quota_us: MaxValue::Value(150_000),
            period_us: 100_000
        }
    );
    let err = cgroup::read_limit(&dir.join("nope")).expect_err("missing");
    assert!(err.is_not_found());
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn selection_limits_the_files_read() {
    let (host, h) = read("v2-systemd");
    let paths = CgroupPaths::for_pid(&host, 777).expect("paths");
    let all = MetricsReader::new(
        &host,
        &h,
        &paths,
        Some(777),
        Selection::ALL,
        ReadMode::OneShot,
    );
    assert_eq!(all.planned_files().count(), 9 + 2 + 1 + 2 + 3 + 1);
    let memory_only = Selection {
        memory: true,
        cpu: false,
        pids: false,
        pressure: false,
        network: false,
    };
    let mut reader =
        MetricsReader::new(&host, &h, &paths, Some(777), memory_only, ReadMode::OneShot);
    assert_eq!(reader.planned_files().count(), 9);
    let m = reader.collect();
    assert_eq!(m.memory_limit_bytes, Some(268_435_456));
    assert_eq!(m.cpu_quota, None);
    assert!(m.network.is_empty());
}

// ---------------------------------------------------------------------------- bad input

#[test]
fn broken_input_is_reported_never_panics() {
    let (_, h) = read("broken");
    assert_eq!(h.layout, Layout::V2);
    // A garbage mountinfo line, a line without " - ", no /proc/cgroups, binary
    // cgroup.controllers: all warnings, nothing fatal.
    assert_eq!(h.warnings.len(), 4, "{:#?}", h.warnings);
    assert!(
        h.warnings.iter().any(|w| w.contains("cgroups")),
        "{:?}",
        h.warnings
    );
    assert_eq!(h.v2.as_ref().map(|v| v.controllers.clone()), Some(None));

    let m = metrics_of("broken", 666);
    let mut bad: Vec<String> = m
        .unreadable
        .iter()
        .map(|u| {
            u.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    bad.sort();
    assert_eq!(
        bad,
        [
            "cpu.max",
            "cpu.pressure",
            "cpu.stat",
            "cpu.weight",
            "dev",
            "memory.current",
            "memory.events",
            "memory.high",
            "memory.max",
            "pids.max",
        ]
    );
    // Unreadable is neither unlimited nor a value; missing files are plain None.
    assert!(m.memory.limit.as_ref().is_some_and(Reading::is_unreadable));
    assert!(m.memory.high.as_ref().is_some_and(Reading::is_unreadable));
    assert_eq!(m.memory.low, None);
    assert_eq!(m.memory.swap_limit, Some(Reading::Value(Limit::Unlimited)));
    assert_eq!(m.memory_limit_bytes, None);
    assert_eq!(m.memory_usage_bytes, None);
    assert_eq!(m.memory.oom_kills, None);
    assert!(m.cpu.max.as_ref().is_some_and(Reading::is_unreadable));
    assert_eq!(
        (m.cpu_quota, m.cpu_period, m.cpu_shares),
        (None, None, None)
    );
    assert_eq!(m.cpu.usage_ns, None);
    assert_eq!(m.pids.current, Some(3));
    assert!(m.pids.max.as_ref().is_some_and(Reading::is_unreadable));
    assert_eq!(m.pressure.cpu, None);
    assert_eq!(m.pressure.memory.map(|p| p.some.total), Some(0));
    assert_eq!(m.pressure.io, None);
    assert!(m.network.is_empty());
    let max_error = m
        .memory
        .limit
        .as_ref()
        .map(|r| match r {
            Reading::Unreadable { unreadable } => unreadable.clone(),
            Reading::Value(_) => String::new(),
        })
        .unwrap_or_default();
    assert!(
        max_error.contains("memory.max") && max_error.contains("12ab"),
        "{max_error}"
    );
}

#[test]
fn missing_mountinfo_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Hierarchies::read(&HostRoot::at(dir.path())).expect_err("no mountinfo");
    assert!(err.is_not_found());
    assert!(err.to_string().contains("mountinfo"), "{err}");
    let m = collect_self_metrics(&HostRoot::at(dir.path()));
    assert_eq!(m.unreadable.len(), 1);
    assert_eq!(m.memory_limit_bytes, None);
}

#[test]
fn a_cgroup_that_does_not_exist_gives_none_without_errors() {
    let (host, h) = read("v2-systemd");
    let m = collect_cgroup_metrics(
        &host,
        &h,
        &CgroupPaths::uniform("/no/such/cgroup"),
        Some(99999),
    );
    assert!(m.unreadable.is_empty(), "{:?}", m.unreadable);
    assert_eq!(m.memory.limit, None);
    assert_eq!(m.cpu.max, None);
    assert!(m.network.is_empty());
}

/// Copies a fixture tree so a test may delete parts of it.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readdir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn a_cgroup_vanishing_between_passes_goes_quiet() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture("v2-systemd"), tmp.path());
    let host = HostRoot::at(tmp.path());
    let h = Hierarchies::read(&host).expect("mountinfo");
    let paths = CgroupPaths::for_pid(&host, 777).expect("paths");
    let budget = FdBudget::new(5);
    let mut reader = MetricsReader::new(
        &host,
        &h,
        &paths,
        Some(777),
        Selection::ALL,
        ReadMode::KeepOpen {
            budget: Some(budget.clone()),
        },
    );
    assert_eq!(reader.collect().memory_limit_bytes, Some(268_435_456));
    // Only 5 descriptors kept; the rest were read one-shot.
    assert_eq!(reader.open_files(), 5);
    assert_eq!(budget.available(), 0);
    let scope = tmp.path().join(
        "sys/fs/cgroup/system.slice/docker-c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789.scope",
    );
    std::fs::remove_dir_all(&scope).expect("remove cgroup dir");
    // Files read one-shot (beyond the budget) are gone: None, and no error for any of them.
    // (The 5 kept-open fixture files still read their unlinked content here; on cgroupfs a
    // removed cgroup's open files fail with ENODEV, which reads as gone too.)
    let m = reader.collect();
    assert!(m.unreadable.is_empty(), "{:?}", m.unreadable);
    assert_eq!(m.pids.current, None);
    assert_eq!(m.cpu.max, None);
    assert!(m.pressure.cpu.is_none());
    // After a reset every file is reopened: everything is gone.
    reader.reset();
    assert_eq!(budget.available(), 5);
    let m = reader.collect();
    assert!(m.unreadable.is_empty(), "{:?}", m.unreadable);
    assert_eq!(m.memory_usage_bytes, None);
    assert_eq!(m.memory.limit, None);
    // Only /proc/777/net/dev is left to keep open.
    assert_eq!(reader.open_files(), 1);
    assert_eq!(m.network_interfaces, ["lo", "eth0"]);
    drop(reader);
    assert_eq!(budget.available(), 5);
}

// ---------------------------------------------------------------------------- live (read-only)

#[test]
fn this_machine_reads_without_panicking() {
    let live = HostRoot::live();
    let Ok(h) = Hierarchies::read(&live) else {
        eprintln!("skipped: /proc/self/mountinfo unreadable here");
        return;
    };
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    if mountinfo.contains(" - cgroup") {
        assert_ne!(h.layout, Layout::None, "{}", h.render_human());
    }
    if mountinfo.contains(" - cgroup2 ") {
        assert!(h.by_hierarchy_id(0).is_some());
    }
    for v1 in &h.v1 {
        if !v1.controllers.is_empty() && !h.subsystems.is_empty() {
            assert!(v1.hierarchy_id.is_some(), "{v1:?}");
        }
    }
    let m = collect_self_metrics(&live);
    let _ = serde_json::to_string(&m).expect("json");
    let _ = serde_json::to_string(&h).expect("json");
}

// ---------------------------------------------------------------------------- proptests

/// Text made of the tokens these files contain, so generated inputs reach deep into parsers.
fn cgroupish_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("max".to_string()),
        Just("-1".to_string()),
        Just("-".to_string()),
        Just(":".to_string()),
        Just("::".to_string()),
        Just("0:29".to_string()),
        Just("/".to_string()),
        Just("/docker/abc".to_string()),
        Just("cgroup".to_string()),
        Just("cgroup2".to_string()),
        Just("rw,cpu,cpuacct".to_string()),
        Just("name=systemd".to_string()),
        Just("some".to_string()),
        Just("full".to_string()),
        Just("avg10=0.00".to_string()),
        Just("avg60=1.5".to_string()),
        Just("avg300=nan".to_string()),
        Just("total=12".to_string()),
        Just("eth0:".to_string()),
        Just("\\040".to_string()),
        Just("9223372036854771712".to_string()),
        Just("18446744073709551616".to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[a-z_=.,:/-]{0,12}",
    ];
    let sep = prop_oneof![
        Just(" "),
        Just("\t"),
        Just("\n"),
        Just(""),
        Just(" - "),
        Just(":")
    ];
    proptest::collection::vec((token, sep), 0..40).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(t, s)| format!("{t}{s}"))
            .collect::<String>()
    })
}

fn run_every_parser(text: &str) {
    let _ = cgroup::parse_mountinfo(text);
    let _ = cgroup::parse_proc_cgroup(text);
    let _ = cgroup::parse_proc_cgroups(text);
    let _ = Limit::parse(text);
    let _ = MaxValue::parse(text);
    let _ = CpuMax::parse_v2(text);
    let _ = CpuMax::from_v1(text, text);
    let _ = cgroup::parse_cfs_quota(text);
    let _ = cgroup::parse_u64(text);
    let _ = FlatKeyed::parse(text);
    let _ = cgroup::flat_value(text, "oom_kill");
    let _ = cgroup::parse_psi(text);
    let _ = metrics::parse_net_dev(text);
    let _ = cgroup::unescape_octal(text);
    let h = Hierarchies::from_sources(text, Some(text), Some(text));
    let _ = h.render_human();
}

/// Cases per proptest: 2000 by default; a fuzzing job sets `SMOOTHTASK_FUZZ_CASES=1000000`.
fn fuzz_cases() -> u32 {
    std::env::var("SMOOTHTASK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]

    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in "\\PC{0,300}") {
        run_every_parser(&text);
    }

    #[test]
    fn parsers_never_panic_on_cgroup_like_text(text in cgroupish_text()) {
        run_every_parser(&text);
    }

    #[test]
    fn memory_limits_round_trip(n in any::<u64>()) {
        let parsed = Limit::parse(&format!("{n}\n")).expect("numbers parse");
        if n >= cgroup::V1_UNLIMITED_THRESHOLD {
            prop_assert_eq!(parsed, Limit::Unlimited);
        } else {
            prop_assert_eq!(parsed, Limit::Bytes(n));
        }
    }

    #[test]
    fn escaped_mount_points_decode_to_the_original(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        // Escape the way the kernel's seq_escape does for mountinfo: space, tab, newline, backslash.
        let escaped: String = bytes
            .iter()
            .map(|b| match b {
                b' ' | b'\t' | b'\n' | b'\\' => format!("\\{b:03o}"),
                b if b.is_ascii_graphic() => (*b as char).to_string(),
                b => format!("\\{b:03o}"),
            })
            .collect();
        prop_assert_eq!(cgroup::unescape_octal(&escaped), bytes);
    }

    #[test]
    fn cgroup_paths_never_leave_the_mount(path in "(/[a-z.]{0,4}){0,6}") {
        let h = Hierarchies::from_mountinfo(
            "1 0 0:30 /docker/x /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
            "memory 4 1 1\n",
        );
        let memory = h.mount_for_controller("memory").expect("memory");
        if let Some(p) = memory.fs_path(&path) {
            prop_assert!(p.starts_with("/sys/fs/cgroup/memory"));
            prop_assert!(!p.components().any(|c| c == std::path::Component::ParentDir));
        }
    }

    #[test]
    fn shares_conversions_stay_in_range(shares in 0u64..1_000_000) {
        let w = cgroup::kernel_shares_to_weight(shares);
        prop_assert!((cgroup::CPU_WEIGHT_MIN..=cgroup::CPU_WEIGHT_MAX).contains(&w));
        let r = cgroup::runc_shares_to_weight(shares);
        prop_assert!(r <= cgroup::CPU_WEIGHT_MAX);
        prop_assert_eq!(r == 0, shares == 0);
        let s = cgroup::systemd_shares_to_weight(shares);
        prop_assert!((cgroup::CPU_WEIGHT_MIN..=cgroup::CPU_WEIGHT_MAX).contains(&s));
    }
}
