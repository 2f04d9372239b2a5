//! Privileged, real Docker engine: the production image (the `Dockerfile`'s final stage around
//! the binary under test, on the locally debootstrapped Debian base) runs with the README's
//! `docker run` command. Only the container's name, the host side of the published port, the
//! host directories of /etc/smoothtask and /var/log/smoothtask and the image tag are replaced;
//! every other word is the README's. Then:
//! - inside it, `smoothtaskd --container-info --json` reports docker and the full 64-hex id
//!   Docker gave the container;
//! - the agent in it loaded its eBPF programs (`/api/status`, through the published port);
//! - a busybox container started afterwards appears on `/api/events` (NDJSON, through the
//!   published port) within 1 s of `docker run` returning, from a kernel event, not a rescan;
//! - `/api/container/info` answers through the published port with the token, and 401 without;
//! - it runs as uid 10001 and writes its events file into the mounted log directory.

use std::{
    os::unix::fs::PermissionsExt as _,
    time::{Duration, Instant},
};

use smoothtask_tests::{
    Requirement,
    daemon::smoothtaskd_path,
    deploy::{
        BASE_IMAGE, BuiltImage, DOCKER, EventStream, IMAGE_UID, RunningContainer, docker, get,
        readme_docker_run, run, substitute, wait_ok,
    },
    privilege::REQUIRE_ENV,
    require,
    runtimes::{self, ContainerSpec, Runtime, require_runtime},
};

const WITHIN: Duration = Duration::from_secs(1);

fn is_full_docker_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The base image and the default bridge network prepare.sh sets up; a skip (or, in CI, a
/// failure) with the reason when either is missing.
fn require_image_base(test: &str) -> bool {
    let why = if run(docker().args(["image", "inspect", BASE_IMAGE])).is_err() {
        Some(format!(
            "{BASE_IMAGE} is not in the engine (debootstrap failed? see {}/debootstrap.log)",
            runtimes::state_dir().display()
        ))
    } else if run(docker().args(["network", "inspect", "bridge"])).is_err() {
        Some("dockerd has no default bridge network, so -p cannot publish a port (a dockerd started with --bridge=none?)".into())
    } else {
        None
    };
    match why {
        None => true,
        Some(why) if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") => {
            panic!("{test}: cannot run ({REQUIRE_ENV}=1 forbids skipping): {why}")
        }
        Some(why) => {
            println!("skipped: {test}: {why}");
            false
        }
    }
}

#[test]
fn production_image_runs_with_the_readme_command() {
    let test = "production_image_runs_with_the_readme_command";
    if !require(test, &[Requirement::Root, Requirement::Ebpf])
        || !require_runtime(test, Runtime::Docker)
        || !require_image_base(test)
    {
        return;
    }
    let pid = std::process::id();
    let tag = format!("smoothtask-test-deploy:{pid}");
    let (image, took) = BuiltImage::production(&smoothtaskd_path(), &tag)
        .unwrap_or_else(|e| panic!("building the production image: {e}"));
    eprintln!("built {} in {took:?}", image.tag);

    // The host side of the README's mounts, prepared as the README says.
    let host = smoothtask_tests::deploy::workspace().join(format!("target/deploy-host-{pid}"));
    let _ = std::fs::remove_dir_all(&host);
    let etc = host.join("etc");
    let log = host.join("log");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(&log).unwrap();
    let token = format!(
        "{:016x}{:016x}",
        pid,
        Instant::now().elapsed().as_nanos() ^ 0x5eed_cafe
    );
    std::fs::write(etc.join("api-token"), &token).unwrap();
    std::fs::set_permissions(
        etc.join("api-token"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::chown(&log, Some(IMAGE_UID), Some(IMAGE_UID)).unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o750)).unwrap();
    struct RemoveDir(std::path::PathBuf);
    impl Drop for RemoveDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _host_dirs = RemoveDir(host.clone());

    // The README's command, with the documented substitutions.
    let port = smoothtask_tests::http::free_port();
    let name = format!("smoothtask-test-deploy-{pid}");
    let mut words = readme_docker_run();
    eprintln!("README: {}", words.join(" "));
    substitute(&mut words, "smoothtask:latest", &image.tag);
    substitute(&mut words, "smoothtask", &name);
    substitute(&mut words, "8080:8080", &format!("{port}:8080"));
    substitute(&mut words, "/etc/smoothtask", etc.to_str().unwrap());
    substitute(&mut words, "/var/log/smoothtask", log.to_str().unwrap());
    assert_eq!(words[0], "docker");
    let out = run(docker().args(&words[1..])).unwrap_or_else(|e| panic!("docker run: {e}"));
    let id = out.lines().last().unwrap_or_default().to_string();
    let _container = RunningContainer { id: id.clone() };
    assert!(is_full_docker_id(&id), "docker run printed {out:?}");
    let logs = || {
        std::process::Command::new(DOCKER)
            .args(["logs", &id])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout).into_owned()
                    + &String::from_utf8_lossy(&o.stderr)
            })
            .unwrap_or_else(|e| e.to_string())
    };

    // Ready through the published port (health routes need no token).
    let ready = wait_ok(port, "/readyz", None, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("/readyz through port {port}: {e}\nagent log:\n{}", logs()));
    eprintln!("/readyz: {ready}");
    assert_eq!(get(port, "/healthz", None).unwrap().0, 200);

    // Not root, and exactly the image's file capabilities (the agent is the container's init;
    // its host PID from the engine).
    let agent_pid = run(docker().args(["inspect", "-f", "{{.State.Pid}}", &id])).unwrap();
    let proc_status = std::fs::read_to_string(format!("/proc/{agent_pid}/status")).unwrap();
    let field = |name: &str| {
        proc_status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().next().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("no {name} in /proc/{agent_pid}/status"))
    };
    assert_eq!(field("Uid:"), IMAGE_UID.to_string(), "the agent's uid");
    let eff = u64::from_str_radix(&field("CapEff:"), 16).unwrap();
    const CAP_DAC_READ_SEARCH: u32 = 2;
    const CAP_SYS_ADMIN: u32 = 21;
    assert_eq!(
        eff,
        (1 << CAP_DAC_READ_SEARCH) | (1 << CAP_SYS_ADMIN),
        "smoothtaskd's effective capabilities: {eff:x}"
    );

    // Self-detection inside the container: docker and the full id.
    let info = run(docker().args(["exec", &id, "smoothtaskd", "--container-info", "--json"]))
        .unwrap_or_else(|e| panic!("--container-info: {e}"));
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["is_containerized"], true, "{info}");
    assert_eq!(info["runtime"], "docker", "{info}");
    assert_eq!(info["container_id"], id.as_str(), "{info}");

    // eBPF loaded, as the agent reports it (the token is required off loopback).
    let (code, body) = get(port, "/api/status", None).unwrap();
    assert_eq!(code, 401, "/api/status without the token: {body}");
    let status: serde_json::Value =
        serde_json::from_str(&wait_ok(port, "/api/status", Some(&token), WITHIN).unwrap()).unwrap();
    let mode = |name: &str| {
        status["subsystems"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == name))
            .map(|s| s["mode"].clone())
            .unwrap_or_else(|| panic!("no {name} subsystem in {status}"))
    };
    assert_eq!(mode("kernel"), "ebpf", "{status}\nagent log:\n{}", logs());
    assert_eq!(mode("cgroup_lifecycle"), "ebpf", "{status}");
    assert_eq!(mode("api"), "token", "{status}");
    let programs: Vec<&str> = status["ebpf_programs"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p.as_str()).collect())
        .unwrap_or_default();
    for program in ["cgroup_mkdir", "cgroup_rmdir", "cgroup_attach_task"] {
        assert!(programs.contains(&program), "{program} in {programs:?}");
    }
    assert!(
        logs().contains("eBPF programs attached"),
        "agent log:\n{}",
        logs()
    );

    // A container started afterwards, seen through the published port's event stream.
    let stream = EventStream::open(
        port,
        "/api/events?format=ndjson&kind=container.added",
        &token,
    )
    .unwrap_or_else(|e| panic!("event stream: {e}"));
    let busybox = runtimes::start(Runtime::Docker, &ContainerSpec::default())
        .unwrap_or_else(|e| panic!("busybox: {e}"));
    let returned = Instant::now();
    let (arrived, event) = stream
        .wait_for(Duration::from_secs(10), |e| {
            e["container"]["id"] == busybox.id.as_str()
        })
        .unwrap_or_else(|| {
            panic!(
                "no container.added for {} on the stream\nagent log:\n{}",
                busybox.id,
                logs()
            )
        });
    let late = arrived.saturating_duration_since(returned);
    eprintln!(
        "container.added for busybox {}: {late:?} after docker run returned: {event}",
        busybox.id
    );
    assert!(
        late <= WITHIN,
        "container.added {late:?} after docker run returned"
    );
    assert_eq!(event["container"]["runtime"], "docker", "{event}");
    assert_eq!(event["source"], "ebpf", "from the kernel event: {event}");
    assert!(event.get("repaired").is_none(), "not a rescan: {event}");

    // The agent's own container through the published port, with the token only.
    let (code, body) = get(port, "/api/container/info", None).unwrap();
    assert_eq!(code, 401, "/api/container/info without the token: {body}");
    let (code, body) = get(port, "/api/container/info", Some(&token)).unwrap();
    assert_eq!(code, 200, "{body}");
    let api_info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(api_info["runtime"], "docker", "{api_info}");
    assert_eq!(api_info["container_id"], id.as_str(), "{api_info}");
    assert_eq!(api_info["is_containerized"], true, "{api_info}");

    // Events land in the mounted log directory, written by uid 10001.
    let events = log.join("events.ndjson");
    let meta = std::fs::metadata(&events)
        .unwrap_or_else(|e| panic!("{}: {e}\nagent log:\n{}", events.display(), logs()));
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(meta.uid(), IMAGE_UID);
    let text = std::fs::read_to_string(&events).unwrap();
    assert!(
        text.lines().any(|l| l.contains("\"agent.started\"")),
        "agent.started in {}",
        events.display()
    );

    // Dropped in reverse order: busybox, the stream, the agent's container, the host
    // directories, then the image (not in use any more, so really removed).
    drop(busybox);
    drop(stream);
}
