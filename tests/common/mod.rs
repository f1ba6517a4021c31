//! Helpers shared by the integration tests: a throwaway store under the system temp directory,
//! never the machine's real /var/lib/containers.
#![allow(dead_code)]

pub mod go_tar;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use cstorage::{Store, StoreOptions};

pub struct TempStore {
    pub dir: PathBuf,
}

impl TempStore {
    pub fn new(tag: &str) -> Self {
        let mut bytes = [0u8; 6];
        cstorage::ids::random_bytes(&mut bytes);
        let dir =
            std::env::temp_dir().join(format!("cs-test-{tag}-{}", cstorage::ids::to_hex(&bytes)));
        std::fs::create_dir_all(&dir).unwrap();
        TempStore { dir }
    }

    pub fn graph(&self) -> PathBuf {
        self.dir.join("graph")
    }

    pub fn run(&self) -> PathBuf {
        self.dir.join("run")
    }

    pub fn options(&self, driver: &str) -> StoreOptions {
        StoreOptions {
            graph_root: Some(self.graph()),
            run_root: Some(self.run()),
            driver: Some(driver.to_string()),
            ..Default::default()
        }
    }

    pub fn open(&self) -> Store {
        Store::open(&self.options("vfs")).expect("open store")
    }

    /// Run Debian's containers-storage CLI (Go c/storage 1.43) on this store, vfs driver.
    pub fn go(&self, args: &[&str]) -> std::process::Output {
        self.go_with_driver("vfs", args)
    }

    /// The CLI's stdout, asserting success (vfs driver).
    pub fn go_ok(&self, args: &[&str]) -> String {
        stdout_of_success(args, self.go(args))
    }

    pub fn go_with_driver(&self, driver: &str, args: &[&str]) -> std::process::Output {
        go_cli(&self.graph(), &self.run(), driver, &[], args)
    }
}

/// Run Debian's containers-storage CLI (Go c/storage 1.43) on the store at `graph` and `run`
/// (never the machine's own) with `driver` and `--storage-opt`s.
pub fn go_cli(
    graph: &Path,
    run: &Path,
    driver: &str,
    storage_opts: &[String],
    args: &[&str],
) -> std::process::Output {
    let mut cmd = Command::new("containers-storage");
    cmd.arg("--graph").arg(graph).arg("--run").arg(run).arg("--storage-driver").arg(driver);
    for opt in storage_opts {
        cmd.arg("--storage-opt").arg(opt);
    }
    cmd.args(args);
    cmd.output().expect("run containers-storage (is it installed? .ci/run installs it)")
}

/// A CLI run's stdout, after asserting that it succeeded.
pub fn stdout_of_success(args: &[&str], out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "containers-storage {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = Command::new("rm").arg("-rf").arg(&self.dir).status();
    }
}

/// Every file under `root`, relative, sorted: to compare trees.
pub fn list_tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if p.symlink_metadata().unwrap().is_dir() {
                walk(root, &p, out);
            }
        }
    }
    walk(root, root, &mut out);
    out
}

/// Everything about every entry under `root` that a writer could change, one line each, sorted:
/// path, type, mode, owner, size, mtime, and a file's bytes or a symlink's target. Two equal
/// snapshots mean nothing under `root` was created, removed or changed.
pub fn snapshot_tree(root: &Path) -> Vec<String> {
    list_tree(root)
        .into_iter()
        .map(|rel| {
            let path = root.join(&rel);
            let m = fs::symlink_metadata(&path).unwrap();
            let content = if m.file_type().is_symlink() {
                fs::read_link(&path).unwrap().display().to_string()
            } else if m.is_file() {
                format!("{:?}", fs::read(&path).unwrap())
            } else {
                String::new()
            };
            format!(
                "{rel} {:o} {}:{} {} {}.{} {content}",
                m.mode(),
                m.uid(),
                m.gid(),
                m.size(),
                m.mtime(),
                m.mtime_nsec()
            )
        })
        .collect()
}

pub fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// The "id" of a record the Go CLI printed with -j.
pub fn id_of(output: &str) -> String {
    json(output)["id"].as_str().unwrap().to_string()
}

/// A tar with the given entries: (path, Some(content)) files, (path, None) directories.
pub fn tar_of(dir: &Path, name: &str, entries: &[(&str, Option<&str>)]) -> PathBuf {
    let path = dir.join(name);
    let mut builder = tar::Builder::new(fs::File::create(&path).unwrap());
    for (entry, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(1_700_000_000);
        match content {
            Some(data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, entry, data.as_bytes()).unwrap();
            }
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, entry, &[][..]).unwrap();
            }
        }
    }
    builder.finish().unwrap();
    path
}

pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A container's writes for export tests, made under `root` (a vfs container layer's directory
/// or an overlay container's mount): every entry type, a changed and a deleted file, a replaced
/// directory (opaque on overlay), owners with and without names on this host, setuid and
/// sticky bits, user xattrs on a file and a directory, names that need the ustar prefix, a PAX
/// path or non-ASCII bytes. Expects the image of `container_base_tar`.
pub fn write_container_changes(root: &Path) {
    let long_dir = "d".repeat(90);
    let status = Command::new("sh")
        .arg("-ec")
        .arg(format!(
            r#"cd '{root}'
            echo new > new.txt; echo changed > etc/hello.txt; rm etc/gone.txt
            rm -r opt; mkdir opt; echo fresh > opt/fresh
            mkdir -p newdir/sub; echo sub > newdir/sub/file; ln new.txt newdir/hard
            ln -s hello.txt etc/link; ln -s /etc/passwd abs-link; mkfifo fifo; mknod null c 1 3
            echo u > u1000; chown 1000:1000 u1000; echo n > nobody; chown 65534:65534 nobody
            mkdir owned; chown 65534:65534 owned; echo z > unnamed; chown 3999999:3999998 unnamed
            echo s > suid; chmod 4755 suid; mkdir sticky; chmod 1777 sticky
            echo x > xattr-file; setfattr -n user.test -v hello xattr-file; setfattr -n user.dir -v d newdir
            mkdir -p {long_dir}/{long_dir}; echo l > {long_dir}/{long_dir}/file
            mkdir -p {long_dir}/{long_dir}/{long_dir}; echo p > {long_dir}/{long_dir}/{long_dir}/deep
            echo e > "$(printf 'caf\303\251.txt')"
            "#,
            root = root.display()
        ))
        .status()
        .unwrap();
    assert!(status.success(), "writing the container's changes under {}", root.display());
}

/// The image layer `write_container_changes` expects, as a tar in `dir`.
pub fn container_base_tar(dir: &Path) -> PathBuf {
    tar_of(
        dir,
        "base.tar",
        &[
            ("etc/", None),
            ("etc/hello.txt", Some("hello\n")),
            ("etc/gone.txt", Some("deleted by the container\n")),
            ("opt/", None),
            ("opt/old", Some("hidden by the new opt\n")),
            ("keep/", None),
            ("keep/k", Some("untouched\n")),
        ],
    )
}

/// Detach every mount at or below `dir`, deepest first (mountinfo's mount point field, with
/// its octal escapes decoded), so a test's root can be removed even when a tool it ran (Go's
/// overlay driver bind-mounts its home onto itself) or a failed assertion left mounts behind.
pub fn unmount_everything_under(dir: &Path) {
    use std::os::unix::ffi::OsStringExt;
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| {
            let mut bytes = Vec::new();
            let mut rest = field.as_bytes();
            while let Some((&b, tail)) = rest.split_first() {
                match (b, tail.get(..3).and_then(|o| std::str::from_utf8(o).ok())) {
                    (b'\\', Some(octal)) if u8::from_str_radix(octal, 8).is_ok() => {
                        bytes.push(u8::from_str_radix(octal, 8).unwrap());
                        rest = &tail[3..];
                    }
                    _ => {
                        bytes.push(b);
                        rest = tail;
                    }
                }
            }
            PathBuf::from(std::ffi::OsString::from_vec(bytes))
        })
        .filter(|point| point.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for point in points {
        let c = std::ffi::CString::new(point.into_os_string().into_vec()).unwrap();
        // SAFETY: `c` is a NUL-terminated path that lives across the call.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}
