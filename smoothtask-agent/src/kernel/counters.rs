//! The kernel's per-CPU counters: records lost (ring buffer full) and records sent with a field
//! the kernel could not read, per kind.

use aya::maps::{MapData, PerCpuArray};
use smoothtask_common::EventKind;

use crate::event::KindCount;

/// Handles on the `LOST` and `PARTIAL` maps.
pub struct KernelCounters {
    lost: PerCpuArray<MapData, u64>,
    partial: PerCpuArray<MapData, u64>,
}

impl KernelCounters {
    pub(super) fn new(lost: PerCpuArray<MapData, u64>, partial: PerCpuArray<MapData, u64>) -> Self {
        Self { lost, partial }
    }

    fn sum(map: &PerCpuArray<MapData, u64>, kind: EventKind) -> u64 {
        map.get(&u32::from(kind.id()), 0)
            .map(|values| values.iter().sum())
            .unwrap_or(0)
    }

    /// Lost records per kind since the programs were loaded (kinds with zero left out).
    pub fn lost(&self) -> Vec<KindCount> {
        Self::per_kind(&self.lost)
    }

    /// Partially read records per kind since the programs were loaded.
    pub fn partial(&self) -> Vec<KindCount> {
        Self::per_kind(&self.partial)
    }

    fn per_kind(map: &PerCpuArray<MapData, u64>) -> Vec<KindCount> {
        EventKind::ALL
            .into_iter()
            .map(|kind| KindCount {
                kind: kind.name(),
                count: Self::sum(map, kind),
            })
            .filter(|c| c.count > 0)
            .collect()
    }
}

/// Per-kind increase from `before` to `after` (kinds without increase left out).
pub(super) fn delta(before: &[KindCount], after: &[KindCount]) -> Vec<KindCount> {
    after
        .iter()
        .filter_map(|a| {
            let b = before
                .iter()
                .find(|b| b.kind == a.kind)
                .map_or(0, |b| b.count);
            (a.count > b).then(|| KindCount {
                kind: a.kind,
                count: a.count - b,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_reports_only_increases() {
        let before = [KindCount {
            kind: "cgroup.mkdir",
            count: 3,
        }];
        let after = [
            KindCount {
                kind: "cgroup.mkdir",
                count: 5,
            },
            KindCount {
                kind: "cgroup.rmdir",
                count: 1,
            },
        ];
        assert_eq!(
            delta(&before, &after),
            vec![
                KindCount {
                    kind: "cgroup.mkdir",
                    count: 2
                },
                KindCount {
                    kind: "cgroup.rmdir",
                    count: 1
                }
            ]
        );
        assert!(delta(&after, &after).is_empty());
    }
}
