//! runc: an OCI bundle made from `runc spec`, the busybox rootfs, limits, and an absolute
//! `linux.cgroupsPath` (a relative one would nest under the caller's cgroup, which belongs to
//! the machine).

use std::{
    path::Path,
    process::{Command, Stdio},
};

use serde_json::{Value, json};

use super::{
    Cleanup, Container, ContainerSpec, Runtime, parents::CreatedParents, proc_cgroups, run_cli,
    spec::agent_mounts,
};

pub(crate) fn start(name: &str, spec: &ContainerSpec) -> std::io::Result<Container> {
    let id = spec.id.clone().unwrap_or_else(|| name.to_string());
    let bundle = super::state_dir().join("bundles").join(&id);
    std::fs::create_dir_all(&bundle)?;
    let cgroup_path = match &spec.cgroup_path {
        Some(path) => path.clone(),
        None => default_cgroup_path(&id)?,
    };
    write_config(&bundle, &cgroup_path, spec)?;
    let parents = CreatedParents::before(&cgroup_path);
    // Bundle first: if `run` fails, dropping this removes what exists.
    let mut container = Container {
        runtime: Runtime::Runc,
        id: id.clone(),
        name: name.to_string(),
        init_pid: 0,
        cgroups: Default::default(),
        cleanup: Cleanup::Runc {
            bundle: bundle.clone(),
            parents,
        },
    };
    // The detached container inherits runc's stdio: give it none, or reading runc's output
    // would wait for the container to exit.
    let status = Command::new("runc")
        .args(["run", "--detach", "--bundle"])
        .arg(&bundle)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(std::io::Error::other(format!(
            "runc run {id} failed ({status})"
        )));
    }
    let state: Value = serde_json::from_str(&run_cli(Command::new("runc").args(["state", &id]))?)
        .map_err(std::io::Error::other)?;
    container.init_pid = state["pid"]
        .as_u64()
        .ok_or_else(|| std::io::Error::other(format!("runc state has no pid: {state}")))?
        as u32;
    container.cgroups = proc_cgroups(container.init_pid)?;
    Ok(container)
}

/// Where runc's systemd cgroup driver would put the container (`system.slice:runc:<id>`), made
/// with the cgroupfs driver. Refused when the host has a `/system.slice` of its own: the test
/// would then create cgroups inside the machine's tree.
fn default_cgroup_path(id: &str) -> std::io::Result<String> {
    // Decided once, before this process's own runc containers create /system.slice.
    static HOST_HAS_SYSTEM_SLICE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let taken = *HOST_HAS_SYSTEM_SLICE.get_or_init(|| {
        std::fs::read_dir("/sys/fs/cgroup")
            .map(|mounts| {
                mounts
                    .filter_map(Result::ok)
                    .any(|m| m.path().join("system.slice").exists())
            })
            .unwrap_or(true)
    });
    if taken {
        return Err(std::io::Error::other(
            "this host has /system.slice (systemd): give runc containers an explicit cgroup_path",
        ));
    }
    Ok(format!("/system.slice/runc-{id}.scope"))
}

fn write_config(bundle: &Path, cgroup_path: &str, spec: &ContainerSpec) -> std::io::Result<()> {
    let config_path = bundle.join("config.json");
    let _ = std::fs::remove_file(&config_path);
    run_cli(Command::new("runc").args(["spec", "--bundle"]).arg(bundle))?;
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(&config_path)?).map_err(std::io::Error::other)?;
    config["root"] = json!({ "path": super::state_dir().join("rootfs"), "readonly": true });
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(["/bin/sleep", "3600"]);
    config["linux"]["cgroupsPath"] = json!(cgroup_path);
    let mut resources = json!({});
    if let Some(bytes) = spec.memory_limit {
        resources["memory"] = json!({ "limit": bytes });
    }
    let mut cpu = json!({});
    if let Some(shares) = spec.cpu_shares {
        cpu["shares"] = json!(shares);
    }
    if let Some((quota, period)) = spec.cpu_quota {
        cpu["quota"] = json!(quota);
        cpu["period"] = json!(period);
    }
    resources["cpu"] = cpu;
    config["linux"]["resources"] = resources;
    if spec.with_agent {
        let mounts = config["mounts"]
            .as_array_mut()
            .ok_or_else(|| std::io::Error::other("runc spec produced no mounts array"))?;
        for (host, inside) in agent_mounts() {
            mounts.push(json!({
                "destination": inside,
                "type": "bind",
                "source": host,
                "options": ["rbind", "ro"],
            }));
        }
    }
    std::fs::write(
        &config_path,
        serde_json::to_vec_pretty(&config).map_err(std::io::Error::other)?,
    )
}

pub(crate) fn exec_command(id: &str) -> Command {
    let mut cmd = Command::new("runc");
    cmd.args(["exec", id]);
    cmd
}

pub(crate) fn remove(id: &str, bundle: &Path) -> std::io::Result<()> {
    let _ = run_cli(Command::new("runc").args(["kill", id, "KILL"]));
    let deleted = run_cli(Command::new("runc").args(["delete", "--force", id]));
    let _ = std::fs::remove_dir_all(bundle);
    deleted.map(drop)
}
