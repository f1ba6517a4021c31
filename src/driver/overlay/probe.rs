//! What the kernel and the backing file system support for overlay, found out by mounting
//! tiny overlays in temporary directories under the driver home (so the answer is about the
//! file system the layers will live on), and cached in R/overlay the way c/storage caches it
//! (`overlay-true`, `metacopy(<mountopt>)-false`, `native-diff(<mountopt>)-true`; an empty file
//! or the error text). Go and libcstorage read each other's answers, and later opens mount
//! nothing.

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::idmapped::{bind_idmapped, UserNamespace};
use super::mount::{mount_overlay, unmount, MountApi, MountFlags, OverlaySpec};
use crate::driver::copy::cpath;
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::fs_tree::remove_tree;
use crate::idmap::IdMap;
use crate::sys;
use crate::xattr;

/// R/overlay: one file per probed feature, named `<feature>-true` or `<feature>-false`.
pub struct FeatureCache {
    dir: PathBuf,
}

impl FeatureCache {
    pub fn new(dir: PathBuf) -> Self {
        FeatureCache { dir }
    }

    /// The cached answer and its text (an error message for a failed probe), if any.
    pub fn get(&self, feature: &str) -> Option<(bool, String)> {
        for answer in [true, false] {
            if let Ok(text) = fs::read_to_string(self.dir.join(format!("{feature}-{answer}"))) {
                return Some((answer, text));
            }
        }
        None
    }

    /// The answer for `feature`, found once per driver (kept in `cell`): the cached one, else
    /// `probe`'s, which is then cached (a failure to cache only costs a probe next time).
    pub fn answer_once(
        &self,
        cell: &std::sync::OnceLock<bool>,
        feature: &str,
        probe: impl FnOnce() -> bool,
    ) -> bool {
        *cell.get_or_init(|| {
            if let Some((answer, _)) = self.get(feature) {
                return answer;
            }
            let answer = probe();
            let _ = self.record(feature, answer, "");
            answer
        })
    }

    pub fn record(&self, feature: &str, answer: bool, text: &str) -> Result<()> {
        let path = self.dir.join(format!("{feature}-{answer}"));
        fs::write(&path, text).ctx(format_args!("recording overlay feature {}", path.display()))
    }
}

/// c/storage's names of backing file systems (graphdriver.FsNames), by statfs magic.
const FS_NAMES: &[(i64, &str)] = &[
    (0x6175_6673, "aufs"),
    (0x9123_683E, "btrfs"),
    (0x28cd_3d45, "cramfs"),
    (0xF15F, "ecryptfs"),
    (0xE0F5_E1E2, "erofs"),
    (0xEF53, "extfs"),
    (0xF2F5_2010, "f2fs"),
    (0x6573_5546, "fuse"),
    (0x4750_4653, "gpfs"),
    (0x72b6, "jffs2"),
    (0x3153_464a, "jfs"),
    (0x6969, "nfs"),
    (0x794C_7630, "overlayfs"),
    (0x8584_58f6, "ramfs"),
    (0x5265_4973, "reiserfs"),
    (0x517B, "smb"),
    (0x7371_7368, "squashfs"),
    (0x0102_1994, "tmpfs"),
    (0xa501_fcf5, "vxfs"),
    (0x5846_5342, "xfs"),
    (0x2fc1_2fc1, "zfs"),
];

/// File systems that cannot hold overlay layers without a FUSE mount program.
const UNUSABLE_BACKING: &[&str] = &["aufs", "overlayfs", "ecryptfs"];

/// The name c/storage gives the file system holding `dir` ("extfs" for ext2/3/4), or an
/// error when overlay cannot use it.
pub fn backing_fs(dir: &Path) -> Result<String> {
    let c = cpath(dir)?;
    let buf = sys::fs::statfs(&c).ctx(format_args!("statfs {}", dir.display()))?;
    let magic = buf.f_type as i64 & 0xffff_ffff;
    let name = FS_NAMES.iter().find(|(m, _)| *m == magic).map(|(_, n)| *n).ok_or_else(|| {
        Error::new(
            ErrorKind::NotSupported,
            format!(
                "filesystem type {magic:#x} reported for {} is not supported with 'overlay'",
                dir.display()
            ),
        )
    })?;
    if UNUSABLE_BACKING.contains(&name) {
        return Err(Error::new(
            ErrorKind::NotSupported,
            format!("'overlay' is not supported over {name}, a mount_program is required"),
        ));
    }
    Ok(name.to_string())
}

/// Whether SELinux is on (its file system is mounted), so mount labels must be passed.
pub fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// A directory under `home` removed (with anything mounted in it) when dropped.
struct ProbeDir {
    path: PathBuf,
    mounts: Vec<PathBuf>,
}

impl ProbeDir {
    fn new(home: &Path, prefix: &str) -> Result<ProbeDir> {
        let mut bytes = [0u8; 5];
        crate::ids::random_bytes(&mut bytes);
        let path = home.join(format!(
            "{prefix}{}",
            u64::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], 0, 0, 0])
        ));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .ctx(format_args!("creating {}", path.display()))?;
        Ok(ProbeDir { path, mounts: Vec::new() })
    }

    fn dir(&self, name: &str) -> Result<PathBuf> {
        let p = self.path.join(name);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&p)
            .ctx(format_args!("creating {}", p.display()))?;
        Ok(p)
    }

    fn mount(&mut self, api: MountApi, spec: &OverlaySpec, target: &Path) -> Result<()> {
        mount_overlay(api, spec, target, &self.path)?;
        self.mounts.push(target.to_path_buf());
        Ok(())
    }
}

impl Drop for ProbeDir {
    fn drop(&mut self) {
        for m in self.mounts.iter().rev() {
            let _ = unmount(m, true);
        }
        let _ = remove_tree(&self.path);
    }
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Can an overlay with two lowers, an upper and a kernel-style whiteout be mounted on this
/// file system? Answers whether the file system reports d_type (overlay needs it), or the
/// reason overlay cannot be used.
pub fn probe_overlay(home: &Path, api: MountApi) -> Result<bool, String> {
    let run = || -> Result<bool> {
        let mut probe = ProbeDir::new(home, "compat")?;
        if !supports_d_type(&probe.path)? {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "the backing file system does not report d_type",
            ));
        }
        let (lower1, lower2, upper, work, merged) = (
            probe.dir("lower1")?,
            probe.dir("lower2")?,
            probe.dir("upper")?,
            probe.dir("work")?,
            probe.dir("merged")?,
        );
        let whiteout = cpath(&upper.join("whiteout"))?;
        // A 0/0 character device is overlay's whiteout.
        sys::fs::mknod(&whiteout, libc::S_IFCHR | 0o600, libc::makedev(0, 0))
            .ctx("creating a kernel-style whiteout")?;
        let spec = OverlaySpec {
            lowers: vec![text(&lower1), text(&lower2)],
            upper: Some((text(&upper), text(&work))),
            flags: MountFlags::default(),
            label: None,
        };
        probe.mount(api, &spec, &merged)?;
        Ok(true)
    };
    run().map_err(|e| format!("kernel does not support overlay fs: {e}"))
}

/// Can overlay take a lower directory through an ID-mapped mount (so containers with their own
/// ID maps can share unshifted layers)? Any failure means no.
pub fn probe_idmapped_lowers(home: &Path, api: MountApi) -> bool {
    let run = || -> Result<()> {
        let mut probe = ProbeDir::new(home, "compat")?;
        let (lower, mapped, upper, work, merged) = (
            probe.dir("lower")?,
            probe.dir("lower-mapped")?,
            probe.dir("upper")?,
            probe.dir("work")?,
            probe.dir("merged")?,
        );
        let identity = [IdMap { container_id: 0, host_id: 0, size: 1 }];
        let userns = UserNamespace::new(&identity, &identity)?;
        bind_idmapped(&lower, &mapped, &userns)?;
        probe.mounts.push(mapped.clone());
        let spec = OverlaySpec {
            lowers: vec![text(&mapped)],
            upper: Some((text(&upper), text(&work))),
            flags: MountFlags::default(),
            label: None,
        };
        probe.mount(api, &spec, &merged)
    };
    run().is_ok()
}

/// Does overlay take the "volatile" option (Linux 5.10+: no syncs of the upper directory)?
/// c/storage 1.57 mounts volatile containers with it where it works, and caches the answer
/// as `volatile-true` / `volatile-false`. Any failure means no.
pub fn probe_volatile(home: &Path, api: MountApi) -> bool {
    let run = || -> Result<()> {
        let mut probe = ProbeDir::new(home, "volatile-check")?;
        let (lower, upper, work, merged) =
            (probe.dir("lower")?, probe.dir("upper")?, probe.dir("work")?, probe.dir("merged")?);
        let flags = MountFlags::parse(&["volatile".to_string()])?;
        let spec = OverlaySpec {
            lowers: vec![text(&lower)],
            upper: Some((text(&upper), text(&work))),
            flags,
            label: None,
        };
        probe.mount(api, &spec, &merged)
    };
    run().is_ok()
}

/// Does the kernel copy up only metadata on chmod (metacopy) with these mount options?
pub fn probe_metacopy(home: &Path, api: MountApi, mount_options: &[String]) -> Result<bool> {
    let mut probe = ProbeDir::new(home, "metacopy-check")?;
    let (lower, upper, work, merged) =
        (probe.dir("l1")?, probe.dir("l2")?, probe.dir("work")?, probe.dir("merged")?);
    fs::write(lower.join("f"), [0xff]).ctx("writing the metacopy probe file")?;
    fs::set_permissions(lower.join("f"), fs::Permissions::from_mode(0o700))
        .ctx("chmod of the metacopy probe file")?;
    let mut flags = MountFlags::parse(mount_options)?;
    flags.read_only = false;
    let spec = OverlaySpec {
        lowers: vec![text(&lower)],
        upper: Some((text(&upper), text(&work))),
        flags,
        label: None,
    };
    match probe.mount(api, &spec, &merged) {
        Ok(()) => {}
        Err(e) if e.errno() == libc::EINVAL => return Ok(false),
        Err(e) => return Err(e.context("mounting overlay for the metacopy check")),
    }
    fs::set_permissions(merged.join("f"), fs::Permissions::from_mode(0o600))
        .ctx("chmod in the metacopy probe")?;
    xattr::get(&upper.join("f"), c"trusted.overlay.metacopy")
        .map(|value| value.is_some())
        .map_err(|e| Error::io("reading the metacopy xattr", e))
}

/// Can the upper directory be exported as a diff as is? Not when the kernel copies the opaque
/// flag up with a directory (old kernels) or records renamed directories as redirects
/// (redirect_dir). Ok, or the reason naive diffs must be used.
pub fn probe_native_diff(
    home: &Path,
    api: MountApi,
    mount_options: &[String],
) -> Result<(), String> {
    let run = || -> Result<Option<String>> {
        let mut probe = ProbeDir::new(home, "opaque-bug-check")?;
        let (l1, l2, l3, work, merged) = (
            probe.dir("l1")?,
            probe.dir("l2")?,
            probe.dir("l3")?,
            probe.dir("work")?,
            probe.dir("merged")?,
        );
        for d in [l1.join("d"), l1.join("d1"), l2.join("d")] {
            fs::create_dir(&d).ctx(format_args!("creating {}", d.display()))?;
        }
        let opaque = CString::new("trusted.overlay.opaque").expect("no NUL");
        let l2d = cpath(&l2.join("d"))?;
        sys::xattr::lsetxattr(&l2d, &opaque, b"y")
            .ctx("failed to set opaque flag on middle layer")?;
        let mut flags = MountFlags::parse(mount_options)?;
        flags.read_only = false;
        let spec = OverlaySpec {
            lowers: vec![text(&l2), text(&l1)],
            upper: Some((text(&l3), text(&work))),
            flags,
            label: None,
        };
        probe.mount(api, &spec, &merged)?;
        fs::write(merged.join("d").join("f"), b"").ctx("failed to write to merged directory")?;
        if let Ok(Some(value)) = xattr::get(&l3.join("d"), &opaque) {
            if value == b"y" {
                return Ok(Some("opaque flag erroneously copied up, consider update to kernel 4.8 or later to fix".into()));
            }
        }
        match fs::rename(merged.join("d1"), merged.join("d2")) {
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => return Ok(None),
            Err(e) => return Err(Error::io("failed to rename dir in merged directory", e)),
            Ok(()) => {}
        }
        let redirect = CString::new("trusted.overlay.redirect").expect("no NUL");
        if let Ok(Some(value)) = xattr::get(&l3.join("d2"), &redirect) {
            if value == b"d1" {
                return Ok(Some("kernel has CONFIG_OVERLAY_FS_REDIRECT_DIR enabled".into()));
            }
        }
        Ok(None)
    };
    match run() {
        Ok(None) => Ok(()),
        Ok(Some(reason)) => Err(reason),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether reading `dir` reports entry types (d_type), which overlay relies on.
fn supports_d_type(dir: &Path) -> Result<bool> {
    let file = dir.join("d_type-probe");
    fs::write(&file, b"").ctx(format_args!("creating {}", file.display()))?;
    let c = cpath(dir)?;
    let mut stream = sys::fs::open(&c, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .and_then(sys::fs::DirStream::from_fd)
        .ctx(format_args!("opening {}", dir.display()))?;
    let mut found = None;
    // An error reading the directory ends the search, like its end.
    while let Ok(Some((name, d_type))) = stream.next_entry() {
        if name.to_bytes() == b"d_type-probe" {
            found = Some(d_type != libc::DT_UNKNOWN);
            break;
        }
    }
    drop(stream);
    let _ = fs::remove_file(&file);
    Ok(found.unwrap_or(false))
}
