//! containerd through `ctr`: no image needed (`--rootfs`), cgroup `/<namespace>/<id>` by
//! default or any absolute `--cgroup` path (Kubernetes-shaped cases).

use std::{process::Command, time::Duration};

use super::{
    Cleanup, Container, ContainerSpec, Runtime, parents::CreatedParents, poll, proc_cgroups,
    run_cli, spec::agent_mounts,
};

/// ctr's default namespace: containers land at `/default/<id>` like a user's `ctr run`.
pub(crate) const NAMESPACE: &str = "default";
/// The namespace kubelet's CRI plugin uses.
pub(crate) const K8S_NAMESPACE: &str = "k8s.io";

fn ctr(namespace: &str) -> Command {
    let mut cmd = Command::new("ctr");
    // A dead socket otherwise waits 10 s.
    cmd.args(["--connect-timeout", "1s", "--namespace", namespace]);
    cmd
}

pub(crate) fn start(name: &str, spec: &ContainerSpec) -> std::io::Result<Container> {
    let namespace = if spec.cgroup_path.is_some() {
        K8S_NAMESPACE
    } else {
        NAMESPACE
    };
    let id = spec.id.clone().unwrap_or_else(|| name.to_string());
    let rootfs = super::state_dir().join("rootfs");
    let mut cmd = ctr(namespace);
    cmd.args(["run", "-d"]);
    if let Some(bytes) = spec.memory_limit {
        cmd.arg(format!("--memory-limit={bytes}"));
    }
    if let Some(shares) = spec.cpu_shares {
        cmd.arg(format!("--cpu-shares={shares}"));
    }
    if let Some((quota, period)) = spec.cpu_quota {
        cmd.arg(format!("--cpu-quota={quota}"))
            .arg(format!("--cpu-period={period}"));
    }
    if let Some(path) = &spec.cgroup_path {
        cmd.arg(format!("--cgroup={path}"));
    }
    if spec.with_agent {
        for (host, inside) in agent_mounts() {
            cmd.arg("--mount").arg(format!(
                "type=bind,src={},dst={inside},options=rbind:ro",
                host.display()
            ));
        }
    }
    cmd.arg("--rootfs")
        .arg(&rootfs)
        .arg(&id)
        .args(["/bin/sleep", "3600"]);
    let own_path = spec
        .cgroup_path
        .clone()
        .unwrap_or_else(|| format!("/{namespace}/{id}"));
    let parents = CreatedParents::before(&own_path);
    run_cli(&mut cmd)?;
    let mut container = Container {
        runtime: Runtime::Containerd,
        id: id.clone(),
        name: name.to_string(),
        init_pid: 0,
        cgroups: Default::default(),
        cleanup: Cleanup::Containerd {
            namespace: namespace.to_string(),
            parents,
        },
    };
    container.init_pid = poll(Duration::from_secs(5), || task_pid(namespace, &id))
        .ok_or_else(|| std::io::Error::other(format!("ctr task {id} has no running pid")))?;
    container.cgroups = proc_cgroups(container.init_pid)?;
    Ok(container)
}

fn task_pid(namespace: &str, id: &str) -> Option<u32> {
    let out = run_cli(ctr(namespace).args(["task", "ls"])).ok()?;
    out.lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        (cols.first() == Some(&id) && cols.get(2) == Some(&"RUNNING"))
            .then(|| cols.get(1)?.parse().ok())
            .flatten()
    })
}

pub(crate) fn exec_command(cleanup: &Cleanup, id: &str) -> Command {
    let namespace = match cleanup {
        Cleanup::Containerd { namespace, .. } => namespace.as_str(),
        _ => NAMESPACE,
    };
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let mut cmd = ctr(namespace);
    // Unique per exec: parallel tests exec in containers at the same time.
    let exec_id = format!(
        "exec-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    cmd.args(["task", "exec", "--exec-id", &exec_id, id]);
    cmd
}

pub(crate) fn remove(namespace: &str, id: &str) -> std::io::Result<()> {
    let _ = run_cli(ctr(namespace).args(["task", "kill", "--signal", "SIGKILL", id]));
    let _ = poll(Duration::from_secs(5), || {
        task_pid(namespace, id).is_none().then_some(())
    });
    let _ = run_cli(ctr(namespace).args(["task", "rm", "--force", id]));
    run_cli(ctr(namespace).args(["container", "rm", id])).map(drop)
}
