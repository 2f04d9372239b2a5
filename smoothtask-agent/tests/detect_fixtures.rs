//! Fixture tests of container self-detection (`smoothtask_agent::detect`) on fake host roots.
//!
//! Each case is a directory `tests/fixtures/detect/<case>/` laid out like a host's root:
//! `proc/self/{cgroup,mountinfo}`, `proc/1/{cgroup,environ}`, `proc/{self,1}/ns/cgroup`
//! (symlinks), `proc/sys/kernel/osrelease`, `run/...`, `.dockerenv`, `var/run/secrets/...`,
//! `sys/fs/cgroup/...`. The file `environ` in the case directory is not part of the tree: it is
//! this process's environment, one `KEY=VALUE` a line. (`proc/1/environ` is PID 1's, NUL-separated
//! as the kernel gives it.) `tests/fixtures/detect/README.md` describes each case.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use smoothtask_agent::{
    detect::{
        ContainerInfo, Limit, adapt_for_container_at, detect_container_runtime_at,
        get_container_info_at, is_containerized_at, log_adaptation, own_limits_at, render_human,
    },
    host::HostRoot,
    runtime::{ContainerRuntime, QosClass},
};

fn fixture_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/detect")
        .join(case)
}

/// The case's `environ` file as an environment map (missing file: empty environment).
fn env_of(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(dir.join("environ"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn host_at(dir: &Path) -> HostRoot {
    HostRoot::at(dir).with_env(env_of(dir))
}

fn detect(case: &str) -> ContainerInfo {
    let dir = fixture_dir(case);
    assert!(dir.is_dir(), "missing fixture {}", dir.display());
    get_container_info_at(&host_at(&dir))
}

fn sources(info: &ContainerInfo) -> Vec<&str> {
    info.evidence.iter().map(|e| e.source.as_str()).collect()
}

#[track_caller]
fn assert_sources(info: &ContainerInfo, expected: &[&str]) {
    let found = sources(info);
    for source in expected {
        assert!(
            found.contains(source),
            "no evidence from {source} in {found:?}\n{}",
            render_human(info)
        );
    }
}

#[track_caller]
fn assert_verdict(info: &ContainerInfo, runtime: ContainerRuntime, id: Option<&str>) {
    assert_eq!(info.runtime, runtime, "{}", render_human(info));
    assert_eq!(info.is_containerized, runtime.is_container());
    assert_eq!(info.container_id.as_deref(), id, "{}", render_human(info));
}

fn finding<'a>(info: &'a ContainerInfo, source: &str) -> &'a str {
    info.evidence
        .iter()
        .find(|e| e.source == source)
        .map(|e| e.finding.as_str())
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------------- hosts

#[test]
fn host_v1() {
    let info = detect("host-v1");
    assert_verdict(&info, ContainerRuntime::None, None);
    assert_eq!(info.cgroup_path, None);
    assert_eq!(info.orchestrator, None);
    assert_sources(
        &info,
        &[
            "/proc/self/cgroup",
            "/proc/1/cgroup",
            "/proc/self/mountinfo",
        ],
    );
    assert!(
        finding(&info, "/proc/self/cgroup")
            .starts_with("v1 cgroup /user.slice/user-1000.slice/session-1.scope")
    );
    assert!(finding(&info, "/proc/self/cgroup").contains("host systemd unit"));
}

#[test]
fn host_v2() {
    let info = detect("host-v2");
    assert_verdict(&info, ContainerRuntime::None, None);
    assert_sources(
        &info,
        &[
            "/proc/self/cgroup",
            "/proc/self/mountinfo",
            "/proc/self/ns/cgroup",
        ],
    );
    assert!(finding(&info, "/proc/self/cgroup").starts_with("v2 cgroup"));
    assert!(finding(&info, "/proc/self/ns/cgroup").starts_with("same cgroup namespace"));
}

#[test]
fn host_hybrid_like_this_machine() {
    let info = detect("host-hybrid");
    assert_verdict(&info, ContainerRuntime::None, None);
    assert!(finding(&info, "/proc/self/cgroup").starts_with("hybrid cgroup /"));
    assert!(finding(&info, "/proc/self/mountinfo").contains("ext4 from /dev/vda"));
    assert!(!sources(&info).contains(&"/.dockerenv"));
}

#[test]
fn stray_dockerenv_on_a_host_is_outweighed() {
    let info = detect("stray-dockerenv");
    assert_verdict(&info, ContainerRuntime::None, None);
    let marker = info
        .evidence
        .iter()
        .find(|e| e.source == "/.dockerenv")
        .expect("/.dockerenv recorded");
    assert_eq!(marker.runtime, Some(ContainerRuntime::Docker));
    assert!(marker.finding.contains("outweighed"), "{}", marker.finding);
}

#[test]
fn wsl_is_not_a_container() {
    let info = detect("wsl");
    assert_verdict(&info, ContainerRuntime::None, None);
    assert_sources(&info, &["/proc/sys/kernel/osrelease", "/proc/self/cgroup"]);
    let wsl = finding(&info, "/proc/sys/kernel/osrelease");
    assert!(
        wsl.contains("WSL kernel") && wsl.contains("Ubuntu"),
        "{wsl}"
    );
}

// ------------------------------------------------------------------------------------ docker

const DOCKER_CGROUPFS: &str = "fb081ee28007cf7662db5e3558f574e6698bfcc3250c545dac4ac4700025ddf4";
const DOCKER_SYSTEMD: &str = "6de102c1cecc011032305908295668eedad74d736c6d216e4c42f416ae84988f";
const DOCKER_PRIVATE: &str = "189a07a9cb3166c1bfad3d41d7ba97100858736922dbc9307ddcd1a49f270ab2";

#[test]
fn docker_cgroupfs_driver_with_host_cgroupns() {
    let info = detect("docker-cgroupfs");
    assert_verdict(&info, ContainerRuntime::Docker, Some(DOCKER_CGROUPFS));
    assert_eq!(
        info.cgroup_path.as_deref(),
        Some(format!("/docker/{DOCKER_CGROUPFS}").as_str())
    );
    assert_sources(
        &info,
        &[
            "/proc/self/cgroup",
            "/proc/1/cgroup",
            "/proc/self/mountinfo",
            "/.dockerenv",
        ],
    );
    // HOSTNAME is the short id: never presented as the id.
    assert_ne!(info.container_id.as_deref(), Some(&DOCKER_CGROUPFS[..12]));
    assert!(!finding(&info, "/.dockerenv").contains("outweighed"));
}

#[test]
fn docker_systemd_driver() {
    let info = detect("docker-systemd");
    assert_verdict(&info, ContainerRuntime::Docker, Some(DOCKER_SYSTEMD));
    let scope = format!("/system.slice/docker-{DOCKER_SYSTEMD}.scope");
    assert_eq!(info.cgroup_path.as_deref(), Some(scope.as_str()));
    assert_sources(
        &info,
        &["/proc/self/cgroup", "/proc/self/mountinfo", "/.dockerenv"],
    );
}

#[test]
fn docker_private_cgroupns_takes_the_id_from_mountinfo() {
    let info = detect("docker-private-cgroupns");
    assert_verdict(&info, ContainerRuntime::Docker, Some(DOCKER_PRIVATE));
    assert_eq!(info.cgroup_path.as_deref(), Some("/"));
    let mounts = info
        .evidence
        .iter()
        .find(|e| e.source == "/proc/self/mountinfo" && e.runtime == Some(ContainerRuntime::Docker))
        .expect("mountinfo names docker");
    assert!(
        mounts.finding.contains("/etc/hostname"),
        "{}",
        mounts.finding
    );
    assert!(finding(&info, "/proc/self/cgroup").contains("no container pattern"));
}

// ------------------------------------------------------------------------------------ podman

const PODMAN_ROOTFUL: &str = "4675a9ec2d20c5f97577a55c245da887778bcdf5e64fdb01cfa074c86f6754a5";
const PODMAN_ROOTLESS: &str = "56dfa3bc944415a972b0fe05883435f6f061150cc65600d923a24fd565932362";

#[test]
fn podman_rootful_cgroupfs() {
    let info = detect("podman-rootful");
    assert_verdict(&info, ContainerRuntime::Podman, Some(PODMAN_ROOTFUL));
    assert_eq!(
        info.cgroup_path.as_deref(),
        Some(format!("/libpod_parent/libpod-{PODMAN_ROOTFUL}").as_str())
    );
    assert_sources(
        &info,
        &[
            "/proc/1/environ",
            "env:container",
            "/proc/self/cgroup",
            "/proc/self/mountinfo",
            "/run/.containerenv",
        ],
    );
    assert_eq!(finding(&info, "/proc/1/environ"), "container=podman");
}

#[test]
fn podman_rootless_systemd() {
    let info = detect("podman-rootless");
    assert_verdict(&info, ContainerRuntime::Podman, Some(PODMAN_ROOTLESS));
    let scope = format!(
        "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{PODMAN_ROOTLESS}.scope"
    );
    assert_eq!(info.cgroup_path.as_deref(), Some(scope.as_str()));
    assert_sources(
        &info,
        &[
            "/proc/1/environ",
            "/proc/self/cgroup",
            "/proc/self/mountinfo",
            "/run/.containerenv",
        ],
    );
    let marker = finding(&info, "/run/.containerenv");
    assert!(
        marker.contains("name=\"web\"") && marker.contains(PODMAN_ROOTLESS),
        "{marker}"
    );
}

// -------------------------------------------------------------------------------- kubernetes

#[test]
fn kubernetes_containerd_systemd_driver() {
    let info = detect("k8s-containerd-systemd");
    let id = "114eb2e3f2c72843a99bc5a1cb5c42f83bd7d32d31b828a1354381d7ff03676f";
    assert_verdict(&info, ContainerRuntime::Containerd, Some(id));
    let pod = info.orchestrator.as_ref().expect("kubernetes");
    assert_eq!(pod.kind, "kubernetes");
    assert_eq!(
        pod.pod_uid.as_deref(),
        Some("ec91ea8c-4e1a-4720-abcb-504ecfc715e9")
    );
    assert_eq!(pod.qos, Some(QosClass::Burstable));
    assert_eq!(pod.namespace.as_deref(), Some("monitoring"));
    assert_eq!(pod.name.as_deref(), Some("smoothtask-x2x9k"));
    assert_sources(
        &info,
        &[
            "/proc/self/cgroup",
            "/proc/self/mountinfo",
            "/var/run/secrets/kubernetes.io/serviceaccount",
            "env:KUBERNETES_SERVICE_HOST",
            "env:POD_NAME",
        ],
    );
    // The sandbox's id behind /etc/hostname is recorded, never presented.
    let sandbox = "dfebf79b04e011ccf956504b20ad6c6a895f27c29acee10ac7982cec6dc2d44c";
    assert!(info.evidence.iter().any(|e| e.finding.contains(sandbox)));
    assert_ne!(info.runtime, ContainerRuntime::Docker);
}

#[test]
fn kubernetes_containerd_cgroupfs_driver() {
    let info = detect("k8s-containerd-cgroupfs");
    let id = "a3e4455ebb069a65d20b2934f793464b57960520706e123ea8be0f4b3c0bdbae";
    assert_verdict(&info, ContainerRuntime::Containerd, Some(id));
    let pod = info.orchestrator.as_ref().expect("kubernetes");
    assert_eq!(
        pod.pod_uid.as_deref(),
        Some("84a28cf7-7b74-4a9f-a25b-ced1b70864c8")
    );
    assert_eq!(pod.qos, Some(QosClass::BestEffort));
    assert_eq!(pod.namespace.as_deref(), Some("default"));
    assert_eq!(pod.name, None);
    assert_sources(
        &info,
        &[
            "/proc/self/cgroup",
            "/run/secrets/kubernetes.io/serviceaccount",
            "env:KUBERNETES_SERVICE_HOST",
        ],
    );
    assert!(finding(&info, "/proc/self/cgroup").contains("runtime inferred"));
}

#[test]
fn kubernetes_containerd_private_cgroupns_has_no_own_id() {
    let info = detect("k8s-containerd-v2-private");
    assert_verdict(&info, ContainerRuntime::Containerd, None);
    assert_eq!(info.cgroup_path.as_deref(), Some("/"));
    let pod = info.orchestrator.as_ref().expect("kubernetes");
    assert_eq!(
        pod.pod_uid.as_deref(),
        Some("037c017a-5eba-411b-af27-0fe8c1663598")
    );
    assert_eq!(pod.qos, None);
    assert_eq!(pod.namespace.as_deref(), Some("kube-system"));
    assert!(finding(&info, "/proc/1/cgroup").contains("outside this process's cgroup namespace"));
    assert!(finding(&info, "/proc/self/ns/cgroup").starts_with("private cgroup namespace"));
}

#[test]
fn kubernetes_crio_systemd_driver() {
    let info = detect("k8s-crio");
    let id = "c99a3087da531c7b34bff93c3956f52cb41fa30118580a270b77f62ba80e45bc";
    assert_verdict(&info, ContainerRuntime::CriO, Some(id));
    let pod = info.orchestrator.as_ref().expect("kubernetes");
    assert_eq!(
        pod.pod_uid.as_deref(),
        Some("4cb330ae-895a-4f23-addf-31c6bd8d94ce")
    );
    assert_eq!(pod.qos, Some(QosClass::Guaranteed));
    assert_eq!(pod.namespace.as_deref(), Some("openshift-monitoring"));
    assert_sources(
        &info,
        &[
            "/proc/self/cgroup",
            "/proc/self/mountinfo",
            "/run/.containerenv",
            "env:KUBERNETES_SERVICE_HOST",
        ],
    );
    // overlay-containers under kubelet is CRI-O's sandbox, not podman.
    assert!(
        info.evidence.iter().any(
            |e| e.source == "/proc/self/mountinfo" && e.runtime == Some(ContainerRuntime::CriO)
        )
    );
}

#[test]
fn kubernetes_dockershim_overrides_the_inferred_runtime() {
    let info = detect("k8s-docker-cgroupfs");
    let id = "45220c6146e1801062d222e97433a1a155aea79a82b73d745178508225a6056b";
    assert_verdict(&info, ContainerRuntime::Docker, Some(id));
    assert_eq!(
        info.orchestrator.as_ref().and_then(|o| o.qos),
        Some(QosClass::Burstable)
    );
}

// ------------------------------------------------------------------------------ lxc, nspawn

#[test]
fn lxc_private_cgroupns() {
    let info = detect("lxc");
    assert_verdict(&info, ContainerRuntime::Lxc, Some("c1"));
    assert_eq!(info.cgroup_path.as_deref(), Some("/"));
    assert_sources(
        &info,
        &[
            "/proc/1/environ",
            "/proc/self/mountinfo",
            "/proc/self/ns/cgroup",
        ],
    );
    assert_eq!(info.orchestrator, None);
}

#[test]
fn systemd_nspawn_machine() {
    let info = detect("systemd-nspawn");
    assert_verdict(&info, ContainerRuntime::SystemdNspawn, Some("debian"));
    assert_sources(
        &info,
        &[
            "/proc/1/environ",
            "/run/systemd/container",
            "/run/host/container-manager",
            "/proc/self/mountinfo",
        ],
    );
    // systemd inside puts us in a host-looking unit; the declaration still wins.
    assert!(finding(&info, "/proc/self/cgroup").contains("host systemd unit"));
}

// ------------------------------------------------------------------------------- bad input

#[test]
fn garbage_files_give_fewer_evidence_and_no_panic() {
    let info = detect("garbage");
    let intact = detect("docker-cgroupfs");
    assert!(
        info.evidence.len() < intact.evidence.len(),
        "{}",
        render_human(&info)
    );
    assert_eq!(info.container_id, None);
    // Only podman's marker file survives as evidence of a runtime.
    assert_eq!(info.runtime, ContainerRuntime::Podman);
    let _ = adapt_for_container_at(&host_at(&fixture_dir("garbage")));
}

#[test]
fn truncated_files_give_fewer_evidence() {
    let info = detect("truncated");
    let intact = detect("docker-cgroupfs");
    assert!(
        info.evidence.len() < intact.evidence.len(),
        "{}",
        render_human(&info)
    );
    // The cut cgroup line names nothing; the mountinfo lines that survived whole still do.
    assert!(finding(&info, "/proc/self/cgroup").contains("no container pattern"));
    assert!(!sources(&info).contains(&"/proc/1/environ"));
    assert_verdict(&info, ContainerRuntime::Docker, Some(DOCKER_CGROUPFS));
}

#[test]
fn an_empty_root_is_a_host_with_no_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let host = HostRoot::at(dir.path());
    let info = get_container_info_at(&host);
    assert_verdict(&info, ContainerRuntime::None, None);
    assert!(info.evidence.is_empty());
    let limits = own_limits_at(&host);
    assert_eq!(limits.memory_bytes, Limit::Unknown);
    assert_eq!(limits.cpu, Limit::Unknown);
}

/// Every file of a tree, relative to it.
fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = path.symlink_metadata().unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for rel in files_of(from) {
        let (src, dst) = (from.join(&rel), to.join(&rel));
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        match std::fs::read_link(&src) {
            Ok(target) => std::os::unix::fs::symlink(target, &dst).unwrap(),
            Err(_) => {
                std::fs::copy(&src, &dst).unwrap();
            }
        }
    }
}

/// One way of spoiling a fixture file, given its path.
type Mangle = Box<dyn Fn(&Path)>;

fn run_everything(host: &HostRoot) -> ContainerInfo {
    let info = get_container_info_at(host);
    let _ = adapt_for_container_at(host);
    let _ = render_human(&info);
    let _ = serde_json::to_string(&info).unwrap();
    info
}

/// Each file of each container case, cut short, replaced by garbage, by a directory, by a FIFO
/// or by a dangling symlink: detection always returns.
#[test]
fn every_file_mangled_every_way_never_panics() {
    let cases = [
        "docker-cgroupfs",
        "podman-rootless",
        "k8s-containerd-systemd",
        "k8s-crio",
        "lxc",
        "systemd-nspawn",
    ];
    for case in cases {
        let original = fixture_dir(case);
        let intact = detect(case).evidence.len();
        for rel in files_of(&original) {
            if rel == Path::new("environ") {
                continue;
            }
            let bytes = std::fs::read(original.join(&rel)).unwrap_or_default();
            let cuts = [
                0,
                1,
                bytes.len() / 3,
                bytes.len() / 2,
                bytes.len().saturating_sub(1),
            ];
            let mut variants: Vec<Mangle> = Vec::new();
            for cut in cuts {
                let head = bytes[..cut.min(bytes.len())].to_vec();
                variants.push(Box::new(move |p: &Path| std::fs::write(p, &head).unwrap()));
            }
            variants.push(Box::new(|p: &Path| {
                std::fs::write(p, (0..=255u8).rev().collect::<Vec<_>>()).unwrap()
            }));
            variants.push(Box::new(|p: &Path| std::fs::create_dir(p).unwrap()));
            variants.push(Box::new(|p: &Path| {
                std::os::unix::fs::symlink("/nonexistent/target", p).unwrap()
            }));
            variants.push(Box::new(|p: &Path| {
                let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
                // SAFETY: `c` is a valid NUL-terminated path.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            }));
            for mangle in &variants {
                let tmp = tempfile::tempdir().unwrap();
                copy_tree(&original, tmp.path());
                let target = tmp.path().join(&rel);
                std::fs::remove_file(&target).unwrap();
                mangle(&target);
                let info = run_everything(&host_at(tmp.path()));
                assert!(
                    info.evidence.len() <= intact + 1,
                    "{case}/{}",
                    rel.display()
                );
            }
        }
    }
}

// --------------------------------------------------------------------------------- the API

#[test]
fn entry_points_agree() {
    let dir = fixture_dir("docker-systemd");
    let host = host_at(&dir);
    assert_eq!(detect_container_runtime_at(&host), ContainerRuntime::Docker);
    assert!(is_containerized_at(&host));
    assert!(!is_containerized_at(&host_at(&fixture_dir("host-v2"))));
}

#[test]
fn overrides_win_over_everything() {
    let dir = fixture_dir("docker-cgroupfs");
    let host = host_at(&dir).with_env([("CONTAINER_TYPE", "none")]);
    let info = get_container_info_at(&host);
    assert_verdict(&info, ContainerRuntime::None, None);
    assert_eq!(info.evidence[0].source, "env:CONTAINER_TYPE");
    let host = host_at(&fixture_dir("host-v2")).with_env([("PODMAN_CONTAINER", "true")]);
    assert_eq!(
        get_container_info_at(&host).runtime,
        ContainerRuntime::Podman
    );
    let host = host_at(&fixture_dir("host-v2")).with_env([("CONTAINER_TYPE", "rkt")]);
    assert_eq!(
        get_container_info_at(&host).runtime,
        ContainerRuntime::Unknown("rkt".into())
    );
}

#[test]
fn json_uses_lowercase_runtime_names() {
    let info = detect("k8s-crio");
    let json: serde_json::Value = serde_json::to_value(&info).unwrap();
    assert_eq!(json["runtime"], "cri-o");
    assert_eq!(json["is_containerized"], true);
    assert_eq!(json["orchestrator"]["kind"], "kubernetes");
    assert_eq!(json["orchestrator"]["qos"], "guaranteed");
    assert!(
        json["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["source"].is_string())
    );
    let back: ContainerInfo = serde_json::from_value(json).unwrap();
    assert_eq!(back, info);
    let nspawn = serde_json::to_value(detect("systemd-nspawn")).unwrap();
    assert_eq!(nspawn["runtime"], "systemd-nspawn");
    assert_eq!(
        serde_json::to_value(detect("host-v1")).unwrap()["runtime"],
        "none"
    );
}

#[test]
fn adaptation_reads_own_limits() {
    let a = adapt_for_container_at(&host_at(&fixture_dir("docker-cgroupfs")));
    assert_eq!(a.limits.memory_bytes, Limit::Limited(536_870_912));
    assert_eq!(a.limits.cpu.limited().map(|q| q.cores()), Some(0.5));
    assert_eq!(a.sampling_interval_scale, 2.0);
    assert_eq!(a.memory_budget_bytes, Some(134_217_728));
    assert!(a.conservative_bounds);

    let a = adapt_for_container_at(&host_at(&fixture_dir("docker-systemd")));
    assert_eq!(a.limits.memory_bytes, Limit::Limited(268_435_456));
    assert_eq!(a.limits.cpu, Limit::Unlimited);
    assert_eq!(a.sampling_interval_scale, 1.0);
    assert!(!a.conservative_bounds, "{:?}", a.reasons);

    let a = adapt_for_container_at(&host_at(&fixture_dir("docker-private-cgroupns")));
    assert_eq!(a.limits.memory_bytes, Limit::Limited(1_073_741_824));
    assert_eq!(a.limits.cpu.limited().map(|q| q.cores()), Some(2.0));
    assert!(a.conservative_bounds, "namespaced view");

    // The container cgroup's limit binds, not the `max` of the sub-cgroup podman runs us in.
    let a = adapt_for_container_at(&host_at(&fixture_dir("podman-rootless")));
    assert_eq!(a.limits.memory_bytes, Limit::Limited(805_306_368));
    assert_eq!(a.limits.cpu.limited().map(|q| q.cores()), Some(1.5));

    let a = adapt_for_container_at(&host_at(&fixture_dir("k8s-containerd-systemd")));
    assert_eq!(a.sampling_interval_scale, 5.0);

    for host in ["host-v1", "host-hybrid"] {
        let a = adapt_for_container_at(&host_at(&fixture_dir(host)));
        assert_eq!(a.limits.memory_bytes, Limit::Unlimited, "{host}");
        assert_eq!(a.limits.cpu, Limit::Unlimited, "{host}");
        assert!(!a.conservative_bounds, "{host}");
    }
    let a = adapt_for_container_at(&host_at(&fixture_dir("host-v2")));
    assert_eq!(a.limits.memory_bytes, Limit::Unlimited);
}

/// A writer the fmt subscriber logs into.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged(case: &str) -> Vec<String> {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .finish();
    let host = host_at(&fixture_dir(case));
    tracing::subscriber::with_default(subscriber, || {
        log_adaptation(
            &get_container_info_at(&host),
            &adapt_for_container_at(&host),
        );
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    text.lines().map(|l| l.trim().to_string()).collect()
}

#[test]
fn startup_log_lines() {
    assert_eq!(
        logged("docker-cgroupfs"),
        [
            "INFO container: Detected container environment: Docker".to_string(),
            format!("INFO container: Container ID: {DOCKER_CGROUPFS}"),
            format!("INFO container: Container cgroup path: /docker/{DOCKER_CGROUPFS}"),
            "INFO container: Container memory limit: 536870912 bytes".to_string(),
        ]
    );
    assert_eq!(
        logged("k8s-containerd-v2-private"),
        [
            "INFO container: Detected container environment: containerd",
            "INFO container: Container cgroup path: /",
            "INFO container: Container memory limit: 536870912 bytes",
        ]
    );
    assert!(logged("host-hybrid").is_empty());
}
