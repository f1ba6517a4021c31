//! ID-mapped bind mounts (Linux 5.12+): a view of a directory in which every owner appears
//! shifted by a user namespace's maps, without touching the files. c/storage mounts a
//! container's lower layers through such views when the kernel lets overlay use them
//! ("shifting"), so a container with its own uid/gid maps shares the image's layers unchanged.

use std::ffi::CString;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::Mutex;

use crate::driver::copy::cpath;
use crate::error::{Error, ErrorKind, Result};
use crate::idmap::IdMap;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

/// struct mount_attr of <linux/mount.h>.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

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
        let mut pipe = [0i32; 2];
        // SAFETY: pipe2 fills the two-element array.
        if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(fail("pipe", io::Error::last_os_error()));
        }
        // SAFETY: both fds were just created and are owned here.
        let (wait_read, wait_write) =
            unsafe { (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1])) };
        let (read_fd, write_fd) = (wait_read.as_raw_fd(), wait_write.as_raw_fd());

        // SAFETY: clone without CLONE_VM and without a new stack behaves like fork: the child
        // gets a copy of this thread only, born in a new user namespace. It makes raw system
        // calls only (no allocation, no locks another thread might have held): wait for the
        // parent to close the pipe, then exit.
        let pid = unsafe {
            libc::syscall(libc::SYS_clone, libc::CLONE_NEWUSER | libc::SIGCHLD, 0, 0, 0, 0)
        };
        if pid < 0 {
            return Err(fail("clone", io::Error::last_os_error()));
        }
        if pid == 0 {
            let mut byte = 0u8;
            // SAFETY: raw syscalls in the child: die with the parent, close its copy of the
            // write end (or the read would never end) and every other descriptor it inherited
            // but the read end (a pipe of the host program's is not held open by it), wait for
            // the parent's close, exit.
            unsafe {
                libc::syscall(libc::SYS_prctl, libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                libc::syscall(libc::SYS_close, write_fd);
                if read_fd > 0 {
                    libc::syscall(libc::SYS_close_range, 0u32, (read_fd - 1) as u32, 0u32);
                }
                libc::syscall(libc::SYS_close_range, (read_fd + 1) as u32, u32::MAX, 0u32);
                libc::syscall(libc::SYS_read, read_fd, &mut byte as *mut u8, 1);
                libc::syscall(libc::SYS_exit_group, 0);
            }
            unreachable!("exit_group returned");
        }
        let pid = pid as libc::pid_t;
        drop(wait_read);

        let result = (|| {
            write_map(pid, "uid_map", uid_map).map_err(|e| fail("writing uid_map", e))?;
            write_map(pid, "gid_map", gid_map).map_err(|e| fail("writing gid_map", e))?;
            let path = CString::new(format!("/proc/{pid}/ns/user")).expect("no NUL");
            // SAFETY: NUL-terminated path; returns a new fd or -1.
            let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            if fd < 0 {
                return Err(fail("opening the namespace", io::Error::last_os_error()));
            }
            // SAFETY: the fd was just returned to us.
            Ok(UserNamespace { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
        })();
        drop(wait_write);
        let mut status = 0;
        // SAFETY: reaping our own child, which exits once the pipe is closed.
        unsafe { libc::waitpid(pid, &mut status, 0) };
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
    let fail = |what: &str| {
        let err = io::Error::last_os_error();
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
    // SAFETY: NUL-terminated path; returns a new fd for a detached copy of the mount, or -1.
    let tree = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            source_c.as_ptr(),
            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC,
        )
    };
    if tree < 0 {
        return Err(fail("open_tree"));
    }
    // SAFETY: the fd was just returned to us.
    let tree = unsafe { OwnedFd::from_raw_fd(tree as i32) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.fd.as_raw_fd() as u64,
    };
    // SAFETY: our detached tree, an empty path with AT_EMPTY_PATH, and a mount_attr of the
    // size passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc < 0 {
        return Err(fail("mount_setattr"));
    }
    // SAFETY: move our detached tree onto the NUL-terminated target path.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target_c.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if rc < 0 {
        return Err(fail("move_mount"));
    }
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
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
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
