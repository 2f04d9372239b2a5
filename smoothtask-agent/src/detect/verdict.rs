//! From clues to a [`ContainerInfo`]: which runtime, which id, which cgroup, which pod. The rules
//! are the ones in the module documentation of `detect`.

use crate::runtime::ContainerRuntime;

use super::{
    ContainerInfo, Orchestrator,
    evidence::{Clue, Tier},
};

/// What a weak clue's finding gains when host hints outweigh it.
const OUTWEIGHED: &str = " (outweighed: host hints say this is not a container)";

/// Decides. `own_cgroup` is this process's preferred cgroup path as seen in its namespace, used
/// as the container's cgroup path when no clue names one.
pub(super) fn resolve(mut clues: Vec<Clue>, own_cgroup: Option<String>) -> ContainerInfo {
    let runtime = runtime_of(&mut clues);
    let containerized = runtime.is_container();
    let kubernetes = containerized && clues.iter().any(|c| c.kubernetes);
    let (container_id, cgroup_path) = if containerized {
        (
            id_of(&clues, &runtime, kubernetes),
            cgroup_of(&clues, &runtime).or(own_cgroup),
        )
    } else {
        (None, None)
    };
    let orchestrator = kubernetes.then(|| Orchestrator {
        kind: "kubernetes".to_string(),
        pod_uid: clues.iter().find_map(|c| c.pod_uid.clone()),
        qos: clues.iter().find_map(|c| c.pod.as_ref().map(|p| p.qos)),
        namespace: clues.iter().find_map(|c| c.namespace.clone()),
        name: clues.iter().find_map(|c| c.pod_name.clone()),
    });
    ContainerInfo {
        runtime,
        is_containerized: containerized,
        container_id,
        cgroup_path,
        orchestrator,
        evidence: clues.into_iter().map(|c| c.evidence).collect(),
    }
}

fn is_strong(clue: &Clue) -> bool {
    matches!(
        clue.tier,
        Tier::Declared | Tier::Identified | Tier::Inferred
    )
}

/// The runtime, by the precedence rules; marks weak clues that host hints outweighed.
fn runtime_of(clues: &mut [Clue]) -> ContainerRuntime {
    if let Some(choice) = clues.iter().find(|c| c.tier == Tier::Override) {
        return choice.runtime().cloned().unwrap_or_default();
    }
    let mut strong: Vec<&Clue> = clues.iter().filter(|c| is_strong(c)).collect();
    strong.sort_by_key(|c| c.tier);
    let named = |known: bool| {
        strong
            .iter()
            .filter_map(|c| c.runtime())
            .find(|r| r.is_container() && r.is_known() == known)
            .cloned()
    };
    if let Some(runtime) = named(true).or_else(|| named(false)) {
        return runtime;
    }
    if strong.iter().any(|c| c.kubernetes) {
        return ContainerRuntime::Unknown(String::new());
    }
    if clues.iter().any(|c| c.host_hint) {
        for clue in clues.iter_mut().filter(|c| c.tier == Tier::Weak) {
            clue.evidence.finding.push_str(OUTWEIGHED);
        }
        return ContainerRuntime::None;
    }
    let mut weak = clues.iter().filter(|c| c.tier == Tier::Weak);
    if let Some(runtime) = weak
        .clone()
        .find_map(|c| c.runtime().filter(|r| r.is_container()))
    {
        return runtime.clone();
    }
    if weak.any(|c| c.kubernetes) {
        return ContainerRuntime::Unknown(String::new());
    }
    ContainerRuntime::None
}

/// The first id, in evidence order, from a clue that names the chosen runtime (or whose runtime
/// was only inferred, or any clue when the runtime itself is unknown). Ids that are a pod
/// sandbox's under Kubernetes are never used.
fn id_of(clues: &[Clue], runtime: &ContainerRuntime, kubernetes: bool) -> Option<String> {
    clues
        .iter()
        .filter(|c| c.tier <= Tier::Weak)
        .filter(|c| !(kubernetes && c.id_is_sandbox_under_kubernetes))
        .filter(|c| agrees(c, runtime))
        .find_map(|c| c.id.clone())
}

/// The first container cgroup path from a clue that agrees with the runtime.
fn cgroup_of(clues: &[Clue], runtime: &ContainerRuntime) -> Option<String> {
    clues
        .iter()
        .filter(|c| agrees(c, runtime))
        .find_map(|c| c.cgroup_path.clone())
}

fn agrees(clue: &Clue, runtime: &ContainerRuntime) -> bool {
    clue.tier == Tier::Inferred || !runtime.is_known() || clue.runtime() == Some(runtime)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clue(tier: Tier, runtime: Option<ContainerRuntime>) -> Clue {
        Clue::new(tier, "test", "test", runtime)
    }

    #[test]
    fn overrides_win_even_when_they_say_none() {
        let clues = vec![
            clue(Tier::Override, Some(ContainerRuntime::None)),
            clue(Tier::Identified, Some(ContainerRuntime::Docker)).with_id("x"),
        ];
        let info = resolve(clues, Some("/".into()));
        assert_eq!(info.runtime, ContainerRuntime::None);
        assert!(!info.is_containerized);
        assert_eq!(info.container_id, None);
        assert_eq!(info.cgroup_path, None);
    }

    #[test]
    fn declared_beats_identified_and_known_beats_unknown() {
        let clues = vec![
            clue(
                Tier::Declared,
                Some(ContainerRuntime::Unknown("oci".into())),
            ),
            clue(Tier::Identified, Some(ContainerRuntime::CriO)).with_id("abc"),
        ];
        let info = resolve(clues, None);
        assert_eq!(info.runtime, ContainerRuntime::CriO);
        assert_eq!(info.container_id.as_deref(), Some("abc"));
        let clues = vec![
            clue(Tier::Identified, Some(ContainerRuntime::Docker)),
            clue(Tier::Declared, Some(ContainerRuntime::Lxc)),
        ];
        assert_eq!(resolve(clues, None).runtime, ContainerRuntime::Lxc);
    }

    #[test]
    fn identified_runtime_beats_an_inferred_one_and_keeps_its_id() {
        let clues = vec![
            clue(Tier::Inferred, Some(ContainerRuntime::Containerd)).with_id("own"),
            clue(Tier::Identified, Some(ContainerRuntime::Docker)).with_id("sandbox"),
        ];
        let mut clues = clues;
        clues[1].id_is_sandbox_under_kubernetes = true;
        clues[0].kubernetes = true;
        let info = resolve(clues, None);
        assert_eq!(info.runtime, ContainerRuntime::Docker);
        assert_eq!(info.container_id.as_deref(), Some("own"));
    }

    #[test]
    fn weak_markers_yield_to_host_hints() {
        let clues = vec![
            clue(Tier::Weak, Some(ContainerRuntime::Docker)),
            clue(Tier::Info, None).host_hint(),
        ];
        let info = resolve(clues, Some("/".into()));
        assert_eq!(info.runtime, ContainerRuntime::None);
        assert!(info.evidence[0].finding.ends_with(OUTWEIGHED));
        let alone = resolve(
            vec![clue(Tier::Weak, Some(ContainerRuntime::Docker))],
            Some("/".into()),
        );
        assert_eq!(alone.runtime, ContainerRuntime::Docker);
        assert_eq!(alone.cgroup_path.as_deref(), Some("/"));
    }

    #[test]
    fn kubernetes_without_a_runtime_is_an_unknown_container() {
        let info = resolve(vec![clue(Tier::Weak, None).kubernetes()], None);
        assert_eq!(info.runtime, ContainerRuntime::Unknown(String::new()));
        assert_eq!(info.runtime.as_str(), "unknown");
        assert_eq!(info.orchestrator.unwrap().kind, "kubernetes");
        assert_eq!(resolve(vec![], None).runtime, ContainerRuntime::None);
    }
}
