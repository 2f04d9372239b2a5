//! Tests of the pattern table with real-looking cgroup paths, the names, and a proptest that
//! nothing panics.

use super::*;
use proptest::prelude::*;

const ID: &str = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";
const ID2: &str = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b";
const UID: &str = "5d2a6e9c-7b1f-4c3a-9e8d-0f1a2b3c4d5e";
const UID_: &str = "5d2a6e9c_7b1f_4c3a_9e8d_0f1a2b3c4d5e";

fn found(path: &str) -> ContainerIdentity {
    identify(path).unwrap_or_else(|| panic!("no container in {path}"))
}

fn assert_container(path: &str, runtime: ContainerRuntime, id: &str, cgroup: &str) {
    let located = locate(path).unwrap_or_else(|| panic!("no container in {path}"));
    assert_eq!(located.identity.runtime, runtime, "{path}");
    assert_eq!(located.identity.id, id, "{path}");
    assert_eq!(located.cgroup, cgroup, "{path}");
}

fn pod(uid: &str, qos: QosClass) -> Option<PodIdentity> {
    Some(PodIdentity {
        uid: uid.to_string(),
        qos,
    })
}

#[test]
fn docker_cgroupfs_driver() {
    let path = format!("/docker/{ID}");
    assert_container(&path, ContainerRuntime::Docker, ID, &path);
    let nested = format!("/docker/{ID}/init");
    assert_container(&nested, ContainerRuntime::Docker, ID, &path);
    assert_eq!(found(&path).pod, None);
    assert_eq!(found(&path).name, None);
}

#[test]
fn docker_systemd_driver() {
    let path = format!("/system.slice/docker-{ID}.scope");
    assert_container(&path, ContainerRuntime::Docker, ID, &path);
    let rootless =
        format!("/user.slice/user-1000.slice/user@1000.service/user.slice/docker-{ID}.scope");
    assert_container(&rootless, ContainerRuntime::Docker, ID, &rootless);
}

#[test]
fn docker_in_docker_belongs_to_the_outer_container() {
    let path = format!("/docker/{ID}/docker/{ID2}");
    assert_container(
        &path,
        ContainerRuntime::Docker,
        ID,
        &format!("/docker/{ID}"),
    );
}

#[test]
fn docker_lookalikes_are_not_containers() {
    for path in [
        "/system.slice/docker.service".to_string(),
        "/system.slice/docker.socket".to_string(),
        "/docker".to_string(),
        format!("/docker/{}", &ID[..12]),
        format!("/docker/{}", ID.to_uppercase()),
        format!("/system.slice/docker-{}.scope", &ID[..12]),
        format!("/system.slice/docker-{ID}.service"),
        format!("/system.slice/docker-{ID}"),
    ] {
        assert_eq!(identify(&path), None, "{path}");
    }
}

#[test]
fn podman_systemd_rootful_and_rootless() {
    let path = format!("/machine.slice/libpod-{ID}.scope");
    assert_container(&path, ContainerRuntime::Podman, ID, &path);
    let with_init = format!("{path}/container");
    assert_container(&with_init, ContainerRuntime::Podman, ID, &path);
    let rootless =
        format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope");
    assert_container(
        &format!("{rootless}/container"),
        ContainerRuntime::Podman,
        ID,
        &rootless,
    );
}

#[test]
fn podman_pods_under_machine_slices() {
    let path = format!("/machine.slice/machine-libpod_pod_{ID2}.slice/libpod-{ID}.scope");
    assert_container(&path, ContainerRuntime::Podman, ID, &path);
}

#[test]
fn podman_cgroupfs() {
    let path = format!("/libpod_parent/libpod-{ID}");
    assert_container(&path, ContainerRuntime::Podman, ID, &path);
}

#[test]
fn podman_conmon_is_excluded() {
    for path in [
        "/libpod_parent/conmon".to_string(),
        format!("/libpod_parent/libpod-conmon-{ID}"),
        format!("/machine.slice/libpod-conmon-{ID}.scope"),
        format!(
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-{ID}.scope"
        ),
    ] {
        assert_eq!(identify(&path), None, "{path}");
    }
}

#[test]
fn containerd_cri_scope_outside_kubepods() {
    let path = format!("/system.slice/cri-containerd-{ID}.scope");
    assert_container(&path, ContainerRuntime::Containerd, ID, &path);
    assert_eq!(found(&path).pod, None);
}

#[test]
fn containerd_ctr_namespaces() {
    assert_container(
        "/default/c1",
        ContainerRuntime::Containerd,
        "c1",
        "/default/c1",
    );
    assert_container(
        "/default/c1/sub",
        ContainerRuntime::Containerd,
        "c1",
        "/default/c1",
    );
    let k8s = format!("/k8s.io/{ID}");
    assert_container(&k8s, ContainerRuntime::Containerd, ID, &k8s);
    assert_container(
        "/default/redis-1.v2",
        ContainerRuntime::Containerd,
        "redis-1.v2",
        "/default/redis-1.v2",
    );
}

#[test]
fn containerd_ctr_rule_is_conservative() {
    for path in [
        "/default",
        "/default/",
        "/default/bad..id",
        "/default/-leading",
        "/system.slice/default/c1",
        "/moby/c1",
        "/buildkit/c1",
        "/user.slice/default/c1",
    ] {
        assert_eq!(identify(path), None, "{path}");
    }
}

#[test]
fn crio_scopes_and_conmon() {
    let path = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/crio-{ID}.scope"
    );
    let got = found(&path);
    assert_eq!(got.runtime, ContainerRuntime::CriO);
    assert_eq!(got.id, ID);
    assert_eq!(got.pod, pod(UID, QosClass::Burstable));
    let conmon = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/crio-conmon-{ID}.scope"
    );
    assert_eq!(identify(&conmon), None);
    let cgroupfs = format!("/kubepods/besteffort/pod{UID}/crio-{ID}");
    let got = found(&cgroupfs);
    assert_eq!(got.runtime, ContainerRuntime::CriO);
    assert_eq!(got.pod, pod(UID, QosClass::BestEffort));
    assert_eq!(
        identify(&format!("/kubepods/besteffort/pod{UID}/crio-conmon-{ID}")),
        None
    );
}

#[test]
fn kubernetes_systemd_driver_every_qos() {
    for (slices, qos) in [
        (
            format!("kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice"),
            QosClass::Burstable,
        ),
        (
            format!("kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice"),
            QosClass::BestEffort,
        ),
        (format!("kubepods-pod{UID_}.slice"), QosClass::Guaranteed),
    ] {
        let path = format!("/kubepods.slice/{slices}/cri-containerd-{ID}.scope");
        let located = locate(&path).unwrap();
        assert_eq!(
            located.identity.runtime,
            ContainerRuntime::Containerd,
            "{path}"
        );
        assert_eq!(located.identity.id, ID);
        assert_eq!(located.identity.pod, pod(UID, qos), "{path}");
        assert!(!located.runtime_inferred);
        assert_eq!(located.cgroup, path);
    }
}

#[test]
fn kubernetes_runtime_comes_from_the_scope_prefix() {
    let base =
        format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice");
    assert_eq!(
        found(&format!("{base}/cri-containerd-{ID}.scope")).runtime,
        ContainerRuntime::Containerd
    );
    assert_eq!(
        found(&format!("{base}/crio-{ID}.scope")).runtime,
        ContainerRuntime::CriO
    );
    assert_eq!(
        found(&format!("{base}/docker-{ID}.scope")).runtime,
        ContainerRuntime::Docker
    );
    assert_eq!(identify(&base), None);
    assert_eq!(pod_of(&base), pod(UID, QosClass::Burstable));
}

#[test]
fn kubernetes_kind_style_prefixed_slices() {
    let path = format!(
        "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{UID_}.slice/cri-containerd-{ID}.scope"
    );
    let got = found(&path);
    assert_eq!(got.runtime, ContainerRuntime::Containerd);
    assert_eq!(got.pod, pod(UID, QosClass::BestEffort));
}

#[test]
fn kubernetes_cgroupfs_driver_every_qos() {
    for (middle, qos) in [
        (format!("burstable/pod{UID}"), QosClass::Burstable),
        (format!("besteffort/pod{UID}"), QosClass::BestEffort),
        (format!("pod{UID}"), QosClass::Guaranteed),
    ] {
        let path = format!("/kubepods/{middle}/{ID}");
        let located = locate(&path).unwrap();
        assert_eq!(
            located.identity.runtime,
            ContainerRuntime::Containerd,
            "{path}"
        );
        assert_ne!(located.identity.runtime, ContainerRuntime::Docker);
        assert!(located.runtime_inferred, "{path}");
        assert_eq!(located.identity.id, ID);
        assert_eq!(located.identity.pod, pod(UID, qos), "{path}");
        assert_eq!(pod_of(&format!("/kubepods/{middle}")), pod(UID, qos));
        assert_eq!(identify(&format!("/kubepods/{middle}")), None);
    }
}

#[test]
fn kubernetes_static_pod_uids_are_hashes() {
    let uid = "0b3d3b6c9a1e4f7d8c2b5a6e9f0d1c3b";
    let got = found(&format!("/kubepods/burstable/pod{uid}/{ID}"));
    assert_eq!(got.pod, pod(uid, QosClass::Burstable));
}

#[test]
fn kubernetes_nested_container_belongs_to_the_pods_container() {
    let path = format!("/kubepods/burstable/pod{UID}/{ID}/docker/{ID2}");
    assert_container(
        &path,
        ContainerRuntime::Containerd,
        ID,
        &format!("/kubepods/burstable/pod{UID}/{ID}"),
    );
}

#[test]
fn kubepods_lookalikes() {
    for path in [
        "/kubepods".to_string(),
        "/kubepods/burstable".to_string(),
        format!("/kubepods/burstable/podman/{ID}"),
        format!("/kubepods/burstable/notapod/{ID}"),
        format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podzz.slice/{ID}"),
        format!("/kubepods.slice/notkubepods-pod{UID_}.slice/{ID}"),
        format!("/system.slice/{ID}"),
        format!("/{ID}"),
    ] {
        assert_eq!(identify(&path), None, "{path}");
    }
    assert_eq!(pod_of("/kubepods/burstable"), None);
    assert_eq!(pod_of(&format!("/system.slice/pod{UID}")), None);
    assert_eq!(pod_of("/"), None);
}

#[test]
fn lxc_payload_and_old_layouts() {
    assert_container(
        "/lxc.payload.c1",
        ContainerRuntime::Lxc,
        "c1",
        "/lxc.payload.c1",
    );
    assert_container(
        "/lxc.payload.c1/system.slice/cron.service",
        ContainerRuntime::Lxc,
        "c1",
        "/lxc.payload.c1",
    );
    assert_container(
        "/lxc.payload/c1/init.scope",
        ContainerRuntime::Lxc,
        "c1",
        "/lxc.payload/c1",
    );
    assert_container("/lxc/c1", ContainerRuntime::Lxc, "c1", "/lxc/c1");
    assert_container(
        "/lxc/web-01/init.scope",
        ContainerRuntime::Lxc,
        "web-01",
        "/lxc/web-01",
    );
    assert_container(
        "/lxc.payload.proj_web",
        ContainerRuntime::Lxc,
        "proj_web",
        "/lxc.payload.proj_web",
    );
    assert_container(
        "/lxc.payload.outer/lxc.payload.inner",
        ContainerRuntime::Lxc,
        "outer",
        "/lxc.payload.outer",
    );
    assert_eq!(found("/lxc.payload.c1").name.as_deref(), Some("c1"));
}

#[test]
fn lxc_monitor_is_excluded() {
    for path in [
        "/lxc.monitor.c1",
        "/lxc.monitor/c1",
        "/lxc",
        "/lxc.payload",
        "/lxc.payload.",
    ] {
        assert_eq!(identify(path), None, "{path}");
    }
}

#[test]
fn systemd_nspawn_machine_scopes() {
    let got = found("/machine.slice/machine-debian.scope");
    assert_eq!(got.runtime, ContainerRuntime::SystemdNspawn);
    assert_eq!(got.id, "debian");
    assert_eq!(got.name.as_deref(), Some("debian"));
    assert_container(
        r"/machine.slice/machine-my\x2dbox.scope/payload/system.slice",
        ContainerRuntime::SystemdNspawn,
        "my-box",
        r"/machine.slice/machine-my\x2dbox.scope",
    );
}

#[test]
fn runc_systemd_driver_scopes() {
    assert_container(
        "/system.slice/runc-web1.scope",
        ContainerRuntime::Unknown("runc".into()),
        "web1",
        "/system.slice/runc-web1.scope",
    );
    assert_container(
        "/system.slice/runc-web1.scope/sub",
        ContainerRuntime::Unknown("runc".into()),
        "web1",
        "/system.slice/runc-web1.scope",
    );
    // The cgroupfs form has no runc convention: not claimed.
    assert_eq!(identify("/runc-web1"), None);
}

#[test]
fn libvirt_machines() {
    assert_eq!(
        identify(r"/machine.slice/machine-qemu\x2d1\x2dfedora.scope/libvirt/vcpu0"),
        None
    );
    let got = found(r"/machine.slice/machine-lxc\x2d4242\x2dweb.scope");
    assert_eq!(got.runtime, ContainerRuntime::Unknown("lxc-libvirt".into()));
    assert_eq!(got.id, "web");
}

#[test]
fn host_paths_are_not_containers() {
    for path in [
        "",
        "/",
        "//",
        "/init.scope",
        "/system.slice/sshd.service",
        "/user.slice/user-1000.slice/session-3.scope",
        "/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-1234.scope",
        "/process_api/755fbf010afb6d4cc5ef680e95bf43aa",
        "/machine.slice",
        "/machine.slice/machine-.scope",
    ] {
        assert_eq!(identify(path), None, "{path}");
        assert_eq!(pod_of(path), None, "{path}");
    }
}

#[test]
fn doubled_slashes_keep_the_prefix_exact() {
    let path = format!("//docker//{ID}//init");
    assert_container(
        &path,
        ContainerRuntime::Docker,
        ID,
        &format!("//docker//{ID}"),
    );
}

#[test]
fn runtime_wire_names_round_trip() {
    let all = [
        (ContainerRuntime::Docker, "docker", "Docker"),
        (ContainerRuntime::Podman, "podman", "Podman"),
        (ContainerRuntime::Containerd, "containerd", "containerd"),
        (ContainerRuntime::CriO, "cri-o", "CRI-O"),
        (ContainerRuntime::Lxc, "lxc", "LXC"),
        (
            ContainerRuntime::SystemdNspawn,
            "systemd-nspawn",
            "systemd-nspawn",
        ),
        (ContainerRuntime::Unknown("oci".into()), "oci", "oci"),
        (ContainerRuntime::None, "none", "none"),
    ];
    for (runtime, wire, human) in all {
        assert_eq!(runtime.as_str(), wire);
        assert_eq!(runtime.to_string(), human);
        assert_eq!(
            serde_json::to_string(&runtime).unwrap(),
            format!("\"{wire}\"")
        );
        assert_eq!(
            serde_json::from_str::<ContainerRuntime>(&format!("\"{wire}\"")).unwrap(),
            runtime
        );
        assert_eq!(wire.parse::<ContainerRuntime>().unwrap(), runtime);
        assert_eq!(human.parse::<ContainerRuntime>().unwrap(), runtime);
    }
    assert_eq!(ContainerRuntime::Unknown(String::new()).as_str(), "unknown");
}

#[test]
fn runtime_names_parse_case_insensitively_with_aliases() {
    assert_eq!("DOCKER".parse(), Ok(ContainerRuntime::Docker));
    assert_eq!(" Podman\n".parse(), Ok(ContainerRuntime::Podman));
    assert_eq!("crio".parse(), Ok(ContainerRuntime::CriO));
    assert_eq!("Cri-O".parse(), Ok(ContainerRuntime::CriO));
    assert_eq!("nspawn".parse(), Ok(ContainerRuntime::SystemdNspawn));
    assert_eq!("OCI".parse(), Ok(ContainerRuntime::Unknown("oci".into())));
    assert_eq!(
        "".parse::<ContainerRuntime>(),
        Err(ParseRuntimeError::Empty)
    );
    assert!(matches!(
        "a b".parse::<ContainerRuntime>(),
        Err(ParseRuntimeError::NotPrintable(_))
    ));
    assert!(matches!(
        "x".repeat(65).parse::<ContainerRuntime>(),
        Err(ParseRuntimeError::TooLong { .. })
    ));
    assert!(serde_json::from_str::<ContainerRuntime>("\"\"").is_err());
    assert!(ContainerRuntime::Docker.is_known() && ContainerRuntime::Docker.is_container());
    assert!(!ContainerRuntime::Unknown("oci".into()).is_known());
    assert!(!ContainerRuntime::None.is_container());
}

#[test]
fn qos_names() {
    for (qos, name) in [
        (QosClass::Guaranteed, "guaranteed"),
        (QosClass::Burstable, "burstable"),
        (QosClass::BestEffort, "besteffort"),
    ] {
        assert_eq!(qos.as_str(), name);
        assert_eq!(serde_json::to_string(&qos).unwrap(), format!("\"{name}\""));
        assert_eq!(name.to_uppercase().parse::<QosClass>(), Ok(qos));
    }
    assert!("gold".parse::<QosClass>().is_err());
}

#[test]
fn identity_serializes_with_lowercase_runtime() {
    let got = found(&format!("/kubepods/pod{UID}/{ID}"));
    let json = serde_json::to_value(&got).unwrap();
    assert_eq!(json["runtime"], "containerd");
    assert_eq!(json["pod"]["qos"], "guaranteed");
    assert_eq!(json["pod"]["uid"], UID);
}

fn path_strategy() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("docker".to_string()),
        Just("kubepods".to_string()),
        Just("kubepods.slice".to_string()),
        Just("burstable".to_string()),
        Just("besteffort".to_string()),
        Just("libpod_parent".to_string()),
        Just("conmon".to_string()),
        Just("lxc".to_string()),
        Just("lxc.payload".to_string()),
        Just("lxc.monitor".to_string()),
        Just("default".to_string()),
        Just(ID.to_string()),
        Just(format!("pod{UID}")),
        Just(format!("kubepods-burstable-pod{UID_}.slice")),
        Just(format!("docker-{ID}.scope")),
        Just(format!("libpod-{ID}.scope")),
        Just(format!("crio-conmon-{ID}.scope")),
        Just(r"machine-a\x2d\xff\x.scope".to_string()),
        "[a-z0-9._@\\\\-]{0,12}",
        ".{0,8}",
    ];
    prop::collection::vec(piece, 0..8).prop_map(|parts| format!("/{}", parts.join("/")))
}

proptest! {
    #[test]
    fn identify_never_panics_on_arbitrary_input(s in ".*") {
        let _ = identify(&s);
        let _ = pod_of(&s);
    }

    #[test]
    fn located_cgroup_is_a_prefix_and_sub_cgroups_stay_with_it(path in path_strategy()) {
        if let Some(located) = locate(&path) {
            prop_assert!(path.starts_with(located.cgroup));
            prop_assert!(!located.identity.id.is_empty());
            let nested = format!("{path}/sub");
            prop_assert_eq!(identify(&nested), Some(located.identity.clone()));
            prop_assert_eq!(identify(located.cgroup), Some(located.identity));
        }
        let _ = pod_of(&path);
    }
}
