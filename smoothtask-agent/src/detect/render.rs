//! The human summary of a [`ContainerInfo`] that `smoothtaskd --container-info` prints.

use std::fmt::Write;

use super::ContainerInfo;

/// A few aligned lines: verdict, id, cgroup, orchestrator, then every piece of evidence.
pub fn render_human(info: &ContainerInfo) -> String {
    let mut out = String::new();
    let none = "-";
    let verdict = if info.is_containerized {
        format!("yes ({})", info.runtime.as_str())
    } else {
        "no".to_string()
    };
    let _ = writeln!(out, "Containerized:  {verdict}");
    let _ = writeln!(out, "Runtime:        {}", info.runtime);
    let _ = writeln!(
        out,
        "Container ID:   {}",
        info.container_id.as_deref().unwrap_or(none)
    );
    let _ = writeln!(
        out,
        "Cgroup path:    {}",
        info.cgroup_path.as_deref().unwrap_or(none)
    );
    match &info.orchestrator {
        Some(o) => {
            let mut parts = Vec::new();
            if let Some(name) = &o.name {
                parts.push(format!("pod {name}"));
            }
            if let Some(ns) = &o.namespace {
                parts.push(format!("namespace {ns}"));
            }
            if let Some(uid) = &o.pod_uid {
                parts.push(format!("uid {uid}"));
            }
            if let Some(qos) = o.qos {
                parts.push(format!("qos {qos}"));
            }
            let detail = if parts.is_empty() {
                String::new()
            } else {
                format!(" ({})", parts.join(", "))
            };
            let _ = writeln!(out, "Orchestrator:   {}{detail}", o.kind);
        }
        None => {
            let _ = writeln!(out, "Orchestrator:   {none}");
        }
    }
    let _ = writeln!(out, "Evidence ({}):", info.evidence.len());
    let width = info
        .evidence
        .iter()
        .map(|e| e.source.len())
        .max()
        .unwrap_or(0);
    for e in &info.evidence {
        let runtime = e.runtime.as_ref().map_or(none, |r| r.as_str());
        let _ = writeln!(out, "  {:<width$}  [{runtime}] {}", e.source, e.finding);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        detect::{Evidence, Orchestrator},
        runtime::{ContainerRuntime, QosClass},
    };

    #[test]
    fn renders_every_field() {
        let info = ContainerInfo {
            runtime: ContainerRuntime::CriO,
            is_containerized: true,
            container_id: Some("abc".into()),
            cgroup_path: Some("/kubepods/x".into()),
            orchestrator: Some(Orchestrator {
                kind: "kubernetes".into(),
                pod_uid: Some("u".into()),
                qos: Some(QosClass::Burstable),
                namespace: Some("ns".into()),
                name: None,
            }),
            evidence: vec![Evidence {
                source: "/proc/self/cgroup".into(),
                finding: "found".into(),
                runtime: Some(ContainerRuntime::CriO),
            }],
        };
        let text = render_human(&info);
        assert!(text.contains("Containerized:  yes (cri-o)"), "{text}");
        assert!(text.contains("Runtime:        CRI-O"));
        assert!(text.contains("Container ID:   abc"));
        assert!(text.contains("kubernetes (namespace ns, uid u, qos burstable)"));
        assert!(text.contains("  /proc/self/cgroup  [cri-o] found"));
        let host = ContainerInfo {
            runtime: ContainerRuntime::None,
            is_containerized: false,
            container_id: None,
            cgroup_path: None,
            orchestrator: None,
            evidence: vec![],
        };
        let text = render_human(&host);
        assert!(text.contains("Containerized:  no"));
        assert!(text.contains("Evidence (0):"));
    }
}
