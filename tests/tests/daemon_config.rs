//! The real `smoothtaskd`: a bad configuration is refused with exit code 2 before anything
//! starts; SIGHUP with a bad then a good file rejects then applies; the API answers
//! `/api/container/info` in the seed's exact shape; SIGTERM stops it within seconds.

use std::{process::Command, time::Duration};

use smoothtask_tests::{
    Requirement,
    daemon::{Daemon, smoothtaskd_path},
    http::{free_port, get},
    require, unique_prefix,
};

#[test]
fn a_bad_config_is_refused_with_exit_2_and_nothing_starts() {
    let dir = std::env::temp_dir().join(unique_prefix("badcfg"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yml");
    std::fs::write(
        &file,
        "policy:\n  cpu_weight_range: [500, 10]\napi:\n  listne: 1\n",
    )
    .unwrap();
    let out = Command::new(smoothtaskd_path())
        .arg("--config")
        .arg(&file)
        .output()
        .expect("run smoothtaskd");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing started, no event printed");
    let err = String::from_utf8_lossy(&out.stderr);
    let f = file.display();
    assert!(
        err.contains(&format!(
            "{f}:2:21: `policy.cpu_weight_range`: minimum 500 is greater than maximum 10"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{f}:4:3: unknown key `api.listne`; did you mean `api.listen`?"
        )),
        "{err}"
    );
    let check = Command::new(smoothtaskd_path())
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sighup_rejects_a_bad_file_then_applies_a_good_one_and_the_api_answers() {
    let test = "sighup_rejects_a_bad_file_then_applies_a_good_one_and_the_api_answers";
    if !require(test, &[Requirement::Root]) {
        return;
    }
    let dir = std::env::temp_dir().join(unique_prefix("hup"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("smoothtask.yml");
    let port = free_port();
    // Enforce mode, journalled in the test's directory, with a class no container matches:
    // this test must not change the host's containers.
    let config_text = |mode: &str| {
        format!(
            "api:\n  listen: 127.0.0.1:{port}\npolicy:\n  mode: {mode}\n  journal_path: {}\n  classes:\n    - name: none\n      priority: normal\n      match:\n        - id: 'no-such-container-*'\n",
            dir.join("journal.json").display()
        )
    };
    std::fs::write(&file, config_text("enforce")).unwrap();
    let path = file.display().to_string();
    let mut daemon = Daemon::spawn(&["--config", &path]).expect("spawn");
    daemon
        .wait_for(Duration::from_secs(30), |v| v["kind"] == "agent.started")
        .expect("agent.started");

    let (status, body) = get(port, "/api/container/info");
    assert_eq!(status, 200, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    // The seed's keys, in the seed's order (checked on the raw body: JSON maps sort keys).
    let order = |keys: &[&str]| -> Vec<usize> {
        keys.iter()
            .map(|k| {
                body.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("no {k}: {body}"))
            })
            .collect()
    };
    let top = order(&[
        "runtime",
        "container_id",
        "is_containerized",
        "cgroup_path",
        "metrics",
    ]);
    assert!(top.is_sorted(), "{body}");
    let metrics = order(&[
        "memory_limit_bytes",
        "memory_usage_bytes",
        "cpu_shares",
        "cpu_quota",
        "cpu_period",
        "network_interfaces",
    ]);
    assert!(metrics.is_sorted(), "{body}");
    assert_eq!(info.as_object().unwrap().len(), 5, "{body}");
    assert_eq!(info["metrics"].as_object().unwrap().len(), 6, "{body}");
    assert_eq!(info["runtime"], "none", "this host is not a container");
    assert_eq!(info["is_containerized"], false);
    let (_, policy) = get(port, "/api/policy");
    assert!(policy.contains(r#""mode":"enforce""#), "{policy}");

    let hup = || {
        // SAFETY: signalling the daemon this test started.
        unsafe { libc::kill(daemon.pid() as libc::pid_t, libc::SIGHUP) };
    };
    std::fs::write(&file, "policy:\n  mode: sometimes\n").unwrap();
    hup();
    let rejected = daemon
        .wait_for(Duration::from_secs(10), |v| v["kind"] == "config.rejected")
        .expect("config.rejected");
    assert!(
        rejected["message"]
            .as_str()
            .unwrap()
            .contains("policy.mode"),
        "{rejected}"
    );
    let (_, policy) = get(port, "/api/policy");
    assert!(
        policy.contains(r#""mode":"enforce""#),
        "the running configuration stays: {policy}"
    );

    std::fs::write(&file, config_text("observe")).unwrap();
    hup();
    let reloaded = daemon
        .wait_for(Duration::from_secs(10), |v| v["kind"] == "config.reloaded")
        .expect("config.reloaded");
    assert_eq!(reloaded["policy_mode"], "observe");
    let (_, policy) = get(port, "/api/policy");
    assert!(policy.contains(r#""mode":"observe""#), "{policy}");

    let stopped = daemon
        .terminate(Duration::from_secs(5))
        .expect("stops within 5 s of SIGTERM");
    assert!(stopped.success());
    let _ = std::fs::remove_dir_all(&dir);
}
