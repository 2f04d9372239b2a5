//! The deployment files as the agent and the image need them. No cluster and no systemd as
//! PID 1 here (and kubectl cannot validate offline), so:
//! - `deploy/kubernetes/`: every file parses as YAML; every object has the fields its kind
//!   requires; the kustomization lists every file; and the fields the agent relies on are
//!   checked against the image and the agent: capabilities = the Dockerfile's file
//!   capabilities, uid = the image's user, probes on the container's port and the agent's
//!   health routes, tolerations for every taint, hostPID, the host mounts, the projected token
//!   at the config's `api.token_file`, and the ConfigMap's config accepted by
//!   `smoothtaskd check-config` with the DaemonSet's environment applied.
//! - `deploy/systemd/smoothtaskd.service`: `systemd-analyze verify` in a scratch root (no
//!   warnings), ExecReload sends SIGHUP to the main PID, and the real binary under the unit's
//!   capability bounding set (capsh) loads its eBPF programs and reloads on SIGHUP.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::Command,
    time::Duration,
};

use serde_json::Value;
use smoothtask_tests::{
    Requirement,
    daemon::{Daemon, smoothtaskd_path},
    deploy::{IMAGE_UID, run, workspace, yaml_documents},
    privilege::REQUIRE_ENV,
    require,
};

fn manifests() -> BTreeMap<String, Vec<Value>> {
    let dir = workspace().join("deploy/kubernetes");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("deploy/kubernetes") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let docs = yaml_documents(&text).unwrap_or_else(|e| panic!("{name}:{e}"));
            out.insert(name, docs);
        }
    }
    out
}

fn objects() -> Vec<Value> {
    manifests()
        .into_iter()
        .filter(|(name, _)| name != "kustomization.yaml")
        .flat_map(|(_, docs)| docs)
        .collect()
}

fn find(objects: &[Value], kind: &str) -> Value {
    let found: Vec<&Value> = objects.iter().filter(|o| o["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "exactly one {kind}");
    found[0].clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The capabilities `setcap` gives smoothtaskd in the production Dockerfile, as Kubernetes
/// spells them (`cap_sys_admin` -> `SYS_ADMIN`).
fn dockerfile_file_caps() -> BTreeSet<String> {
    let dockerfile = std::fs::read_to_string(workspace().join("Dockerfile")).unwrap();
    let line = dockerfile
        .lines()
        .find(|l| l.trim_start().starts_with("setcap "))
        .expect("a setcap line in the Dockerfile");
    let spec = line.split_whitespace().nth(1).unwrap();
    let caps = spec.split(['+', '=']).next().unwrap();
    caps.split(',')
        .map(|c| c.trim_start_matches("cap_").to_ascii_uppercase())
        .collect()
}

/// The fields every object of the kinds used here must have (a structural schema check:
/// required fields with the right JSON types).
fn check_required(o: &Value) {
    let kind = o["kind"].as_str().unwrap_or_default();
    let expected_api = match kind {
        "Namespace" | "ServiceAccount" | "ConfigMap" | "Secret" | "Service" => "v1",
        "DaemonSet" => "apps/v1",
        other => panic!("unexpected kind {other:?} in deploy/kubernetes"),
    };
    assert_eq!(o["apiVersion"], expected_api, "{kind}");
    let name = o["metadata"]["name"].as_str().unwrap_or_default();
    assert!(
        !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "{kind}: metadata.name {name:?} is a DNS label"
    );
    if kind != "Namespace" {
        assert_eq!(o["metadata"]["namespace"], "smoothtask", "{kind} {name}");
    }
    for (key, value) in o["metadata"]["labels"].as_object().into_iter().flatten() {
        assert!(
            value.is_string(),
            "{kind} {name}: label {key} must be a string"
        );
    }
    for (key, value) in o["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
    {
        assert!(
            value.is_string(),
            "{kind} {name}: annotation {key} must be a string"
        );
    }
    match kind {
        "ConfigMap" => assert!(
            o["data"]
                .as_object()
                .is_some_and(|d| d.values().all(Value::is_string))
        ),
        "Secret" => assert!(o["stringData"].is_object() || o["data"].is_object()),
        "Service" => {
            for port in o["spec"]["ports"].as_array().expect("Service ports") {
                assert!(port["port"].is_u64(), "{port}");
                assert!(port["name"].is_string(), "{port}");
            }
        }
        _ => {}
    }
}

/// `100m` -> 0.1 cores; `64Mi` -> bytes.
fn quantity(q: &Value) -> f64 {
    let s = match q {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let units = [
        ("Ki", 1024f64),
        ("Mi", 1024f64 * 1024.0),
        ("Gi", 1024f64 * 1024.0 * 1024.0),
        ("m", 0.001),
    ];
    for (suffix, factor) in units {
        if let Some(n) = s.strip_suffix(suffix) {
            return n.parse::<f64>().expect("a number") * factor;
        }
    }
    s.parse().expect("a quantity")
}

#[test]
fn kubernetes_manifests_parse_and_carry_what_the_agent_needs() {
    let files = manifests();
    // The kustomization applies every file in the directory.
    let kustomization = &files["kustomization.yaml"][0];
    let listed: BTreeSet<String> = strings(&kustomization["resources"]).into_iter().collect();
    let present: BTreeSet<String> = files
        .keys()
        .filter(|n| *n != "kustomization.yaml")
        .cloned()
        .collect();
    assert_eq!(listed, present, "kustomization.yaml resources");

    let objects = objects();
    for o in &objects {
        check_required(o);
    }
    let daemonset = find(&objects, "DaemonSet");
    let service = find(&objects, "Service");
    let configmap = find(&objects, "ConfigMap");
    let secret = find(&objects, "Secret");
    let account = find(&objects, "ServiceAccount");
    find(&objects, "Namespace");

    let spec = &daemonset["spec"];
    let pod = &spec["template"]["spec"];
    let labels = spec["template"]["metadata"]["labels"].as_object().unwrap();
    for (k, v) in spec["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(
            labels.get(k),
            Some(v),
            "selector {k} matches the pod's labels"
        );
    }
    assert_eq!(pod["hostPID"], true, "hostPID");
    assert_eq!(pod["serviceAccountName"], account["metadata"]["name"]);
    // Every node: one toleration with operator Exists and no key or effect.
    assert!(
        pod["tolerations"].as_array().unwrap().iter().any(|t| {
            t["operator"] == "Exists" && t.get("key").is_none() && t.get("effect").is_none()
        }),
        "a toleration of every taint: {}",
        pod["tolerations"]
    );

    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let http_port = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "http")
        .expect("a port named http");
    assert_eq!(http_port["containerPort"], 8080);
    let resolves_to_8080 = |port: &Value| *port == 8080 || *port == "http";
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert!(
            resolves_to_8080(&get["port"]),
            "{probe} port: {}",
            get["port"]
        );
    }
    for (kind, key) in [
        ("requests", "cpu"),
        ("requests", "memory"),
        ("limits", "cpu"),
        ("limits", "memory"),
    ] {
        assert!(
            !c["resources"][kind][key].is_null(),
            "resources.{kind}.{key}"
        );
    }
    for key in ["cpu", "memory"] {
        assert!(
            quantity(&c["resources"]["requests"][key]) <= quantity(&c["resources"]["limits"][key]),
            "{key}: request <= limit"
        );
    }

    // Capabilities: exactly the binary's file capabilities, everything else dropped; the
    // image's user; no_new_privs off (it would void file capabilities); not privileged.
    let sc = &c["securityContext"];
    assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"]);
    let added: BTreeSet<String> = strings(&sc["capabilities"]["add"]).into_iter().collect();
    assert_eq!(
        added,
        dockerfile_file_caps(),
        "capabilities.add = the Dockerfile's setcap"
    );
    assert_eq!(sc["runAsUser"], IMAGE_UID);
    assert_eq!(sc["runAsGroup"], IMAGE_UID);
    assert_eq!(sc["allowPrivilegeEscalation"], true);
    assert_eq!(sc["privileged"], false);

    // Mounts: each names a volume; the host paths the agent reads are mounted where it looks.
    let volumes: BTreeMap<String, Value> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_string(), v.clone()))
        .collect();
    let mounts: BTreeMap<String, Value> = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["mountPath"].as_str().unwrap().to_string(), m.clone()))
        .collect();
    for m in mounts.values() {
        assert!(
            volumes.contains_key(m["name"].as_str().unwrap()),
            "volume for {m}"
        );
    }
    for host_path in ["/sys/fs/cgroup", "/sys/kernel/tracing", "/sys/kernel/btf"] {
        let m = mounts
            .get(host_path)
            .unwrap_or_else(|| panic!("{host_path} is mounted"));
        assert_eq!(m["readOnly"], true, "{host_path} read-only in observe mode");
        let v = &volumes[m["name"].as_str().unwrap()];
        assert_eq!(
            v["hostPath"]["path"], host_path,
            "{host_path} from the node"
        );
    }

    // The config: ConfigMap + Secret projected into /etc/smoothtask, the token where the
    // config says, the API on the container's port.
    let config_mount = &mounts["/etc/smoothtask"];
    let projected = &volumes[config_mount["name"].as_str().unwrap()]["projected"]["sources"];
    let sources = projected.as_array().unwrap();
    let cm_source = sources
        .iter()
        .find(|s| s["configMap"]["name"] == configmap["metadata"]["name"])
        .expect("the ConfigMap projected into /etc/smoothtask");
    let secret_source = sources
        .iter()
        .find(|s| s["secret"]["name"] == secret["metadata"]["name"])
        .expect("the Secret projected into /etc/smoothtask");
    let cm_item = &cm_source["configMap"]["items"][0];
    assert_eq!(cm_item["path"], "smoothtask.yml");
    let yml = configmap["data"][cm_item["key"].as_str().unwrap()]
        .as_str()
        .expect("the ConfigMap holds the config");
    let token_item = &secret_source["secret"]["items"][0];
    assert!(!secret["stringData"][token_item["key"].as_str().unwrap()].is_null());
    let config = &yaml_documents(yml).unwrap()[0];
    assert_eq!(
        config["api"]["token_file"],
        format!("/etc/smoothtask/{}", token_item["path"].as_str().unwrap()).as_str(),
        "api.token_file is where the Secret is projected"
    );
    assert_eq!(config["api"]["listen"], "0.0.0.0:8080");
    let args = strings(&c["args"]);
    assert_eq!(args, ["--config", "/etc/smoothtask/smoothtask.yml"]);

    // The agent accepts the config with the DaemonSet's environment applied.
    let dir = workspace().join(format!("target/deploy-manifests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("smoothtask.yml");
    std::fs::write(&file, yml).unwrap();
    let mut check = Command::new(smoothtaskd_path());
    check.arg("check-config").arg(&file);
    for var in c["env"].as_array().into_iter().flatten() {
        check.env(
            var["name"].as_str().unwrap(),
            var["value"].as_str().unwrap(),
        );
    }
    let checked = run(&mut check);
    let _ = std::fs::remove_dir_all(&dir);
    checked.unwrap_or_else(|e| panic!("the ConfigMap's config is refused: {e}"));

    // The Service: the pods, the named port, Prometheus annotations (strings) on /metrics.
    let svc_selector = service["spec"]["selector"].as_object().unwrap();
    for (k, v) in svc_selector {
        assert_eq!(labels.get(k), Some(v), "Service selector {k}");
    }
    let svc_port = &service["spec"]["ports"][0];
    assert_eq!(svc_port["port"], 8080);
    assert!(resolves_to_8080(&svc_port["targetPort"]));
    let ann = &service["metadata"]["annotations"];
    assert_eq!(ann["prometheus.io/scrape"], "true");
    assert_eq!(ann["prometheus.io/port"], "8080");
    assert_eq!(ann["prometheus.io/path"], "/metrics");
}

/// `Key=value` lines of one section of a unit file (later values of a key appended).
fn unit_section(text: &str, section: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
        } else if inside && !line.starts_with('#') && !line.is_empty() {
            let (k, v) = line.split_once('=').expect("Key=value");
            out.entry(k.to_string()).or_default().push(v.to_string());
        }
    }
    out
}

fn unit_text() -> String {
    std::fs::read_to_string(workspace().join("deploy/systemd/smoothtaskd.service")).unwrap()
}

#[test]
fn systemd_unit_verifies_and_reloads_with_sighup() {
    let text = unit_text();
    let service = unit_section(&text, "Service");
    let one = |k: &str| {
        let v = service
            .get(k)
            .unwrap_or_else(|| panic!("{k}= in [Service]"));
        assert_eq!(v.len(), 1, "{k}= once");
        v[0].clone()
    };
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(one("Type"), "exec");
    assert_eq!(
        one("RestartPreventExitStatus"),
        "2",
        "a refused config (exit 2) is final"
    );
    let exec_start = one("ExecStart");
    assert!(exec_start.ends_with("/smoothtaskd"), "{exec_start}");
    let bounding: BTreeSet<String> = one("CapabilityBoundingSet")
        .split_whitespace()
        .map(String::from)
        .collect();
    for cap in [
        "CAP_BPF",
        "CAP_PERFMON",
        "CAP_SYS_ADMIN",
        "CAP_DAC_READ_SEARCH",
        "CAP_DAC_OVERRIDE",
    ] {
        assert!(bounding.contains(cap), "{cap} in the bounding set");
    }
    // Hardening that would break the agent: /sys and cgroupfs read-only, /proc hidden.
    for key in [
        "ProtectKernelTunables",
        "ProtectControlGroups",
        "ProtectProc",
        "PrivateNetwork",
    ] {
        assert!(
            service
                .get(key)
                .is_none_or(|v| v.iter().all(|v| v == "no" || v == "default")),
            "{key} would take away what the agent needs"
        );
    }
    assert_eq!(one("ProtectSystem"), "strict");
    assert_eq!(one("NoNewPrivileges"), "yes");

    // systemd-analyze verify in a scratch root holding the unit, the binary at ExecStart's
    // path and /bin/kill (it checks that both are executable) and systemd's own units.
    match Command::new("systemd-analyze").arg("--version").output() {
        Ok(out) if out.status.success() => {
            let root =
                workspace().join(format!("target/deploy-systemd-root-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            let place = |from: &Path, to: &str| {
                let dest = root.join(to.trim_start_matches('/'));
                std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
                std::fs::copy(from, &dest).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
            };
            place(&smoothtaskd_path(), &exec_start);
            place(Path::new("/bin/kill"), "/bin/kill");
            place(
                &workspace().join("deploy/systemd/smoothtaskd.service"),
                "/etc/systemd/system/smoothtaskd.service",
            );
            let units = root.join("usr/lib/systemd/system");
            std::fs::create_dir_all(&units).unwrap();
            let copied = Command::new("cp")
                .args(["-r", "/lib/systemd/system/."])
                .arg(&units)
                .status();
            let out = Command::new("systemd-analyze")
                .arg("verify")
                .arg(format!("--root={}", root.display()))
                .arg("/etc/systemd/system/smoothtaskd.service")
                .output()
                .unwrap();
            let _ = std::fs::remove_dir_all(&root);
            assert!(copied.is_ok_and(|s| s.success()), "copy systemd's units");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stderr.trim().is_empty(),
                "systemd-analyze verify ({}): {stderr}",
                out.status
            );
        }
        _ => println!("note: systemd-analyze not installed; the unit was checked by parsing only"),
    }

    // The unit's capability bounding set is enough: smoothtaskd under capsh with every other
    // capability dropped loads its eBPF programs, and SIGHUP (ExecReload) reloads it.
    if !require(
        "systemd_unit_verifies_and_reloads_with_sighup",
        &[Requirement::Root, Requirement::Ebpf],
    ) {
        return;
    }
    let Ok(capsh) = which_capsh() else {
        let why = "capsh (libcap2-bin) is not installed";
        if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
            panic!("{why}");
        }
        println!("skipped: the bounding-set half: {why}");
        return;
    };
    let keep: BTreeSet<String> = bounding.iter().map(|c| c.to_ascii_lowercase()).collect();
    let drop: Vec<String> = all_caps()
        .into_iter()
        .filter(|c| !keep.contains(c))
        .collect();
    let port = smoothtask_tests::http::free_port();
    let script = format!(
        "SMOOTHTASK_API__LISTEN=127.0.0.1:{port} exec {}",
        smoothtaskd_path().display()
    );
    let daemon = Daemon::spawn_program(
        capsh,
        &[&format!("--drop={}", drop.join(",")), "--", "-c", &script],
    )
    .expect("smoothtaskd under capsh");
    let started = daemon
        .wait_for(Duration::from_secs(30), |v| v["kind"] == "agent.started")
        .expect("agent.started");
    assert_eq!(started["kernel"]["mode"], "ebpf", "{started}");
    let caps = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid())).unwrap();
    let bnd = caps
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap();
    assert_eq!(
        bnd.count_ones() as usize,
        keep.iter().filter(|c| all_caps().contains(*c)).count(),
        "the daemon's bounding set is the unit's"
    );
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(daemon.pid() as libc::pid_t, libc::SIGHUP) };
    let reloaded = daemon
        .wait_for(Duration::from_secs(10), |v| {
            v["kind"] == "config.reloaded" || v["kind"] == "config.rejected"
        })
        .expect("a reload event after SIGHUP");
    assert_eq!(reloaded["kind"], "config.reloaded", "{reloaded}");
}

fn which_capsh() -> Result<std::path::PathBuf, ()> {
    ["/usr/sbin/capsh", "/sbin/capsh", "/usr/bin/capsh"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .ok_or(())
}

/// The capabilities this kernel knows, by capsh's names, from this process's bounding set.
fn all_caps() -> Vec<String> {
    let out = Command::new(which_capsh().expect("capsh"))
        .arg("--print")
        .output()
        .expect("capsh --print");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Bounding set ="))
        .expect("capsh --print names the bounding set");
    line.split(',').map(|c| c.trim().to_string()).collect()
}
