//! Mounting and unmounting overlay file systems.
//!
//! Two ways to mount, chosen once per driver by [`MountApi::detect`]:
//!
//! * the kernel's file-system-context API (Linux 6.8+ for `lowerdir+`): `fsopen("overlay")`,
//!   one `fsconfig(FSCONFIG_SET_STRING, "lowerdir+", dir)` per lower directory, `upperdir`,
//!   `workdir` and the other options, `FSCONFIG_CMD_CREATE`, `fsmount`, `move_mount` onto the
//!   target. Nothing limits the total length of the options, so the only limit is the kernel's
//!   500 lower layers per overlay; deeper chains are stacked (see [`mount_layer_stack`]).
//! * mount(2) for older kernels, whose option string must fit in one page (4096 bytes with
//!   its NUL). Absolute paths are tried first, as c/storage does; when they do not fit, paths
//!   relative to the driver home (`l/<LINK>`, `<id>/diff`) are used from a helper thread that
//!   has its own working directory. Each lower then costs 29 bytes (`l/<26-char LINKID>:`)
//!   and upper + work about 165, so a read-write mount takes at most 135 lower layers and a
//!   read-only one 138 (its own diff is a lower; no upper or work), fewer with extra options,
//!   and 38 when the lowers go through an ID-mapped view (`<id>/mapped/0/l/<LINK>`).
//!   That is above c/storage 1.43's own limit of 128. Chains that do not fit fail with
//!   `MaxDepthExceeded`; stacking is not attempted on this path.

use std::ffi::{CStr, CString};
use std::fs;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::driver::copy::cpath;
use crate::error::{Error, ErrorKind, Result};
use crate::fs_tree::mount_points;
use crate::sys;
use crate::sys::mount::{
    FSCONFIG_CMD_CREATE, FSCONFIG_SET_FLAG, FSCONFIG_SET_STRING, FSMOUNT_CLOEXEC, FSOPEN_CLOEXEC,
    MOUNT_ATTR_RDONLY,
};

/// The kernel's limit of lower layers in one overlay (OVL_MAX_STACK).
pub const MAX_LOWERS_PER_OVERLAY: usize = 500;

/// How this kernel lets us mount an overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountApi {
    /// fsopen/fsconfig("lowerdir+")/fsmount/move_mount.
    FsContext,
    /// mount(2) with an option string of at most one page.
    Legacy,
}

impl MountApi {
    /// The file-system-context API when the kernel has it and its overlay accepts `lowerdir+`
    /// (tried on `any_dir` without mounting anything), else mount(2).
    pub fn detect(any_dir: &Path) -> MountApi {
        let Ok(context) = FsContext::open("overlay") else { return MountApi::Legacy };
        match context.set_string("lowerdir+", &any_dir.to_string_lossy()) {
            Ok(()) => MountApi::FsContext,
            Err(_) => MountApi::Legacy,
        }
    }
}

/// Mount options split the way the kernel takes them: flags of the mount, flags of the
/// superblock, and the file system's own options (c/storage's mount.ParseOptions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountFlags {
    pub read_only: bool,
    /// MS_* bits other than MS_RDONLY, for mount(2).
    ms_flags: libc::c_ulong,
    /// MOUNT_ATTR_* bits other than read-only, for fsmount().
    attrs: u64,
    /// Superblock flags by name (sync, dirsync, mand, lazytime), for fsconfig(SET_FLAG).
    sb_flags: Vec<String>,
    /// Everything else: "key" or "key=value" options of the overlay file system.
    pub data: Vec<String>,
}

impl MountFlags {
    /// Plain read-only: the flags of an overlay with no upper directory.
    pub fn read_only() -> MountFlags {
        MountFlags { read_only: true, ..Default::default() }
    }

    /// Parse options such as `["ro", "nodev", "metacopy=on"]`. Later options win over earlier
    /// ones (`nodev,dev` is `dev`). Options that would change what kind of mount this is
    /// (bind, remount, propagation) are refused.
    pub fn parse(options: &[String]) -> Result<MountFlags> {
        use crate::sys::mount::{
            MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC,
            MOUNT_ATTR_NOSUID, MOUNT_ATTR_STRICTATIME,
        };
        let mut out = MountFlags::default();
        for option in options.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
            // (MS_* bit, MOUNT_ATTR_* bit, whether the option sets or clears it)
            let mount_flag: Option<(libc::c_ulong, u64, bool)> = match option {
                "nosuid" => Some((libc::MS_NOSUID, MOUNT_ATTR_NOSUID, true)),
                "suid" => Some((libc::MS_NOSUID, MOUNT_ATTR_NOSUID, false)),
                "nodev" => Some((libc::MS_NODEV, MOUNT_ATTR_NODEV, true)),
                "dev" => Some((libc::MS_NODEV, MOUNT_ATTR_NODEV, false)),
                "noexec" => Some((libc::MS_NOEXEC, MOUNT_ATTR_NOEXEC, true)),
                "exec" => Some((libc::MS_NOEXEC, MOUNT_ATTR_NOEXEC, false)),
                "nodiratime" => Some((libc::MS_NODIRATIME, MOUNT_ATTR_NODIRATIME, true)),
                "diratime" => Some((libc::MS_NODIRATIME, MOUNT_ATTR_NODIRATIME, false)),
                "noatime" => Some((libc::MS_NOATIME, MOUNT_ATTR_NOATIME, true)),
                "atime" => Some((libc::MS_NOATIME, MOUNT_ATTR_NOATIME, false)),
                "strictatime" => Some((libc::MS_STRICTATIME, MOUNT_ATTR_STRICTATIME, true)),
                "nostrictatime" => Some((libc::MS_STRICTATIME, MOUNT_ATTR_STRICTATIME, false)),
                // relatime is the default access-time mode of a new mount.
                "relatime" => Some((libc::MS_RELATIME, 0, true)),
                "norelatime" => Some((libc::MS_RELATIME, 0, false)),
                _ => None,
            };
            if let Some((ms, attr, set)) = mount_flag {
                if set {
                    out.ms_flags |= ms;
                    out.attrs |= attr;
                } else {
                    out.ms_flags &= !ms;
                    out.attrs &= !attr;
                }
                continue;
            }
            let sb_flag: Option<(libc::c_ulong, &str)> = match option {
                "sync" => Some((libc::MS_SYNCHRONOUS, "sync")),
                "dirsync" => Some((libc::MS_DIRSYNC, "dirsync")),
                "mand" => Some((libc::MS_MANDLOCK, "mand")),
                "lazytime" => Some((libc::MS_LAZYTIME, "lazytime")),
                _ => None,
            };
            if let Some((ms, name)) = sb_flag {
                out.ms_flags |= ms;
                out.sb_flags.push(name.to_string());
                continue;
            }
            match option {
                "ro" => out.read_only = true,
                "rw" => out.read_only = false,
                "defaults" | "async" | "nomand" | "nolazytime" => {}
                "bind" | "rbind" | "remount" | "move" | "private" | "rprivate" | "shared"
                | "rshared" | "slave" | "rslave" | "unbindable" | "runbindable" => {
                    return Err(Error::invalid(format!(
                        "mount option {option:?} cannot be used for an overlay mount"
                    )))
                }
                _ => out.data.push(option.to_string()),
            }
        }
        Ok(out)
    }
}

/// One overlay file system to mount.
#[derive(Debug, Clone)]
pub struct OverlaySpec {
    /// Lower directories, topmost first.
    pub lowers: Vec<String>,
    /// Upper and work directory of a writable overlay.
    pub upper: Option<(String, String)>,
    pub flags: MountFlags,
    /// SELinux context for the mount (only set when SELinux is enabled).
    pub label: Option<String>,
}

impl OverlaySpec {
    /// The option string mount(2) takes, with every path made relative to `base` if given.
    fn legacy_data(&self, base: Option<&Path>) -> String {
        let rel = |p: &str| -> String {
            match base {
                Some(base) => Path::new(p)
                    .strip_prefix(base)
                    .map(|r| r.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| p.to_string()),
                None => p.to_string(),
            }
        };
        let mut parts = vec![format!(
            "lowerdir={}",
            self.lowers.iter().map(|l| rel(l)).collect::<Vec<_>>().join(":")
        )];
        if let Some((upper, work)) = &self.upper {
            parts.push(format!("upperdir={}", rel(upper)));
            parts.push(format!("workdir={}", rel(work)));
        }
        parts.extend(self.flags.data.iter().cloned());
        if let Some(label) = &self.label {
            parts.push(format!("context=\"{label}\""));
        }
        parts.join(",")
    }
}

/// Mount `spec` on `target`. `home` is the directory relative paths are taken from when the
/// mount(2) option string would not fit in a page.
pub fn mount_overlay(api: MountApi, spec: &OverlaySpec, target: &Path, home: &Path) -> Result<()> {
    match api {
        MountApi::FsContext => {
            let mount = create_detached(spec)?;
            move_mount_to(&mount, target)
        }
        MountApi::Legacy => mount_legacy(spec, target, home),
    }
}

/// Mount a layer's overlay on `target`, however many lower layers it has. An overlay takes at
/// most 500 lowers, and may itself be a lower of one more overlay (the kernel allows two
/// levels of stacking). So for a deeper chain the bottom part is split into read-only overlays
/// of at most 500 layers each, mounted on scratch directories under `scratch`; the final
/// overlay takes the top layers directly and those overlays as its bottom lowers. The kernel
/// keeps its own reference to every lower, so the scratch mounts are detached as soon as the
/// final overlay exists and nothing of them stays visible. This reaches 500 × 500 layers.
pub fn mount_layer_stack(
    api: MountApi,
    spec: &OverlaySpec,
    target: &Path,
    home: &Path,
    scratch: &Path,
) -> Result<()> {
    let total = spec.lowers.len();
    if total <= MAX_LOWERS_PER_OVERLAY {
        return mount_overlay(api, spec, target, home);
    }
    if api == MountApi::Legacy {
        return Err(too_deep(total, "this kernel has no fsconfig(\"lowerdir+\") and mount(2) takes one overlay of at most one page of options"));
    }
    // k bottom overlays and (500 - k) direct lowers must cover every layer.
    let bottom_overlays = (total - MAX_LOWERS_PER_OVERLAY).div_ceil(MAX_LOWERS_PER_OVERLAY - 1);
    if bottom_overlays > MAX_LOWERS_PER_OVERLAY {
        return Err(too_deep(total, "more than 500 x 500 layers cannot be stacked"));
    }
    let direct = MAX_LOWERS_PER_OVERLAY - bottom_overlays;
    let (top, bottom) = spec.lowers.split_at(direct);

    fs::create_dir_all(scratch)
        .map_err(|e| Error::io(format_args!("creating {}", scratch.display()), e))?;
    let mut made: Vec<PathBuf> = Vec::new();
    let result = (|| {
        let mut lowers = top.to_vec();
        let chunk_len = bottom.len().div_ceil(bottom_overlays);
        for (n, chunk) in bottom.chunks(chunk_len).enumerate() {
            if chunk.len() == 1 {
                // An overlay needs two lowers when it has no upper; a single one is used as is.
                lowers.push(chunk[0].clone());
                continue;
            }
            let dir = scratch.join(format!("stack-{n}"));
            fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format_args!("creating {}", dir.display()), e))?;
            made.push(dir.clone());
            let part = OverlaySpec {
                lowers: chunk.to_vec(),
                upper: None,
                flags: MountFlags::read_only(),
                label: spec.label.clone(),
            };
            mount_overlay(api, &part, &dir, home)?;
            lowers.push(dir.to_string_lossy().into_owned());
        }
        let full = OverlaySpec { lowers, ..spec.clone() };
        mount_overlay(api, &full, target, home)
    })();
    for dir in &made {
        let _ = unmount(dir, true);
        let _ = fs::remove_dir(dir);
    }
    // Only when nothing else (a mount being set up by the caller) is in it.
    let _ = fs::remove_dir(scratch);
    result
}

fn too_deep(lowers: usize, why: &str) -> Error {
    Error::new(
        ErrorKind::MaxDepthExceeded,
        format!("cannot mount a chain of {lowers} lower layers: {why}"),
    )
}

/// Detach whatever is still mounted in a layer's scratch directory (left by a crash), then
/// remove it.
pub fn clear_scratch_dir(scratch: &Path) -> Result<()> {
    let entries = match fs::read_dir(scratch) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format_args!("reading {}", scratch.display()), e)),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let _ = unmount(&path, true);
        let _ = fs::remove_dir(&path);
    }
    fs::remove_dir(scratch)
        .map_err(|e| Error::io(format_args!("removing {}", scratch.display()), e))
}

/// After the last unmount of a layer, put a fresh empty directory (`fresh`, mode 0700, owned
/// like the old one) in place of its mount point `merged` by rename(2), as c/storage 1.57 does
/// ("overlay: replace rmdir with rename", 1.53): `merged` never disappears, so a process of
/// another tool mounting the layer at the same moment always finds it. c/storage 1.43 instead
/// rmdir'ed it and re-creates it at every mount (its Get accepts an existing one), so keeping
/// it suits 1.43 too. Unlike 1.57, a failure here (`merged` not empty, say) leaves the old
/// directory in place and does not fail the unmount, which has already happened.
pub fn renew_mount_point(merged: &Path, fresh: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let owner = fs::metadata(merged)
        .map_err(|e| Error::io(format_args!("inspecting {}", merged.display()), e))?;
    match fs::DirBuilder::new().mode(0o700).create(fresh) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
            return Err(Error::io(format_args!("creating {}", fresh.display()), e))
        }
        _ => {}
    }
    let renewed = std::os::unix::fs::lchown(fresh, Some(owner.uid()), Some(owner.gid()))
        .and_then(|()| fs::rename(fresh, merged))
        .map_err(|e| Error::io(format_args!("replacing mount point {}", merged.display()), e));
    if renewed.is_err() {
        let _ = fs::remove_dir(fresh);
    }
    renewed
}

/// An open file-system context (fsopen); closed on drop. A `File` because the kernel's
/// messages about the context are read from it.
struct FsContext {
    file: fs::File,
}

impl FsContext {
    fn open(fs_type: &str) -> io::Result<FsContext> {
        let name = CString::new(fs_type).expect("no NUL in a file system name");
        Ok(FsContext { file: sys::mount::fsopen(&name, FSOPEN_CLOEXEC)?.into() })
    }

    fn config(
        &self,
        command: libc::c_uint,
        key: Option<&CStr>,
        value: Option<&CStr>,
    ) -> io::Result<()> {
        sys::mount::fsconfig(self.file.as_fd(), command, key, value)
    }

    fn set_string(&self, key: &str, value: &str) -> io::Result<()> {
        let key = CString::new(key).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let value = CString::new(value).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        self.config(FSCONFIG_SET_STRING, Some(&key), Some(&value))
    }

    fn set_flag(&self, key: &str) -> io::Result<()> {
        let key = CString::new(key).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        self.config(FSCONFIG_SET_FLAG, Some(&key), None)
    }

    /// The kernel's messages about this context ("e overlayfs: ..."), for error reports.
    fn messages(&self) -> String {
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        for _ in 0..8 {
            let n = match (&self.file).read(&mut buf) {
                Ok(n) if n > 0 => n,
                _ => break,
            };
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out.join("; ")
    }
}

/// Build the overlay of `spec` as a mount not attached anywhere yet (fsmount).
/// Create the overlay of `spec` as a detached mount (file-system-context API only): not attached
/// anywhere until moved, and gone when the descriptor closes.
pub fn create_detached(spec: &OverlaySpec) -> Result<OwnedFd> {
    let fail = |what: &str, context: Option<&FsContext>, err: io::Error| {
        let messages = context.map(FsContext::messages).unwrap_or_default();
        let detail = if messages.is_empty() { String::new() } else { format!(" ({messages})") };
        Error::with_errno(
            ErrorKind::Mount,
            err.raw_os_error().unwrap_or(0),
            format!("overlay mount: {what}: {err}{detail}"),
        )
    };
    let context = FsContext::open("overlay").map_err(|e| fail("fsopen", None, e))?;
    let c = &context;
    // The source mount(2) users see in mountinfo for c/storage's mounts.
    c.set_string("source", "overlay").map_err(|e| fail("source", Some(c), e))?;
    for lower in &spec.lowers {
        c.set_string("lowerdir+", lower)
            .map_err(|e| fail(&format!("lower directory {lower}"), Some(c), e))?;
    }
    if let Some((upper, work)) = &spec.upper {
        c.set_string("upperdir", upper)
            .map_err(|e| fail(&format!("upper directory {upper}"), Some(c), e))?;
        c.set_string("workdir", work)
            .map_err(|e| fail(&format!("work directory {work}"), Some(c), e))?;
    }
    for option in &spec.flags.data {
        let result = match option.split_once('=') {
            Some((key, value)) => c.set_string(key, value),
            None => c.set_flag(option),
        };
        result.map_err(|e| fail(&format!("option {option:?}"), Some(c), e))?;
    }
    for flag in &spec.flags.sb_flags {
        c.set_flag(flag).map_err(|e| fail(&format!("option {flag:?}"), Some(c), e))?;
    }
    if spec.flags.read_only {
        c.set_flag("ro").map_err(|e| fail("option \"ro\"", Some(c), e))?;
    }
    if let Some(label) = &spec.label {
        c.set_string("context", label).map_err(|e| fail("SELinux context", Some(c), e))?;
    }
    c.config(FSCONFIG_CMD_CREATE, None, None)
        .map_err(|e| fail("creating the file system", Some(c), e))?;

    let mut attrs = spec.flags.attrs;
    if spec.flags.read_only {
        attrs |= MOUNT_ATTR_RDONLY;
    }
    sys::mount::fsmount(c.file.as_fd(), FSMOUNT_CLOEXEC, attrs)
        .map_err(|e| fail("fsmount", Some(c), e))
}

/// Attach a detached mount on `target`.
fn move_mount_to(mount: &OwnedFd, target: &Path) -> Result<()> {
    let target_c = cpath(target)?;
    if let Err(err) = sys::mount::move_mount(mount.as_fd(), &target_c) {
        return Err(Error::with_errno(
            ErrorKind::Mount,
            err.raw_os_error().unwrap_or(0),
            format!("attaching the overlay on {}: {err}", target.display()),
        ));
    }
    Ok(())
}

/// mount(2): absolute paths when the option string fits in a page, else paths relative to
/// `home` from a thread whose working directory is `home`.
fn mount_legacy(spec: &OverlaySpec, target: &Path, home: &Path) -> Result<()> {
    let limit = sys::process::page_size().unwrap_or(4096);
    let absolute = spec.legacy_data(None);
    if absolute.len() < limit {
        return mount_syscall(target, spec, &absolute, None);
    }
    let relative = spec.legacy_data(Some(home));
    if relative.len() >= limit {
        return Err(too_deep(
            spec.lowers.len(),
            &format!("the mount(2) option string needs {} bytes even with relative paths, one page is {limit}", relative.len()),
        ));
    }
    let relative_target = target.strip_prefix(home).unwrap_or(target).to_path_buf();
    mount_syscall(&relative_target, spec, &relative, Some(home))
}

fn mount_syscall(target: &Path, spec: &OverlaySpec, data: &str, cwd: Option<&Path>) -> Result<()> {
    let target_c = cpath(target)?;
    let data_c =
        CString::new(data).map_err(|_| Error::invalid("mount options contain a NUL byte"))?;
    let mut flags = spec.flags.ms_flags;
    if spec.flags.read_only {
        flags |= libc::MS_RDONLY;
    }
    let do_mount = || -> io::Result<()> {
        sys::mount::mount(c"overlay", &target_c, c"overlay", flags, Some(&data_c))
    };
    let result = match cwd {
        None => do_mount(),
        Some(dir) => run_in_directory(dir, do_mount),
    };
    result.map_err(|err| {
        Error::with_errno(
            ErrorKind::Mount,
            err.raw_os_error().unwrap_or(0),
            format!("creating overlay mount to {}, mount_data={data:?}: {err}", target.display()),
        )
    })
}

/// Run `f` on a helper thread whose working directory is `dir`. The thread stops sharing
/// its file-system attributes with the process first (unshare(CLONE_FS)), so the chdir
/// cannot move any other thread's working directory.
fn run_in_directory<F: FnOnce() -> io::Result<()> + Send>(dir: &Path, f: F) -> io::Result<()> {
    let dir_c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                sys::process::unshare_file_system_attributes()?;
                // Only this thread's working directory changes.
                sys::process::chdir(&dir_c)?;
                f()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("mount helper thread panicked")))
    })
}

/// Unmount `path`, lazily (MNT_DETACH) like c/storage when `detach`. Returns whether
/// something was unmounted; a path that is not a mount point (or does not exist) is not an
/// error.
pub fn unmount(path: &Path, detach: bool) -> Result<bool> {
    let c = cpath(path)?;
    let flags = if detach { libc::MNT_DETACH } else { 0 };
    let Err(err) = sys::mount::umount2(&c, flags) else { return Ok(true) };
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOENT) => Ok(false),
        _ => Err(Error::with_errno(
            ErrorKind::Mount,
            err.raw_os_error().unwrap_or(0),
            format!("unmounting {}: {err}", path.display()),
        )),
    }
}

/// Whether `path` is the root of a mount (as the topmost mount there), by statx's
/// STATX_ATTR_MOUNT_ROOT; kernels that do not report it are answered from mountinfo.
pub fn is_mount_point(path: &Path) -> bool {
    let Ok(c) = cpath(path) else { return false };
    let Ok(stx) = sys::fs::statx(&c, libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT, 0) else {
        return false;
    };
    let mount_root = libc::STATX_ATTR_MOUNT_ROOT as u64;
    if stx.stx_attributes_mask & mount_root != 0 {
        return stx.stx_attributes & mount_root != 0;
    }
    mount_points().iter().any(|p| p == path)
}

/// Make `dir` a mount point of its own with private propagation: bind it onto itself unless
/// it already is a mount point, then mark it MS_PRIVATE (c/storage's mount.MakePrivate).
pub fn make_private_mount(dir: &Path) -> Result<()> {
    let c = cpath(dir)?;
    let fail = |what: &str, err: io::Error| {
        Error::with_errno(
            ErrorKind::Mount,
            err.raw_os_error().unwrap_or(0),
            format!("{what} {}: {err}", dir.display()),
        )
    };
    if !is_mount_point(dir) {
        // The kernel ignores the type of a bind mount; "none" rather than NULL keeps checkers
        // such as valgrind quiet.
        sys::mount::mount(&c, &c, c"none", libc::MS_BIND, None)
            .map_err(|e| fail("bind-mounting onto itself", e))?;
    }
    // Changing propagation ignores source, type and data.
    sys::mount::mount(c"none", &c, c"none", libc::MS_PRIVATE, None)
        .map_err(|e| fail("making mount private", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_split_into_mount_flags_superblock_flags_and_data() {
        let f = MountFlags::parse(&strings(&[
            "nodev",
            "ro",
            "metacopy=on",
            "",
            "volatile",
            "sync",
            "nosuid",
            "suid",
        ]))
        .unwrap();
        assert!(f.read_only);
        assert_eq!(f.ms_flags, libc::MS_NODEV | libc::MS_SYNCHRONOUS);
        assert_eq!(f.attrs, crate::sys::mount::MOUNT_ATTR_NODEV);
        assert_eq!(f.sb_flags, vec!["sync"]);
        assert_eq!(f.data, strings(&["metacopy=on", "volatile"]));
        assert_eq!(
            MountFlags::parse(&strings(&["bind"])).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn legacy_data_is_c_storage_mount_data() {
        let spec = OverlaySpec {
            lowers: strings(&["/g/overlay/l/A", "/g/overlay/l/B"]),
            upper: Some(("/g/overlay/x/diff".into(), "/g/overlay/x/work".into())),
            flags: MountFlags::parse(&strings(&["nodev", "metacopy=on"])).unwrap(),
            label: Some("system_u:object_r:container_file_t:s0".into()),
        };
        assert_eq!(
            spec.legacy_data(None),
            "lowerdir=/g/overlay/l/A:/g/overlay/l/B,upperdir=/g/overlay/x/diff,workdir=/g/overlay/x/work,metacopy=on,\
             context=\"system_u:object_r:container_file_t:s0\""
        );
        assert!(spec
            .legacy_data(Some(Path::new("/g/overlay")))
            .starts_with("lowerdir=l/A:l/B,upperdir=x/diff,workdir=x/work,"));
    }
}
