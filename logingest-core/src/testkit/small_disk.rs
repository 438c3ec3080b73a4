//! A small file system to fill up, for tests of what a full disk does.
//!
//! Why a real one: a full disk fails in places no mock knows about (SQLite's
//! WAL, a tantivy merge thread, a temporary file of an atomic write), and
//! the point of these tests is that every one of them is handled. A
//! [`SmallDisk`] is a size-limited tmpfs mounted on a fresh directory, so
//! it needs root (the test machines and CI run tests as root). When it
//! cannot be mounted the test panics with the reason: a disk-full test is
//! never skipped silently.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of a few megabytes, unmounted and removed on drop.
#[derive(Debug)]
pub struct SmallDisk {
    dir: PathBuf,
}

/// Name of the file [`SmallDisk::fill`] writes.
const BALLAST: &str = "ballast";

impl SmallDisk {
    /// Mounts a tmpfs of `bytes` on a new directory; panics, saying why,
    /// when it cannot (not root, no `mount`).
    pub fn mount(bytes: u64) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "logingest-small-disk-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let size = format!("size={}k", bytes.div_ceil(1024));
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &size, "tmpfs"])
            .arg(&dir)
            .output();
        match mounted {
            Ok(out) if out.status.success() => SmallDisk { dir },
            Ok(out) => panic!(
                "this disk-full test needs to mount a small tmpfs (run the tests as root): \
                 `mount -t tmpfs -o {size} tmpfs {}` failed: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => panic!("this disk-full test needs the `mount` command (and root): {e}"),
        }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes a ballast file until the file system is full (ENOSPC);
    /// returns how many bytes it took.
    pub fn fill(&self) -> u64 {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(BALLAST))
            .expect("ballast file");
        let chunk = vec![0x5a; 4096];
        let mut written = 0;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if crate::is_disk_full(&e) => break,
                Err(e) => panic!("writing the ballast: {e}"),
            }
        }
        written
    }

    /// Removes the ballast file, freeing the space [`SmallDisk::fill`] took.
    pub fn free(&self) {
        std::fs::remove_file(self.dir.join(BALLAST)).expect("remove the ballast");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: a server a test forgot to stop must not keep the mount.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}
