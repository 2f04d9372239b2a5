//! Results: each figure beside its baseline from the same run, the ratio, and whether it meets
//! its target (said plainly when it does not).

use std::fmt::Write as _;

use serde::Serialize;

use crate::machine::Machine;

#[derive(Debug, Serialize)]
pub struct Figure {
    pub label: String,
    pub unit: String,
    pub value: f64,
    pub baseline_label: String,
    pub baseline: f64,
    /// value / baseline (lower is better for costs and latencies).
    pub ratio: f64,
    pub target: String,
    pub met: Option<bool>,
}

impl Figure {
    pub fn new(label: &str, unit: &str, value: f64, baseline_label: &str, baseline: f64) -> Self {
        Self {
            label: label.into(),
            unit: unit.into(),
            value,
            baseline_label: baseline_label.into(),
            baseline,
            ratio: if baseline > 0.0 {
                value / baseline
            } else {
                f64::NAN
            },
            target: "-".into(),
            met: None,
        }
    }

    /// A target on the slowdown against the baseline, in percent.
    pub fn with_slowdown(mut self, slowdown_pct: f64, max_pct: f64) -> Self {
        self.target = format!("slowdown <= {max_pct} % (measured {slowdown_pct:.2} %)");
        self.met = Some(slowdown_pct <= max_pct);
        self
    }

    /// A target "value >= min".
    pub fn at_least(mut self, min: f64) -> Self {
        self.target = format!(">= {min} {}", self.unit);
        self.met = Some(self.value >= min);
        self
    }

    /// A target "value <= max".
    pub fn at_most(mut self, max: f64) -> Self {
        self.target = format!("<= {max} {}", self.unit);
        self.met = Some(self.value <= max);
        self
    }
}

#[derive(Debug, Serialize)]
pub struct Benchmark {
    pub name: String,
    pub what: String,
    pub figures: Vec<Figure>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub benchmarks: Vec<Benchmark>,
}

impl Report {
    pub fn new(machine: Machine) -> Self {
        Self {
            machine,
            benchmarks: Vec::new(),
        }
    }

    pub fn push(&mut self, b: Benchmark) {
        self.benchmarks.push(b);
    }

    /// A markdown table, as the README shows it.
    pub fn table(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "machine: kernel {}, {} cores, {} MiB, cgroup layout {}\n\n",
            m.kernel,
            m.cores,
            m.memory_bytes.unwrap_or(0) >> 20,
            m.cgroup_layout
        );
        out.push_str(
            "| benchmark | figure | value | baseline (same run) | ratio | target | met |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|\n");
        for b in &self.benchmarks {
            for f in &b.figures {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.2} {} | {}: {:.2} {} | {} | {} | {} |",
                    b.name,
                    f.label,
                    f.value,
                    f.unit,
                    f.baseline_label,
                    f.baseline,
                    f.unit,
                    if f.ratio.is_finite() {
                        format!("{:.2}", f.ratio)
                    } else {
                        "-".into()
                    },
                    f.target,
                    match f.met {
                        Some(true) => "yes",
                        Some(false) => "NO",
                        None => "-",
                    }
                );
            }
        }
        out
    }
}
