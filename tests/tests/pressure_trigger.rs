//! Privileged: PSI triggers. A trigger on a cgroup v2 child the test created fires under
//! memory pressure from a process inside it (held to 32 MiB by a v1 memory cgroup); the
//! agent's system-wide trigger publishes `pressure.threshold`; a trigger whose cgroup is
//! removed ends quietly.

use std::{
    io::Write as _,
    path::Path,
    process::{Command, Stdio},
    sync::Arc,
    time::Duration,
};

use smoothtask_agent::{
    agent::{Agent, AgentOptions},
    bus::Bus,
    event::EventBody,
    pressure::{PressureOptions, Resource, StallKind, Trigger, TriggerSpec, has_cap_sys_resource},
};
use smoothtask_tests::{Requirement, TestCgroup, privilege::v2_root, require, unique_prefix};
use tokio::sync::broadcast::error::RecvError;

fn spec() -> TriggerSpec {
    let (spec, _) = TriggerSpec {
        kind: StallKind::Some,
        stall: Duration::from_millis(5),
        window: Duration::from_secs(2),
    }
    .accepted(has_cap_sys_resource());
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cgroup_trigger_and_the_system_trigger_fire_under_memory_pressure() {
    let test = "a_cgroup_trigger_and_the_system_trigger_fire_under_memory_pressure";
    if !require(
        test,
        &[Requirement::Root, Requirement::V1Memory, Requirement::V2],
    ) {
        return;
    }
    let prefix = unique_prefix("psi");
    let v2 = TestCgroup::create(v2_root().expect("v2"), &prefix).expect("mkdir v2");
    let mem = TestCgroup::create(Path::new("/sys/fs/cgroup/memory"), &prefix).expect("mkdir v1");
    std::fs::write(
        mem.dir.join("memory.limit_in_bytes"),
        (32u64 << 20).to_string(),
    )
    .unwrap();
    let trigger = Trigger::arm(&v2.dir.join("memory.pressure"), spec()).expect("arm trigger");

    let bus = Bus::new(1 << 16);
    let mut rx = bus.subscribe();
    let options = AgentOptions {
        stdout_events: false,
        ebpf: false,
        pressure: Some(PressureOptions {
            stall: Duration::from_millis(5),
            window: Duration::from_secs(2),
            system: vec![Resource::Memory],
            containers: false,
        }),
        ..AgentOptions::default()
    };
    let agent = Agent::start(&options, Arc::clone(&bus)).await;

    let file = Path::new("/var/tmp").join(format!("{prefix}.data"));
    let script = format!(
        "read go; for i in 1 2 3 4; do dd if=/dev/zero of={} bs=1M count=256 2>/dev/null; done; read stop",
        file.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn");
    for cgroup in [&v2, &mem] {
        std::fs::write(cgroup.dir.join("cgroup.procs"), child.id().to_string()).expect("move");
    }
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();

    let fired = tokio::time::timeout(Duration::from_secs(30), trigger.fired()).await;
    let system = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let EventBody::PressureThreshold(p) = &event.body {
                        return Some(p.clone());
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    })
    .await;
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&file);

    assert_eq!(
        fired.expect("the cgroup's memory trigger did not fire within 30 s"),
        smoothtask_agent::pressure::Fired::Threshold
    );
    let now = trigger.read_now().expect("pressure readable");
    assert!(now.some.total > 0, "{now:?}");
    let system = system
        .expect("no system pressure.threshold within 30 s")
        .expect("bus open");
    assert_eq!(
        (system.scope, system.resource, system.stall_kind),
        ("system", "memory", "some")
    );
    assert_eq!(system.window_us, 2_000_000);
    assert!(system.total_us.is_some_and(|t| t > 0));
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_whose_cgroup_is_removed_ends_quietly() {
    if !require(
        "a_trigger_whose_cgroup_is_removed_ends_quietly",
        &[Requirement::Root, Requirement::V2],
    ) {
        return;
    }
    let cgroup = TestCgroup::create(v2_root().expect("v2"), &unique_prefix("psi-gone")).unwrap();
    let trigger = Trigger::arm(&cgroup.dir.join("memory.pressure"), spec()).expect("arm");
    cgroup.remove().expect("rmdir with an armed trigger");
    let fired = tokio::time::timeout(Duration::from_secs(5), trigger.fired())
        .await
        .expect("removal wakes the trigger");
    assert_eq!(fired, smoothtask_agent::pressure::Fired::Gone);
}
