//! ID-mapped bind mounts (Linux 5.12+): a view of a directory in which every owner appears
//! shifted by a user namespace's maps, without touching the files. c/storage mounts a
//! container's lower layers through such views when the kernel lets overlay use them
//! ("shifting"), so a container with its own uid/gid maps shares the image's layers unchanged.

use std::ffi::CString;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::Mutex;

use crate::driver::copy::cpath;
use crate::error::{Error, ErrorKind, Result};
use crate::idmap::IdMap;
use crate::sys;
use crate::sys::mount::{MountAttr, MOUNT_ATTR_IDMAP, OPEN_TREE_CLOEXEC, OPEN_TREE_CLONE};

/// Held while a namespace's child process lives. A child exits when every write end of its pipe
/// is closed; a child cloned by another thread in the meantime would inherit this one's write
/// end and keep it open while it waits for its own: two threads probing at once (two stores
/// opened in parallel) waited for each other's children forever.
static NAMESPACE_CHILD: Mutex<()> = Mutex::new(());

/// A user namespace with the given maps, held open by a descriptor (the short-lived process
/// that created it is gone by the time this exists).
pub struct UserNamespace {
    fd: OwnedFd,
}

impl UserNamespace {
    /// A new user namespace whose uid/gid maps are `uid_map`/`gid_map` (container ID ->
    /// host ID, as in c/storage's records).
    pub fn new(uid_map: &[IdMap], gid_map: &[IdMap]) -> Result<UserNamespace> {
        let fail = |what: &str, err: io::Error| {
            Error::with_errno(
                ErrorKind::Mount,
                err.raw_os_error().unwrap_or(0),
                format!("creating a user namespace: {what}: {err}"),
            )
        };
        let _one_child_at_a_time =
            NAMESPACE_CHILD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (wait_read, wait_write) = sys::process::pipe().map_err(|e| fail("pipe", e))?;
        let pid = sys::process::spawn_user_namespace_holder(wait_read.as_fd(), wait_write.as_fd())
            .map_err(|e| fail("clone", e))?;
        drop(wait_read);

        let result = (|| {
            write_map(pid, "uid_map", uid_map).map_err(|e| fail("writing uid_map", e))?;
            write_map(pid, "gid_map", gid_map).map_err(|e| fail("writing gid_map", e))?;
            let path = CString::new(format!("/proc/{pid}/ns/user")).expect("no NUL");
            let fd = sys::fs::open(&path, libc::O_RDONLY | libc::O_CLOEXEC)
                .map_err(|e| fail("opening the namespace", e))?;
            Ok(UserNamespace { fd })
        })();
        drop(wait_write);
        // Reaping our own child, which exits once the pipe is closed.
        let _ = sys::process::waitpid(pid);
        result
    }
}

fn write_map(pid: libc::pid_t, file: &str, maps: &[IdMap]) -> io::Result<()> {
    let text: String =
        maps.iter().map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size)).collect();
    // The kernel takes the whole map in one write.
    std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/{pid}/{file}"))?
        .write_all(text.as_bytes())
}

/// Attach on `target` a view of `source` (not of mounts below it) whose owners are shifted by
/// `userns`'s maps: open_tree(OPEN_TREE_CLONE), mount_setattr(MOUNT_ATTR_IDMAP), move_mount.
pub fn bind_idmapped(source: &Path, target: &Path, userns: &UserNamespace) -> Result<()> {
    let fail = |what: &str, err: io::Error| {
        Error::with_errno(
            ErrorKind::Mount,
            err.raw_os_error().unwrap_or(0),
            format!(
                "ID-mapped mount of {} on {}: {what}: {err}",
                source.display(),
                target.display()
            ),
        )
    };
    let source_c = cpath(source)?;
    let target_c = cpath(target)?;
    let tree = sys::mount::open_tree(&source_c, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
        .map_err(|e| fail("open_tree", e))?;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.fd.as_raw_fd() as u64,
    };
    sys::mount::mount_setattr(tree.as_fd(), &attr).map_err(|e| fail("mount_setattr", e))?;
    sys::mount::move_mount(tree.as_fd(), &target_c).map_err(|e| fail("move_mount", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Several threads creating namespaces at once all finish: each namespace's child waits
    /// for its own pipe only, never for one another thread's child inherited.
    #[test]
    fn namespaces_created_on_several_threads_at_once_all_finish() {
        if sys::process::geteuid() != 0 {
            eprintln!("skipped: writing a user namespace's maps needs root");
            return;
        }
        let map = [IdMap { container_id: 0, host_id: 100_000, size: 65_536 }];
        let (done, finished) = mpsc::channel();
        for _ in 0..4 {
            let done = done.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    UserNamespace::new(&map, &map).expect("a user namespace");
                }
                done.send(()).unwrap();
            });
        }
        for thread in 0..4 {
            // The children die with this process (PR_SET_PDEATHSIG) if the test fails here.
            finished.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
                panic!("thread {thread} of 4 still waits for its namespaces after 60 s")
            });
        }
    }
}
