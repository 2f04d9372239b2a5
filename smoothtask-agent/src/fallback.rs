//! The no-eBPF fallback: cgroup lifecycle from inotify on every cgroup hierarchy. Each new
//! cgroup directory is a `cgroup.mkdir` (id from its inode), each removed one a
//! `cgroup.rmdir`, published through the same pipeline as kernel events (`source: inotify`).
//! Watches stop at containers' own cgroups (their sub-cgroups are theirs) and at a depth
//! bound, so the number of watches follows the number of containers. Rescans repair what a
//! watch added too late would miss.

use std::{
    collections::HashMap,
    ffi::OsString,
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
    sync::Arc,
    time::SystemTime,
};

use futures_util::StreamExt as _;
use inotify::{EventMask, Inotify, WatchMask, Watches};
use tokio::task::JoinHandle;

use crate::{
    cgroup::{Hierarchies, HierarchyRef},
    clock::monotonic_ns,
    event::{CgroupRef, EventBody, Source},
    host::HostRoot,
    pipeline::Pipeline,
    runtime,
};

/// How deep below a hierarchy's mount directories are watched.
const MAX_DEPTH: u32 = 6;

/// A watched directory.
#[derive(Clone, Debug)]
struct Watched {
    hierarchy_id: u32,
    dir: PathBuf,
    /// Path relative to the hierarchy root.
    path: String,
    depth: u32,
    /// Child directory name -> inode, to name the cgroup id when it is removed.
    children: HashMap<OsString, u64>,
}

/// The running fallback. Dropping it stops the watches.
pub struct InotifyFallback {
    task: JoinHandle<()>,
    pub watches: usize,
}

impl Drop for InotifyFallback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct State {
    watches: Watches,
    by_wd: HashMap<i32, Watched>,
}

impl State {
    /// Watches `dir` and its sub-directories (not inside containers' own cgroups). Sub-
    /// directories that already exist are pushed to `found` when given: below a directory
    /// that was just created they appeared before its watch did, and were not seen created.
    fn watch_tree(
        &mut self,
        hierarchy_id: u32,
        dir: &Path,
        path: &str,
        depth: u32,
        mut found: Option<&mut Vec<CgroupRef>>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let mask = WatchMask::CREATE | WatchMask::DELETE | WatchMask::ONLYDIR;
        let Ok(wd) = self.watches.add(dir, mask) else {
            return; // gone already, or out of watches: the rescan repairs
        };
        let mut children = HashMap::new();
        let mut subdirs = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if !e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                if let Ok(meta) = e.metadata() {
                    children.insert(e.file_name(), meta.ino());
                }
                subdirs.push(e);
            }
        }
        self.by_wd.insert(
            wd.get_watch_descriptor_id(),
            Watched {
                hierarchy_id,
                dir: dir.to_path_buf(),
                path: path.to_string(),
                depth,
                children,
            },
        );
        for e in subdirs {
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let child_path = join(path, &name);
            if let Some(found) = found.as_deref_mut()
                && let Some(&ino) = self
                    .by_wd
                    .get(&wd.get_watch_descriptor_id())
                    .and_then(|w| w.children.get(&e.file_name()))
            {
                found.push(cgroup_ref(ino, hierarchy_id, depth + 1, &child_path));
            }
            if !is_container_own(&child_path) {
                self.watch_tree(
                    hierarchy_id,
                    &e.path(),
                    &child_path,
                    depth + 1,
                    found.as_deref_mut(),
                );
            }
        }
    }
}

fn join(parent: &str, name: &str) -> String {
    format!("{}/{name}", parent.trim_end_matches('/'))
}

fn is_container_own(path: &str) -> bool {
    runtime::locate(path).is_some_and(|l| l.cgroup == path)
}

impl InotifyFallback {
    pub fn start(
        pipeline: Arc<Pipeline>,
        host: &HostRoot,
        hierarchies: &Hierarchies,
    ) -> std::io::Result<Self> {
        let inotify = Inotify::init()?;
        let mut state = State {
            watches: inotify.watches(),
            by_wd: HashMap::new(),
        };
        let refs = hierarchies
            .v1
            .iter()
            .map(HierarchyRef::V1)
            .chain(hierarchies.v2.iter().map(HierarchyRef::V2));
        for h in refs {
            let (Some(id), Some(mount)) = (h.hierarchy_id(), h.host_fs_path(host, h.root())) else {
                continue;
            };
            let root = h.root().trim_end_matches('/').to_string();
            state.watch_tree(
                id,
                &mount,
                if root.is_empty() { "/" } else { &root },
                0,
                None,
            );
        }
        let watches = state.by_wd.len();
        let stream = inotify.into_event_stream(vec![0u8; 64 * 1024])?;
        let task = tokio::spawn(run(stream, state, pipeline));
        Ok(Self { task, watches })
    }
}

async fn run(mut stream: inotify::EventStream<Vec<u8>>, mut state: State, pipeline: Arc<Pipeline>) {
    while let Some(item) = stream.next().await {
        let Ok(event) = item else {
            tracing::warn!(target: "fallback", "inotify read failed; relying on rescans");
            continue;
        };
        let id = event.wd.get_watch_descriptor_id();
        if event.mask.contains(EventMask::IGNORED) {
            state.by_wd.remove(&id);
            continue;
        }
        if event.mask.contains(EventMask::Q_OVERFLOW) {
            tracing::warn!(target: "fallback", "inotify queue overflowed; the next rescan repairs");
            continue;
        }
        if !event.mask.contains(EventMask::ISDIR) {
            continue;
        }
        let Some(name) = event.name else { continue };
        let Some(parent) = state.by_wd.get_mut(&id) else {
            continue;
        };
        let Some(name_str) = name.to_str().map(str::to_string) else {
            continue;
        };
        let path = join(&parent.path, &name_str);
        let dir = parent.dir.join(&name);
        let (hierarchy_id, depth) = (parent.hierarchy_id, parent.depth + 1);
        let body = if event.mask.contains(EventMask::CREATE) {
            let Ok(meta) = std::fs::metadata(&dir) else {
                continue; // created and removed before we looked
            };
            parent.children.insert(name.clone(), meta.ino());
            pipeline.ingest(
                Source::Inotify,
                SystemTime::now(),
                monotonic_ns(),
                EventBody::CgroupMkdir {
                    cgroup: cgroup_ref(meta.ino(), hierarchy_id, depth, &path),
                    container: None,
                },
            );
            let mut early = Vec::new();
            if !is_container_own(&path) {
                state.watch_tree(hierarchy_id, &dir, &path, depth, Some(&mut early));
            }
            for cgroup in early {
                pipeline.ingest(
                    Source::Inotify,
                    SystemTime::now(),
                    monotonic_ns(),
                    EventBody::CgroupMkdir {
                        cgroup,
                        container: None,
                    },
                );
            }
            continue;
        } else if event.mask.contains(EventMask::DELETE) {
            let Some(ino) = parent.children.remove(&name) else {
                continue;
            };
            EventBody::CgroupRmdir {
                cgroup: cgroup_ref(ino, hierarchy_id, depth, &path),
                container: None,
            }
        } else {
            continue;
        };
        pipeline.ingest(Source::Inotify, SystemTime::now(), monotonic_ns(), body);
    }
}

fn cgroup_ref(id: u64, hierarchy_id: u32, level: u32, path: &str) -> CgroupRef {
    CgroupRef {
        id,
        hierarchy_id,
        hierarchy: None,
        level,
        path: path.to_string(),
        path_truncated: false,
    }
}
