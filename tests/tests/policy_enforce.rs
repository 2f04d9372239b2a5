//! Privileged: the real `smoothtaskd` enforcing its policy on cgroups the test creates. A
//! page-cache hog in the batch container stalls in reclaim; the protected container's
//! cpu.shares and soft limit rise and the batch one's cpu.shares fall within 1 s, and come back
//! after the dwell time. SIGTERM restores every original; so does the next start after
//! `kill -9`, from the journal. Observe mode publishes the same actions and writes nothing. A
//! cgroup that matches a runtime pattern but no class is never written.
//!
//! The tests run one at a time: pressure anywhere on the host is pressure for every agent.

use std::{
    path::Path,
    sync::Mutex,
    time::{Duration, Instant},
};

use serde_json::Value;
use smoothtask_tests::{
    Requirement,
    daemon::Daemon,
    policy::{BYSTANDER_SHARES, CPU, Fleet, Hog, MEMORY, PROTECTED_LOW, Role, poll},
    require,
};

static SERIAL: Mutex<()> = Mutex::new(());

const REQUIRES: &[Requirement] = &[Requirement::Root, Requirement::Ebpf, Requirement::V1Memory];

/// Starts the daemon on `config`; returns it and every event up to the containers' discovery.
fn start(fleet: &Fleet, config: &Path, seen: &mut Vec<Value>) -> Daemon {
    let daemon = Daemon::spawn(&["--config", &config.display().to_string()]).expect("spawn");
    let ids = [fleet.id(Role::Protected), fleet.id(Role::Batch)];
    let mut found = 0;
    daemon
        .wait_for(Duration::from_secs(30), |v| {
            seen.push(v.clone());
            if v["kind"] == "container.added"
                && ids.iter().any(|id| v["container"]["id"] == id.as_str())
            {
                found += 1;
            }
            found == ids.len()
        })
        .expect("both containers discovered");
    daemon
}

/// Every event until `pred` holds on one (which is included), at most `timeout`.
fn collect_until(
    daemon: &Daemon,
    seen: &mut Vec<Value>,
    timeout: Duration,
    mut pred: impl FnMut(&Value) -> bool,
) -> Option<Value> {
    daemon.wait_for(timeout, |v| {
        seen.push(v.clone());
        pred(v)
    })
}

/// Every event the daemon printed until its output ended (it exited) or 2 s passed.
fn drain(daemon: &Daemon, seen: &mut Vec<Value>) {
    let _ = collect_until(daemon, seen, Duration::from_secs(2), |_| false);
}

fn raised(fleet: &Fleet) -> bool {
    fleet.read(CPU, Role::Protected, "cpu.shares") == "4096"
        && fleet.read(CPU, Role::Batch, "cpu.shares") == "102"
        && fleet.read(MEMORY, Role::Protected, "memory.soft_limit_in_bytes")
            == PROTECTED_LOW.to_string()
}

/// Waits (10 s at most) for the protected container's values to rise and the batch one's to
/// fall; panics with `what` and the files' contents otherwise.
fn wait_raised(fleet: &Fleet, what: &str) {
    poll(Duration::from_secs(10), || raised(fleet).then_some(()))
        .unwrap_or_else(|| panic!("{what}: {:?}", fleet.snapshot()));
}

/// Waits (`timeout` at most) for every file to hold its original again.
fn wait_for_originals(fleet: &Fleet, originals: &[(String, String)], timeout: Duration) {
    poll(timeout, || (fleet.snapshot() == originals).then_some(()))
        .unwrap_or_else(|| panic!("not back: {:?} (was {originals:?})", fleet.snapshot()));
}

/// Rewrites `config` with `edit`, sends SIGHUP and returns the `config.reloaded` event.
fn reload(
    daemon: &Daemon,
    config: &Path,
    seen: &mut Vec<Value>,
    edit: impl FnOnce(String) -> String,
) -> Value {
    let text = std::fs::read_to_string(config).unwrap();
    std::fs::write(config, edit(text)).unwrap();
    // SAFETY: signalling the daemon this test started.
    unsafe { libc::kill(daemon.pid() as libc::pid_t, libc::SIGHUP) };
    collect_until(daemon, seen, Duration::from_secs(10), |v| {
        v["kind"] == "config.reloaded"
    })
    .expect("config.reloaded")
}

fn actions<'a>(seen: &'a [Value], id: &str) -> Vec<&'a Value> {
    seen.iter()
        .filter(|v| v["kind"] == "policy.action" && v["container"]["id"] == id)
        .collect()
}

#[test]
fn enforce_raises_within_a_second_relaxes_after_the_dwell_and_sigterm_restores() {
    let test = "enforce_raises_within_a_second_relaxes_after_the_dwell_and_sigterm_restores";
    if !require(test, REQUIRES) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let fleet = Fleet::create("policy-enforce").expect("cgroups");
    let originals = fleet.snapshot();
    let mut seen = Vec::new();
    let mut daemon = start(&fleet, &fleet.config("enforce", 2), &mut seen);

    let started = Instant::now();
    let hog = Hog::start(&fleet);
    wait_raised(&fleet, "not raised within 10 s");
    let took = started.elapsed();
    eprintln!("raised {took:?} after the hog started");
    assert!(
        took < Duration::from_secs(1),
        "the protected weight rose and the batch one fell after {took:?}, not within 1 s"
    );
    collect_until(&daemon, &mut seen, Duration::from_secs(5), |v| {
        v["kind"] == "policy.action"
            && v["container"]["id"] == fleet.id(Role::Batch)
            && v["knob"] == "cpu.weight"
    })
    .expect("the batch container's action");
    let protected = actions(&seen, &fleet.id(Role::Protected));
    let weight = protected
        .iter()
        .find(|a| a["knob"] == "cpu.weight")
        .expect("a cpu.weight action for the protected container");
    assert_eq!(weight["mode"], "enforce");
    assert_eq!(weight["written"], true);
    assert_eq!(weight["before"], "1024");
    assert_eq!(weight["after"], "4096");
    assert_eq!(weight["class"], "protected");
    let file = format!(
        "{}/cpu.shares",
        fleet.cgroup_dir(CPU, Role::Protected).display()
    );
    assert_eq!(weight["file"], file.as_str());
    let cause = weight["cause_event_id"].as_u64().expect("a cause");
    let cause_event = seen
        .iter()
        .find(|v| v["id"] == cause)
        .expect("the cause is in the stream");
    assert_eq!(cause_event["kind"], "memory.reclaim_stall");
    let journal = std::fs::read_to_string(fleet.journal()).expect("journal written");
    assert!(journal.contains(&file), "{journal}");

    // Pressure ends: the values come back after the dwell time.
    hog.stop();
    let stopped = Instant::now();
    wait_for_originals(&fleet, &originals, Duration::from_secs(15));
    let relaxed_after = stopped.elapsed();
    assert!(
        relaxed_after >= Duration::from_millis(1500),
        "relaxed {relaxed_after:?} after the pressure ended, before the 2 s dwell"
    );
    let relief = collect_until(&daemon, &mut seen, Duration::from_secs(5), |v| {
        v["kind"] == "policy.action"
            && v["container"]["id"] == fleet.id(Role::Protected)
            && v["knob"] == "cpu.weight"
            && v["after"] == "1024"
    })
    .expect("the relief action");
    assert!(
        relief["reason"]
            .as_str()
            .unwrap()
            .contains("no pressure for 2 s"),
        "{relief}"
    );
    assert!(relief["cause_event_id"].is_null());

    // Pressure again, then SIGTERM while raised: every original comes back.
    let hog = Hog::start(&fleet);
    wait_raised(&fleet, "not raised again");
    let status = daemon
        .terminate(Duration::from_secs(10))
        .expect("exits on SIGTERM");
    assert!(status.success(), "{status}");
    hog.stop();
    assert_eq!(
        fleet.snapshot(),
        originals,
        "SIGTERM restores every original"
    );
    assert!(
        !fleet.journal().exists(),
        "a complete restore removes the journal"
    );
    drain(&daemon, &mut seen);
    let restored: Vec<_> = seen
        .iter()
        .filter(|v| v["kind"] == "policy.restored")
        .collect();
    assert!(!restored.is_empty());
    for r in &restored {
        assert_eq!(
            (r["trigger"].as_str(), r["outcome"].as_str()),
            (Some("stop"), Some("restored")),
            "{r}"
        );
    }

    // The bystander matched a runtime pattern but no class: never acted on, never written.
    assert!(actions(&seen, &fleet.id(Role::Bystander)).is_empty());
    assert_eq!(
        fleet.read(CPU, Role::Bystander, "cpu.shares"),
        BYSTANDER_SHARES
    );
    assert!(
        seen.iter()
            .any(|v| v["kind"] == "container.added"
                && v["container"]["id"] == fleet.id(Role::Bystander)),
        "the bystander was discovered as a container"
    );
}

#[test]
fn after_kill_9_the_next_start_restores_from_the_journal_before_anything_else() {
    let test = "after_kill_9_the_next_start_restores_from_the_journal_before_anything_else";
    if !require(test, REQUIRES) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let fleet = Fleet::create("policy-kill9").expect("cgroups");
    let originals = fleet.snapshot();
    let mut seen = Vec::new();
    // A long dwell: the values stay raised until the kill.
    let daemon = start(&fleet, &fleet.config("enforce", 600), &mut seen);
    let hog = Hog::start(&fleet);
    wait_raised(&fleet, "not raised");
    drop(daemon); // SIGKILL
    hog.stop();
    assert!(raised(&fleet), "a killed agent restores nothing");
    let journal = std::fs::read_to_string(fleet.journal()).expect("the journal survives");
    assert!(journal.contains("cpu.shares"), "{journal}");

    // The next start (in observe mode: restoring does not depend on enforcing).
    let mut seen = Vec::new();
    let config = fleet.config("observe", 600);
    let mut daemon = Daemon::spawn(&["--config", &config.display().to_string()]).expect("spawn");
    collect_until(&daemon, &mut seen, Duration::from_secs(30), |v| {
        v["kind"] == "agent.started"
    })
    .expect("agent.started");
    let restored: Vec<_> = seen
        .iter()
        .filter(|v| v["kind"] == "policy.restored")
        .collect();
    assert_eq!(
        restored.len(),
        3,
        "two cpu.shares and one soft limit: {restored:?}"
    );
    for r in &restored {
        assert_eq!(r["trigger"], "startup");
        assert_eq!(r["outcome"], "restored", "{r}");
    }
    assert_eq!(fleet.snapshot(), originals);
    assert!(!fleet.journal().exists());
    assert!(daemon.terminate(Duration::from_secs(10)).is_some());
}

#[test]
fn observe_mode_publishes_the_same_actions_and_writes_nothing() {
    let test = "observe_mode_publishes_the_same_actions_and_writes_nothing";
    if !require(test, REQUIRES) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let fleet = Fleet::create("policy-observe").expect("cgroups");
    let originals = fleet.snapshot();
    let mut seen = Vec::new();
    let mut daemon = start(&fleet, &fleet.config("observe", 2), &mut seen);
    let hog = Hog::start(&fleet);
    let mut wanted = [(Role::Protected, "4096"), (Role::Batch, "102")]
        .map(|(role, after)| (fleet.id(role), after, false));
    collect_until(&daemon, &mut seen, Duration::from_secs(10), |v| {
        if v["kind"] == "policy.action" && v["knob"] == "cpu.weight" {
            for (id, after, hit) in wanted.iter_mut() {
                if v["container"]["id"] == id.as_str() {
                    assert_eq!(v["after"], *after, "{v}");
                    assert_eq!(
                        (v["mode"].as_str(), v["written"].as_bool()),
                        (Some("observe"), Some(false))
                    );
                    assert_eq!(v["before"], "1024");
                    *hit = true;
                }
            }
        }
        wanted.iter().all(|w| w.2)
    })
    .unwrap_or_else(|| panic!("observed actions for both containers: {wanted:?}"));
    // Give a wrong write every chance to show.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fleet.snapshot(), originals, "observe mode writes nothing");
    assert!(!fleet.journal().exists(), "observe mode journals nothing");
    hog.stop();
    assert!(daemon.terminate(Duration::from_secs(10)).is_some());
    assert!(actions(&seen, &fleet.id(Role::Bystander)).is_empty());
}

#[test]
fn enforce_without_write_access_observes_and_alerts_once() {
    let test = "enforce_without_write_access_observes_and_alerts_once";
    if !require(test, REQUIRES) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let fleet = Fleet::create("policy-readonly").expect("cgroups");
    let originals = fleet.snapshot();
    let config = fleet.config("enforce", 2);
    // The agent's own mount namespace with the cgroup filesystems read-only, as in a
    // container started with /sys/fs/cgroup mounted :ro.
    let script = format!(
        "mount -o remount,bind,ro {CPU} && mount -o remount,bind,ro {MEMORY} && exec {} --config {}",
        smoothtask_tests::daemon::smoothtaskd_path().display(),
        config.display()
    );
    let mut daemon = Daemon::spawn_program(
        "unshare",
        &["--mount", "--propagation", "private", "sh", "-c", &script],
    )
    .expect("spawn");
    let mut seen = Vec::new();
    let alert = collect_until(&daemon, &mut seen, Duration::from_secs(30), |v| {
        v["kind"] == "health.alert"
    })
    .expect("a health alert");
    assert_eq!(alert["subsystem"], "policy");
    let message = alert["message"].as_str().unwrap();
    assert!(message.contains("read-only"), "{message}");
    assert!(message.contains(CPU), "names the mount: {message}");

    let hog = Hog::start(&fleet);
    let action = collect_until(&daemon, &mut seen, Duration::from_secs(10), |v| {
        v["kind"] == "policy.action" && v["container"]["id"] == fleet.id(Role::Protected)
    })
    .expect("the policy still decides");
    assert_eq!(
        (action["mode"].as_str(), action["written"].as_bool()),
        (Some("observe"), Some(false))
    );
    hog.stop();
    assert!(daemon.terminate(Duration::from_secs(10)).is_some());
    drain(&daemon, &mut seen);
    let alerts = seen.iter().filter(|v| v["kind"] == "health.alert").count();
    assert_eq!(alerts, 1, "raised once");
    assert_eq!(fleet.snapshot(), originals);
    assert!(!fleet.journal().exists());
}

#[test]
fn switching_to_observe_on_sighup_restores_every_original() {
    let test = "switching_to_observe_on_sighup_restores_every_original";
    if !require(test, REQUIRES) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let fleet = Fleet::create("policy-switch").expect("cgroups");
    let originals = fleet.snapshot();
    let mut seen = Vec::new();
    let config = fleet.config("enforce", 600);
    let mut daemon = start(&fleet, &config, &mut seen);
    let hog = Hog::start(&fleet);
    wait_raised(&fleet, "not raised");
    hog.stop();
    // The same file, now in observe mode (the dwell is long: only the switch restores).
    reload(&daemon, &config, &mut seen, |text| {
        text.replace("mode: enforce", "mode: observe")
    });
    wait_for_originals(&fleet, &originals, Duration::from_secs(5));
    // The restore may be published before or after config.reloaded.
    let mut restored = seen
        .iter()
        .filter(|v| v["kind"] == "policy.restored")
        .count();
    if restored < 3 {
        collect_until(&daemon, &mut seen, Duration::from_secs(5), |v| {
            restored += usize::from(v["kind"] == "policy.restored");
            restored == 3
        })
        .expect("three policy.restored events");
    }
    for v in seen.iter().filter(|v| v["kind"] == "policy.restored") {
        assert_eq!(
            (v["trigger"].as_str(), v["outcome"].as_str()),
            (Some("observe"), Some("restored")),
            "{v}"
        );
    }
    assert!(!fleet.journal().exists());
    assert!(daemon.terminate(Duration::from_secs(10)).is_some());
    assert_eq!(fleet.snapshot(), originals);
}

#[test]
fn a_reload_with_new_classes_restores_and_reclassifies() {
    let test = "a_reload_with_new_classes_restores_and_reclassifies";
    if !require(test, REQUIRES) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let fleet = Fleet::create("policy-reload").expect("cgroups");
    let originals = fleet.snapshot();
    let mut seen = Vec::new();
    let config = fleet.config("enforce", 600);
    let mut daemon = start(&fleet, &config, &mut seen);
    let hog = Hog::start(&fleet);
    wait_raised(&fleet, "not raised");
    // Still enforcing, but the classes now select neither container.
    let reloaded = reload(&daemon, &config, &mut seen, |text| {
        text.replace("/docker-a*", "/docker-z*")
            .replace("/docker-b*", "/docker-y*")
    });
    assert_eq!(reloaded["policy_mode"], "enforce");
    wait_for_originals(&fleet, &originals, Duration::from_secs(5));
    // The hog goes on: stalls keep coming, and nothing is written any more.
    let from = seen.len();
    let _ = collect_until(&daemon, &mut seen, Duration::from_millis(1500), |_| false);
    let ids = [fleet.id(Role::Protected), fleet.id(Role::Batch)];
    let written_after: Vec<_> = seen[from..]
        .iter()
        .filter(|v| {
            v["kind"] == "policy.action" && ids.iter().any(|id| v["container"]["id"] == id.as_str())
        })
        .collect();
    assert!(written_after.is_empty(), "{written_after:?}");
    assert!(
        seen[from..]
            .iter()
            .any(|v| v["kind"] == "memory.reclaim_stall"),
        "the pressure went on"
    );
    assert_eq!(fleet.snapshot(), originals);
    let restored: Vec<_> = seen
        .iter()
        .filter(|v| v["kind"] == "policy.restored")
        .collect();
    assert_eq!(restored.len(), 3, "{restored:?}");
    assert!(
        restored
            .iter()
            .all(|r| r["trigger"] == "reload" && r["outcome"] == "restored")
    );
    hog.stop();
    assert!(daemon.terminate(Duration::from_secs(10)).is_some());
}
