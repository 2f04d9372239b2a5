//! Cgroups and processes a test owns. Dropping them kills the process (by PID, only ones the
//! test started) and removes the cgroups deepest first, so a failing test leaves nothing behind.

use std::{
    fs, io,
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// A prefix no other test run uses: `smoothtask-test-<pid>-<nanos>-<label>`.
pub fn unique_prefix(label: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("smoothtask-test-{}-{nanos}-{label}", std::process::id())
}

/// A cgroup directory tree created by the test, removed on drop.
#[derive(Debug)]
pub struct TestCgroup {
    /// Absolute path of the created directory.
    pub dir: PathBuf,
    /// Path relative to the hierarchy root, as the kernel reports it (`/prefix/child`).
    pub path: String,
    /// The directory's inode number: the kernel's cgroup id.
    pub ino: u64,
    mount: PathBuf,
    children: Vec<TestCgroup>,
}

impl TestCgroup {
    /// Creates `<mount>/<relative>` (its parent must exist and belong to the test or be the
    /// hierarchy root).
    pub fn create(mount: &Path, relative: &str) -> io::Result<Self> {
        let dir = mount.join(relative.trim_start_matches('/'));
        fs::create_dir(&dir)?;
        let ino = fs::metadata(&dir)?.ino();
        Ok(Self {
            dir,
            path: format!("/{}", relative.trim_start_matches('/')),
            ino,
            mount: mount.to_path_buf(),
            children: Vec::new(),
        })
    }

    /// Creates a child cgroup owned by this one; returns (path, inode).
    pub fn create_child(&mut self, name: &str) -> io::Result<&TestCgroup> {
        let child = TestCgroup::create(&self.mount, &format!("{}/{name}", self.path))?;
        self.children.push(child);
        Ok(self.children.last().expect("just pushed"))
    }

    /// The child `name`, created when missing.
    pub fn child_or_create(&mut self, name: &str) -> io::Result<&mut TestCgroup> {
        let path = format!("{}/{name}", self.path);
        if let Some(i) = self.children.iter().position(|c| c.path == path) {
            return Ok(&mut self.children[i]);
        }
        let child = TestCgroup::create(&self.mount, &path)?;
        self.children.push(child);
        Ok(self.children.last_mut().expect("just pushed"))
    }

    /// Removes the sub-tree at `relative` (below this cgroup) now.
    pub fn remove_path(&mut self, relative: &str) -> io::Result<()> {
        let (first, rest) = match relative.split_once('/') {
            Some((f, r)) => (f, Some(r)),
            None => (relative, None),
        };
        let path = format!("{}/{first}", self.path);
        let Some(i) = self.children.iter().position(|c| c.path == path) else {
            return Ok(());
        };
        match rest {
            Some(rest) => self.children[i].remove_path(rest),
            None => self.children.remove(i).remove().map(drop),
        }
    }

    pub fn children(&self) -> &[TestCgroup] {
        &self.children
    }

    /// Removes children then this directory now; returns every removed path in order.
    pub fn remove(mut self) -> io::Result<Vec<String>> {
        let mut removed = Vec::new();
        self.remove_tree(&mut removed)?;
        Ok(removed)
    }

    fn remove_tree(&mut self, removed: &mut Vec<String>) -> io::Result<()> {
        for mut child in std::mem::take(&mut self.children) {
            child.remove_tree(removed)?;
        }
        rmdir_retrying(&self.dir)?;
        removed.push(std::mem::take(&mut self.path));
        Ok(())
    }

    /// Moves a process the test started into this cgroup.
    pub fn add_process(&self, child: &TestChild) -> io::Result<()> {
        fs::write(self.dir.join("cgroup.procs"), child.pid().to_string())
    }
}

/// rmdir, retrying briefly while the kernel finishes tearing down an exited member.
fn rmdir_retrying(dir: &Path) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if Instant::now() < deadline && e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        if self.path.is_empty() {
            return; // already removed
        }
        let mut removed = Vec::new();
        if let Err(err) = self.remove_tree(&mut removed) {
            eprintln!("cleanup: could not remove {}: {err}", self.dir.display());
        }
    }
}

/// A process the test started (`sleep`); killed by PID and reaped on drop.
#[derive(Debug)]
pub struct TestChild(Child);

impl TestChild {
    pub fn sleep() -> io::Result<Self> {
        Command::new("sleep")
            .arg("300")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map(Self)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for TestChild {
    fn drop(&mut self) {
        self.stop();
    }
}
