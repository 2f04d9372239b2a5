//! docker and podman: the same command line shape, different engines and images.

use std::process::Command;

use super::{
    Cleanup, Container, ContainerSpec, Runtime, proc_cgroups, run_cli, spec::agent_mounts,
};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Engine {
    Docker,
    Podman,
}

impl Engine {
    fn command(self) -> Command {
        match self {
            // Debian's client, matching Debian's dockerd, whatever else is on PATH.
            Engine::Docker => Command::new("/usr/bin/docker"),
            Engine::Podman => {
                let mut cmd = Command::new("podman");
                cmd.env(
                    "CONTAINERS_CONF",
                    super::state_dir().join("containers.conf"),
                );
                cmd
            }
        }
    }

    fn image(self) -> &'static str {
        match self {
            Engine::Docker => "smoothtask-busybox:local",
            Engine::Podman => "localhost/smoothtask-busybox:local",
        }
    }
}

pub(crate) fn start(
    engine: Engine,
    name: &str,
    spec: &ContainerSpec,
) -> std::io::Result<Container> {
    let mut cmd = engine.command();
    cmd.args(["run", "-d", "--name", name, "--network", "none"]);
    if let Some(bytes) = spec.memory_limit {
        cmd.arg(format!("--memory={bytes}b"));
    }
    if let Some(shares) = spec.cpu_shares {
        cmd.arg(format!("--cpu-shares={shares}"));
    }
    if let Some((quota, period)) = spec.cpu_quota {
        cmd.arg(format!("--cpu-quota={quota}"))
            .arg(format!("--cpu-period={period}"));
    }
    if spec.with_agent {
        for (host, inside) in agent_mounts() {
            cmd.arg("-v").arg(format!("{}:{inside}:ro", host.display()));
        }
    }
    cmd.arg(engine.image());
    match &spec.command {
        Some(command) => cmd.args(command),
        None => cmd.args(["sleep", "3600"]),
    };
    let id = run_cli(&mut cmd)?;
    let (runtime, cleanup) = match engine {
        Engine::Docker => (Runtime::Docker, Cleanup::Docker),
        Engine::Podman => (Runtime::Podman, Cleanup::Podman),
    };
    // From here on the container exists: dropping `container` removes it.
    let mut container = Container {
        runtime,
        id: id.clone(),
        name: name.to_string(),
        init_pid: 0,
        cgroups: Default::default(),
        cleanup,
    };
    let pid = run_cli(
        engine
            .command()
            .args(["inspect", "-f", "{{.State.Pid}}", &id]),
    )?;
    container.init_pid = pid
        .parse()
        .map_err(|e| std::io::Error::other(format!("bad pid {pid:?} from inspect: {e}")))?;
    container.cgroups = proc_cgroups(container.init_pid)?;
    Ok(container)
}

pub(crate) fn exec_command(engine: Engine, id: &str) -> Command {
    let mut cmd = engine.command();
    cmd.args(["exec", id]);
    cmd
}

pub(crate) fn remove(engine: Engine, id: &str) -> std::io::Result<()> {
    let mut cmd = engine.command();
    cmd.args(["rm", "-f"]);
    if let Engine::Podman = engine {
        cmd.args(["-t", "0"]);
    }
    run_cli(cmd.arg(id)).map(drop)
}
