//! Scale: lifecycle latency and steady state at 5000 cgroups, each figure beside the same
//! figure at the smaller size from the same run, and the cost per container at both sizes
//! (ratio 1.00: cost linear in the number of containers).

use crate::{
    lifecycle::{self, Lifecycle},
    report::{Benchmark, Figure},
    stats::percentile,
    steady_state::{self, Steady},
};

pub fn benchmark(
    small_l: &Lifecycle,
    large_l: &Lifecycle,
    small_s: &Steady,
    large_s: &Steady,
) -> Benchmark {
    let mut figures = Vec::new();
    figures.extend(lifecycle::figures(large_l));
    figures.extend(steady_state::figures(large_s));
    let at = |n: usize| format!("at {n}");
    // Latency of one event should not grow with the burst: same unit, ratio ~1.
    figures.push(Figure::new(
        &format!("lifecycle p50, {} vs {}", large_l.n, small_l.n),
        "us",
        percentile(&large_l.agent, 0.5),
        &at(small_l.n),
        percentile(&small_l.agent, 0.5),
    ));
    figures.push(Figure::new(
        "lifecycle, burst start to last event, per cgroup",
        "us/cgroup",
        large_l.agent_per_cgroup_us,
        &at(small_l.n),
        small_l.agent_per_cgroup_us,
    ));
    let per_1000 = |s: &Steady| s.ebpf.cpu_pct / s.n as f64 * 1000.0;
    figures.push(Figure::new(
        "steady CPU per 1000 containers",
        "% of one core",
        per_1000(large_s),
        &at(small_s.n),
        per_1000(small_s),
    ));
    // Memory has a fixed base: what each further container adds, eBPF agent beside baseline.
    let growth = |large: f64, small: f64| {
        (large - small) * 1024.0 / large_s.n.saturating_sub(small_s.n).max(1) as f64
    };
    figures.push(Figure::new(
        &format!(
            "peak RSS added per container, {} -> {}",
            small_s.n, large_s.n
        ),
        "KiB",
        growth(large_s.ebpf.peak_rss_mib, small_s.ebpf.peak_rss_mib),
        "eBPF off, inotify + 1 s rescans",
        growth(large_s.polling.peak_rss_mib, small_s.polling.peak_rss_mib),
    ));
    Benchmark {
        name: "scale".into(),
        what: format!(
            "lifecycle with {} cgroups and steady state with {} containers ({} s window), beside {} and {} from this run; per-container ratio 1.00 = linear",
            large_l.n,
            large_s.n,
            large_s.window.as_secs(),
            small_l.n,
            small_s.n
        ),
        figures,
    }
}
