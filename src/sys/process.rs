//! This process and its children: effective IDs, the page size, pipes, a child born in a new
//! user namespace, waiting for children, and the per-thread file-system attributes (unshare
//! CLONE_FS, chdir) a helper thread changes for itself.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::check;

/// geteuid(2).
pub(crate) fn geteuid() -> libc::uid_t {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// getegid(2).
pub(crate) fn getegid() -> libc::gid_t {
    // SAFETY: getegid has no preconditions and cannot fail.
    unsafe { libc::getegid() }
}

/// sysconf(_SC_PAGESIZE), or `None` if the system does not say.
pub(crate) fn page_size() -> Option<usize> {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).ok().filter(|&size| size > 0)
}

/// pipe2(O_CLOEXEC): the read end and the write end.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut ends = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two-element array it is given.
    check(unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 succeeded, so both descriptors are new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) })
}

/// Start a child process in a new user namespace (clone(CLONE_NEWUSER)) that lives until every
/// write end of the pipe `wait_on` reads from is closed, then exits; it dies with us too
/// (PR_SET_PDEATHSIG). Its copy of `write_end` and of every other descriptor but `wait_on` is
/// closed at once, so only the caller's copy keeps it alive and it holds open no descriptor
/// of the host program's. Returns the child's pid, to be reaped with [`waitpid`].
///
/// The caller must keep other threads from cloning while the child lives if they could
/// inherit `write_end` (a child waiting on another's pipe would wait forever).
pub(crate) fn spawn_user_namespace_holder(
    wait_on: BorrowedFd<'_>,
    write_end: BorrowedFd<'_>,
) -> io::Result<libc::pid_t> {
    let (read_fd, write_fd) = (wait_on.as_raw_fd(), write_end.as_raw_fd());
    // SAFETY: clone without CLONE_VM and without a new stack behaves like fork: the child gets
    // a copy of this thread only, born in a new user namespace. It makes raw system calls only
    // (no allocation, no locks another thread might have held) before it exits.
    let pid =
        unsafe { libc::syscall(libc::SYS_clone, libc::CLONE_NEWUSER | libc::SIGCHLD, 0, 0, 0, 0) };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let mut byte = 0u8;
        // SAFETY: raw syscalls in the child on descriptors it inherited and a one-byte buffer:
        // die with the parent, close its copy of the write end (or the read would never end)
        // and every other descriptor but the read end, wait for the parent's close, exit.
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
    Ok(pid as libc::pid_t)
}

/// waitpid(2) for one child: its wait status.
pub(crate) fn waitpid(pid: libc::pid_t) -> io::Result<libc::c_int> {
    let mut status = 0;
    // SAFETY: `status` is a valid out pointer for the call.
    check(unsafe { libc::waitpid(pid, &mut status, 0) })?;
    Ok(status)
}

/// unshare(CLONE_FS): this thread stops sharing its working directory, root and umask with the
/// rest of the process, so changing them moves no other thread.
pub(crate) fn unshare_file_system_attributes() -> io::Result<()> {
    // SAFETY: unshare with CLONE_FS only affects the calling thread.
    check(unsafe { libc::unshare(libc::CLONE_FS) })
}

/// chdir(2).
pub(crate) fn chdir(dir: &CStr) -> io::Result<()> {
    // SAFETY: `dir` is NUL-terminated for the call.
    check(unsafe { libc::chdir(dir.as_ptr()) })
}
