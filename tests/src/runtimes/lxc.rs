//! LXC: `lxc-create -t busybox` (the host's busybox), no network, limits through
//! `lxc.cgroup.*` keys; cgroup `/lxc.payload.<name>` (monitor `/lxc.monitor.<name>`).

use std::{fmt::Write as _, path::Path, process::Command};

use super::{
    Cleanup, Container, ContainerSpec, Runtime, proc_cgroups, run_cli, spec::agent_mounts,
};

pub(crate) fn start(name: &str, spec: &ContainerSpec) -> std::io::Result<Container> {
    let config = super::state_dir().join(format!("lxc-{name}.conf"));
    let mut text = String::from("lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n");
    if let Some(bytes) = spec.memory_limit {
        let _ = writeln!(text, "lxc.cgroup.memory.limit_in_bytes = {bytes}");
    }
    if let Some(shares) = spec.cpu_shares {
        let _ = writeln!(text, "lxc.cgroup.cpu.shares = {shares}");
    }
    if let Some((quota, period)) = spec.cpu_quota {
        let _ = writeln!(text, "lxc.cgroup.cpu.cfs_period_us = {period}");
        let _ = writeln!(text, "lxc.cgroup.cpu.cfs_quota_us = {quota}");
    }
    if spec.with_agent {
        for (host, inside) in agent_mounts() {
            let create = if host.is_file() { "file" } else { "dir" };
            let _ = writeln!(
                text,
                "lxc.mount.entry = {} {} none ro,bind,create={create} 0 0",
                host.display(),
                inside.trim_start_matches('/')
            );
        }
    }
    std::fs::write(&config, text)?;
    let mut container = Container {
        runtime: Runtime::Lxc,
        id: name.to_string(),
        name: name.to_string(),
        init_pid: 0,
        cgroups: Default::default(),
        cleanup: Cleanup::Lxc {
            config: config.clone(),
        },
    };
    run_cli(
        Command::new("lxc-create")
            .args(["-n", name, "-t", "busybox", "-f"])
            .arg(&config),
    )?;
    run_cli(Command::new("lxc-start").args(["-n", name, "-d"]))?;
    let pid = run_cli(Command::new("lxc-info").args(["-n", name, "-p", "-H"]))?;
    container.init_pid = pid
        .parse()
        .map_err(|e| std::io::Error::other(format!("bad pid {pid:?} from lxc-info: {e}")))?;
    container.cgroups = proc_cgroups(container.init_pid)?;
    Ok(container)
}

pub(crate) fn exec_command(name: &str) -> Command {
    let mut cmd = Command::new("lxc-attach");
    cmd.args(["-n", name, "--"]);
    cmd
}

pub(crate) fn remove(name: &str, config: &Path) -> std::io::Result<()> {
    let _ = run_cli(Command::new("lxc-stop").args(["-k", "-n", name]));
    let destroyed = run_cli(Command::new("lxc-destroy").args(["-n", name]));
    let _ = std::fs::remove_file(config);
    destroyed.map(drop)
}
