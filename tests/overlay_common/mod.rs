//! Helpers for tests that mount overlays: a throwaway store on the overlay driver whose guard
//! unmounts everything under its directory when dropped (also when the test failed), a
//! runner for Go's CLI on the overlay driver, and a mountinfo reader independent of the
//! library's own.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use crate::common::TempStore;
use cstorage::{Store, StoreOptions};

pub struct OverlayTest {
    /// Dropped after `OverlayTest::drop` has unmounted everything, so `rm -rf` never walks
    /// into a mounted tree.
    pub t: TempStore,
    go_used: std::cell::Cell<bool>,
}

impl OverlayTest {
    pub fn new(tag: &str) -> Self {
        OverlayTest { t: TempStore::new(tag), go_used: std::cell::Cell::new(false) }
    }

    pub fn dir(&self) -> &Path {
        &self.t.dir
    }

    pub fn graph(&self) -> PathBuf {
        self.t.graph()
    }

    pub fn run(&self) -> PathBuf {
        self.t.run()
    }

    /// G/overlay
    pub fn home(&self) -> PathBuf {
        self.t.graph().join("overlay")
    }

    pub fn options(&self) -> StoreOptions {
        self.t.options("overlay")
    }

    pub fn open(&self) -> Store {
        Store::open(&self.options()).expect("open overlay store")
    }

    /// Debian's containers-storage CLI (c/storage 1.43) on this store, overlay driver.
    pub fn go(&self, args: &[&str]) -> std::process::Output {
        self.go_used.set(true);
        self.t.go_with_driver("overlay", args)
    }

    pub fn go_ok(&self, args: &[&str]) -> String {
        crate::common::stdout_of_success(args, self.go(args))
    }

    /// Mount points under the test directory, from /proc/self/mountinfo.
    pub fn mounts(&self) -> Vec<PathBuf> {
        mount_points().into_iter().filter(|p| p.starts_with(&self.t.dir)).collect()
    }

    /// The mountinfo line of the mount at `path` (the last one, i.e. the topmost).
    pub fn mountinfo_line(&self, path: &Path) -> Option<String> {
        mountinfo_lines().into_iter().rev().find(|(p, _)| p == path).map(|(_, l)| l)
    }

    /// End of a test: shut Go's driver down (it leaves G/overlay bind-mounted otherwise) if Go
    /// ran, then our store, and check that nothing under the test directory is mounted.
    pub fn finish(&self, store: Store) {
        if self.go_used.get() {
            self.go_ok(&["shutdown", "-f"]);
        }
        let still = store.shutdown(true).expect("shutdown");
        assert!(still.is_empty(), "layers still mounted after a forced shutdown: {still:?}");
        drop(store);
        self.assert_nothing_mounted();
    }

    pub fn assert_nothing_mounted(&self) {
        let left = self.mounts();
        assert!(left.is_empty(), "still mounted under {}: {left:?}", self.t.dir.display());
    }
}

impl Drop for OverlayTest {
    fn drop(&mut self) {
        crate::common::unmount_everything_under(&self.t.dir);
    }
}

/// (mount point, whole line) of every mount, decoding mountinfo's octal escapes.
pub fn mountinfo_lines() -> Vec<(PathBuf, String)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .filter_map(|line| {
            let field = line.split(' ').nth(4)?;
            let mut decoded = String::new();
            let mut rest = field;
            while let Some(pos) = rest.find('\\') {
                decoded.push_str(&rest[..pos]);
                let code = u8::from_str_radix(&rest[pos + 1..pos + 4], 8).unwrap();
                decoded.push(code as char);
                rest = &rest[pos + 4..];
            }
            decoded.push_str(rest);
            Some((PathBuf::from(decoded), line.to_string()))
        })
        .collect()
}

pub fn mount_points() -> Vec<PathBuf> {
    mountinfo_lines().into_iter().map(|(p, _)| p).collect()
}

/// Write a file (and its parent directories) under `root`.
pub fn write(root: &Path, rel: &str, data: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// A 0/0 character device: overlay's whiteout.
pub fn is_whiteout(path: &Path) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    match std::fs::symlink_metadata(path) {
        Ok(m) => m.file_type().is_char_device() && m.rdev() == 0,
        Err(_) => false,
    }
}

pub fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 256];
    // SAFETY: valid C strings and a buffer of the given length.
    let len =
        unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if len < 0 {
        return None;
    }
    buf.truncate(len as usize);
    Some(buf)
}
