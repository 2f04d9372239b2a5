//! The names of things: [`ContainerRuntime`] and [`QosClass`], their wire names (serde, `as_str`,
//! `FromStr`) and their human names (`Display`).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Which runtime made a container.
///
/// Wire names (serde, [`ContainerRuntime::as_str`]) are lowercase: `docker`, `podman`,
/// `containerd`, `cri-o`, `lxc`, `systemd-nspawn`, `none`, or the label of an unknown runtime.
/// `Display` prints the human name (`Docker`, `Podman`, `containerd`, `CRI-O`, `LXC`,
/// `systemd-nspawn`, `none`, the label), which `FromStr` parses back because it ignores case.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContainerRuntime {
    Docker,
    Podman,
    /// containerd itself: Kubernetes' CRI plugin (`cri-containerd-*`) or `ctr`.
    Containerd,
    /// CRI-O (Kubernetes).
    CriO,
    /// LXC, LXD and Incus.
    Lxc,
    SystemdNspawn,
    /// A container whose runtime has no variant here, by the label its evidence gave
    /// (`container=oci`, `CONTAINER_TYPE=rkt`, ...). An empty label reads as `unknown`.
    Unknown(String),
    /// Not a container.
    #[default]
    None,
}

impl ContainerRuntime {
    /// The lowercase wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Docker => "docker",
            Self::Podman => "podman",
            Self::Containerd => "containerd",
            Self::CriO => "cri-o",
            Self::Lxc => "lxc",
            Self::SystemdNspawn => "systemd-nspawn",
            Self::Unknown(label) if label.is_empty() => "unknown",
            Self::Unknown(label) => label,
            Self::None => "none",
        }
    }

    /// The name people write: `Docker`, `CRI-O`, `LXC`, ...
    pub fn human_name(&self) -> &str {
        match self {
            Self::Docker => "Docker",
            Self::Podman => "Podman",
            Self::Containerd => "containerd",
            Self::CriO => "CRI-O",
            Self::Lxc => "LXC",
            Self::SystemdNspawn => "systemd-nspawn",
            other => other.as_str(),
        }
    }

    /// Anything but [`ContainerRuntime::None`].
    pub fn is_container(&self) -> bool {
        !matches!(self, Self::None)
    }

    /// A runtime with its own variant (not `Unknown`, not `None`).
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Unknown(_) | Self::None)
    }
}

impl fmt::Display for ContainerRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.human_name())
    }
}

/// Why a runtime name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseRuntimeError {
    #[error("empty container runtime name")]
    Empty,
    #[error("container runtime name longer than {max} bytes")]
    TooLong { max: usize },
    #[error("container runtime name {0:?} has characters other than printable ASCII")]
    NotPrintable(String),
}

/// The longest label accepted for [`ContainerRuntime::Unknown`].
pub const MAX_RUNTIME_LABEL: usize = 64;

impl FromStr for ContainerRuntime {
    type Err = ParseRuntimeError;

    /// Parses a runtime name, ignoring case and surrounding whitespace: the wire and human names,
    /// plus the aliases `crio` and `nspawn`. Any other printable name becomes `Unknown(name)`
    /// in lowercase (`container=oci` gives `Unknown("oci")`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ParseRuntimeError::Empty);
        }
        if s.len() > MAX_RUNTIME_LABEL {
            return Err(ParseRuntimeError::TooLong {
                max: MAX_RUNTIME_LABEL,
            });
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ParseRuntimeError::NotPrintable(s.to_string()));
        }
        let lower = s.to_ascii_lowercase();
        Ok(match lower.as_str() {
            "docker" => Self::Docker,
            "podman" => Self::Podman,
            "containerd" => Self::Containerd,
            "cri-o" | "crio" => Self::CriO,
            "lxc" => Self::Lxc,
            "systemd-nspawn" | "nspawn" => Self::SystemdNspawn,
            "none" => Self::None,
            _ => Self::Unknown(lower),
        })
    }
}

impl Serialize for ContainerRuntime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ContainerRuntime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A Kubernetes pod's QoS class, as kubelet names its cgroups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QosClass {
    /// Pods directly under `kubepods` (no QoS level in the path).
    Guaranteed,
    Burstable,
    BestEffort,
}

impl QosClass {
    /// `guaranteed`, `burstable` or `besteffort`, as in cgroup paths and serde.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Guaranteed => "guaranteed",
            Self::Burstable => "burstable",
            Self::BestEffort => "besteffort",
        }
    }
}

impl fmt::Display for QosClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A QoS class name that is none of `guaranteed`, `burstable`, `besteffort`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown QoS class {0:?} (expected guaranteed, burstable or besteffort)")]
pub struct ParseQosError(pub String);

impl FromStr for QosClass {
    type Err = ParseQosError;

    /// Parses `guaranteed`, `burstable`, `besteffort` (also `best-effort`), ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "guaranteed" => Ok(Self::Guaranteed),
            "burstable" => Ok(Self::Burstable),
            "besteffort" | "best-effort" => Ok(Self::BestEffort),
            _ => Err(ParseQosError(s.to_string())),
        }
    }
}
