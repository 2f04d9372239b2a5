//! Evidence about the surroundings rather than the runtime: Kubernetes (service account,
//! `KUBERNETES_SERVICE_HOST`, downward-API variables), the cgroup namespace compared with PID 1's,
//! and WSL.

use crate::{host::HostRoot, runtime::normalize_pod_uid};

use super::{
    evidence::{Clue, Tier},
    markers::shown,
    read,
};

/// The service account directory kubelet mounts into every pod (unless automounting is off).
const SERVICE_ACCOUNT: &str = "secrets/kubernetes.io/serviceaccount";

/// Service account mount, `KUBERNETES_SERVICE_HOST`, then `POD_NAME`, `POD_NAMESPACE`, `POD_UID`.
pub(super) fn kubernetes(host: &HostRoot) -> Vec<Clue> {
    let mut clues = Vec::new();
    let candidates = [
        (
            host.root_path(&format!("/var/run/{SERVICE_ACCOUNT}")),
            "/var/run",
        ),
        (host.run_path(SERVICE_ACCOUNT), "/run"),
    ];
    if let Some((dir, prefix)) = candidates.iter().find(|(dir, _)| read::exists(dir)) {
        let source = format!("{prefix}/{SERVICE_ACCOUNT}");
        let namespace = read::read_value(&dir.join("namespace")).filter(|ns| is_dns_label(ns));
        let finding = match &namespace {
            Some(ns) => format!("Kubernetes service account mounted; namespace {ns}"),
            None => "Kubernetes service account mounted".to_string(),
        };
        let mut clue = Clue::new(Tier::Weak, source, finding, None).kubernetes();
        clue.namespace = namespace;
        clues.push(clue);
    }
    if let Some(value) = host.env_var("KUBERNETES_SERVICE_HOST") {
        clues.push(
            Clue::new(
                Tier::Weak,
                "env:KUBERNETES_SERVICE_HOST",
                format!("{} (kubelet sets it in every pod)", shown(value)),
                None,
            )
            .kubernetes(),
        );
    }
    downward_api(host, &mut clues);
    clues
}

/// `POD_NAME`, `POD_NAMESPACE`, `POD_UID` as SmoothTask's manifests set them from the downward
/// API: names for the orchestrator record, not evidence of a container.
fn downward_api(host: &HostRoot, clues: &mut Vec<Clue>) {
    if let Some(name) = host.env_var("POD_NAME").filter(|n| is_dns_subdomain(n)) {
        let mut clue = Clue::new(Tier::Info, "env:POD_NAME", format!("pod name {name}"), None);
        clue.pod_name = Some(name.to_string());
        clues.push(clue);
    }
    if let Some(ns) = host.env_var("POD_NAMESPACE").filter(|n| is_dns_label(n)) {
        let mut clue = Clue::new(
            Tier::Info,
            "env:POD_NAMESPACE",
            format!("pod namespace {ns}"),
            None,
        );
        clue.namespace = Some(ns.to_string());
        clues.push(clue);
    }
    if let Some(uid) = host.env_var("POD_UID").and_then(normalize_pod_uid) {
        let mut clue = Clue::new(Tier::Info, "env:POD_UID", format!("pod uid {uid}"), None);
        clue.pod_uid = Some(uid);
        clues.push(clue);
    }
}

/// A Kubernetes namespace name: 1-63 of `[a-z0-9-]`, starting and ending alphanumeric.
fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A pod name: dot-separated DNS labels, at most 253 characters.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// `/proc/self/ns/cgroup` against `/proc/1/ns/cgroup`, when both can be read.
pub(super) fn cgroup_namespace(host: &HostRoot) -> Option<Clue> {
    let own = read::link(&host.proc_path("self/ns/cgroup"))?;
    let init = read::link(&host.proc_path("1/ns/cgroup"))?;
    let finding = if own == init {
        format!("same cgroup namespace as PID 1 ({own})")
    } else {
        format!("private cgroup namespace {own}; PID 1 is in {init}")
    };
    Some(Clue::new(Tier::Info, "/proc/self/ns/cgroup", finding, None))
}

/// A WSL kernel (`microsoft` or `WSL` in the release). WSL is a lightweight VM, not a container:
/// recorded, never a runtime.
pub(super) fn wsl(host: &HostRoot) -> Option<Clue> {
    let release = read::read_value(&host.proc_path("sys/kernel/osrelease"))?;
    let lower = release.to_ascii_lowercase();
    if !(lower.contains("microsoft") || lower.contains("wsl")) {
        return None;
    }
    let mut finding = format!("WSL kernel {} (a VM, not a container)", shown(&release));
    if let Some(distro) = host.env_var("WSL_DISTRO_NAME") {
        finding.push_str(&format!("; distribution {}", shown(distro)));
    }
    Some(Clue::new(
        Tier::Info,
        "/proc/sys/kernel/osrelease",
        finding,
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert!(is_dns_label("kube-system"));
        assert!(!is_dns_label("Kube"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label(""));
        assert!(is_dns_subdomain("smoothtask-7f9c4.node-1"));
        assert!(!is_dns_subdomain("a..b"));
    }

    #[test]
    fn downward_api_values_are_validated() {
        let host = HostRoot::at("/nonexistent").with_env([
            ("POD_NAME", "smoothtask-x2x9k"),
            ("POD_NAMESPACE", "Bad Namespace"),
            ("POD_UID", "5d2a6e9c-7b1f-4c3a-9e8d-0f1a2b3c4d5e"),
        ]);
        let clues = kubernetes(&host);
        assert_eq!(clues.len(), 2);
        assert_eq!(clues[0].pod_name.as_deref(), Some("smoothtask-x2x9k"));
        assert!(!clues[0].kubernetes);
        assert_eq!(
            clues[1].pod_uid.as_deref(),
            Some("5d2a6e9c-7b1f-4c3a-9e8d-0f1a2b3c4d5e")
        );
    }
}
