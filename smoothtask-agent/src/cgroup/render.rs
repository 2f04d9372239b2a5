//! [`Hierarchies::render_human`]: the listing `smoothtaskd --cgroup-info` prints.

use std::fmt::Write as _;

use super::hierarchies::{Hierarchies, Layout};

impl Hierarchies {
    /// A listing for people, as `smoothtaskd --cgroup-info` prints it.
    pub fn render_human(&self) -> String {
        let layout = match self.layout {
            Layout::V1 => "v1 (legacy)",
            Layout::V2 => "v2 (unified)",
            Layout::Hybrid => "hybrid (v1 controllers + v2)",
            Layout::None => "none (no cgroup filesystem mounted)",
        };
        let mut out = format!("cgroup layout: {layout}\n");
        if let Some(v2) = &self.v2 {
            let controllers = match &v2.controllers {
                Some(c) if c.is_empty() => "(none)".to_string(),
                Some(c) => c.join(" "),
                None => "(unknown)".to_string(),
            };
            let _ = writeln!(
                out,
                "v2: {} (root {}), hierarchy 0, controllers: {controllers}",
                v2.mount_point.display(),
                v2.root
            );
            for m in &v2.other_mounts {
                let _ = writeln!(
                    out,
                    "    also at {} (root {})",
                    m.mount_point.display(),
                    m.root
                );
            }
        }
        if !self.v1.is_empty() {
            let _ = writeln!(out, "v1:");
            let _ = writeln!(
                out,
                "  {:>3}  {:<22} {:<34} root",
                "id", "controllers", "mount point"
            );
            for h in &self.v1 {
                let id = h
                    .hierarchy_id
                    .map_or_else(|| "-".to_string(), |i| i.to_string());
                let _ = writeln!(
                    out,
                    "  {id:>3}  {:<22} {:<34} {}",
                    h.label(),
                    h.mount_point.display().to_string(),
                    h.root
                );
                for m in &h.other_mounts {
                    let _ = writeln!(
                        out,
                        "       also at {} (root {})",
                        m.mount_point.display(),
                        m.root
                    );
                }
            }
        }
        let unbound: Vec<&str> = self
            .subsystems
            .iter()
            .filter(|s| s.enabled && !self.v1.iter().any(|h| h.controllers.contains(&s.name)))
            .map(|s| s.name.as_str())
            .collect();
        if !unbound.is_empty() && !self.v1.is_empty() {
            let _ = writeln!(out, "not on any v1 hierarchy: {}", unbound.join(" "));
        }
        let disabled: Vec<&str> = self
            .subsystems
            .iter()
            .filter(|s| !s.enabled)
            .map(|s| s.name.as_str())
            .collect();
        if !disabled.is_empty() {
            let _ = writeln!(out, "disabled: {}", disabled.join(" "));
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        out
    }
}
