//! Building OCI image layouts for the image import/export tests, by hand (so that each field,
//! digest and size can be made wrong on purpose) from real tars: the host's static busybox and
//! its applet links as the base layer, small file layers on top.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The static busybox the base layer carries (Debian's busybox-static, which the install script
/// installs); podman runs `sh`, `echo`, `cat` from it.
pub const BUSYBOX: &str = "/bin/busybox";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Comp {
    None,
    Gzip,
    Zstd,
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// c/image's layer ID: the base's is its DiffID's hex, the next sha256("<parent>+<DiffID hex>").
pub fn c_image_layer_ids(diff_ids: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for diff in diff_ids {
        let hex_part = &diff["sha256:".len()..];
        let id = match ids.last() {
            None => hex_part.to_string(),
            Some(parent) => {
                sha256(format!("{parent}+{hex_part}").as_bytes())["sha256:".len()..].to_string()
            }
        };
        ids.push(id);
    }
    ids
}

/// A tar of the host's busybox as /bin/busybox with links for a few applets.
pub fn busybox_tar() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    dir.set_mtime(1_700_000_000);
    builder.append_data(&mut dir, "bin/", std::io::empty()).unwrap();
    let data = fs::read(BUSYBOX)
        .unwrap_or_else(|e| panic!("reading {BUSYBOX} (install busybox-static): {e}"));
    let mut file = tar::Header::new_gnu();
    file.set_mode(0o755);
    file.set_size(data.len() as u64);
    file.set_mtime(1_700_000_000);
    builder.append_data(&mut file, "bin/busybox", data.as_slice()).unwrap();
    for applet in ["sh", "echo", "cat", "ls", "true"] {
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_mode(0o777);
        link.set_size(0);
        link.set_mtime(1_700_000_000);
        builder.append_link(&mut link, format!("bin/{applet}"), "busybox").unwrap();
    }
    builder.into_inner().unwrap()
}

/// A tar holding one file `etc/<name>` with `content`.
pub fn file_tar(name: &str, content: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut file = tar::Header::new_gnu();
    file.set_mode(0o644);
    file.set_size(content.len() as u64);
    file.set_mtime(1_700_000_000);
    builder.append_data(&mut file, format!("etc/{name}"), content.as_bytes()).unwrap();
    builder.into_inner().unwrap()
}

pub fn compress(tar: &[u8], comp: Comp) -> Vec<u8> {
    match comp {
        Comp::None => tar.to_vec(),
        Comp::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(tar).unwrap();
            gz.finish().unwrap()
        }
        Comp::Zstd => zstd::encode_all(tar, 3).unwrap(),
    }
}

fn layer_media_type(comp: Comp) -> &'static str {
    match comp {
        Comp::None => "application/vnd.oci.image.layer.v1.tar",
        Comp::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Comp::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// An image written into a layout: what its documents and blobs are.
#[derive(Clone, Debug)]
pub struct Built {
    pub manifest: Value,
    pub manifest_bytes: Vec<u8>,
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digests: Vec<String>,
    pub diff_ids: Vec<String>,
}

impl Built {
    pub fn image_id(&self) -> String {
        self.config_digest["sha256:".len()..].to_string()
    }

    pub fn layer_ids(&self) -> Vec<String> {
        c_image_layer_ids(&self.diff_ids)
    }

    /// index.json's entry for this manifest under `tag`.
    pub fn entry(&self, tag: Option<&str>) -> Value {
        let mut entry = json!({ "mediaType": OCI_MANIFEST, "digest": self.manifest_digest, "size": self.manifest_bytes.len() });
        if let Some(tag) = tag {
            entry["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
        }
        entry
    }
}

/// A layout directory being filled.
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn new(dir: &Path) -> Layout {
        fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Layout { dir: dir.to_path_buf() }
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir.join("blobs/sha256").join(&digest["sha256:".len()..])
    }

    pub fn put_blob(&self, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        fs::write(self.blob_path(&digest), bytes).unwrap();
        digest
    }

    /// Write an image of `layers` (tar, compression), its config created at `created` for
    /// `arch`, and its manifest; index.json is left to `set_index`.
    pub fn image(&self, layers: &[(Vec<u8>, Comp)], created: &str, arch: &str) -> Built {
        let mut descriptors = Vec::new();
        let mut diff_ids = Vec::new();
        let mut layer_digests = Vec::new();
        for (tar, comp) in layers {
            let blob = compress(tar, *comp);
            let digest = self.put_blob(&blob);
            descriptors.push(json!({ "mediaType": layer_media_type(*comp), "digest": digest, "size": blob.len() }));
            diff_ids.push(sha256(tar));
            layer_digests.push(digest);
        }
        let config = json!({
            "created": created,
            "architecture": arch,
            "os": "linux",
            "config": { "Cmd": ["/bin/sh"], "Env": ["PATH=/bin"] },
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
            "history": [{ "created": created, "created_by": "libcstorage tests" }],
        });
        let config_bytes = serde_json::to_vec(&config).unwrap();
        let config_digest = self.put_blob(&config_bytes);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_bytes.len() },
            "layers": descriptors,
        });
        self.put_manifest(manifest, config_digest, layer_digests, diff_ids)
    }

    /// Store `manifest` as a blob (after a test changed it).
    pub fn put_manifest(
        &self,
        manifest: Value,
        config_digest: String,
        layer_digests: Vec<String>,
        diff_ids: Vec<String>,
    ) -> Built {
        let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
        let manifest_digest = self.put_blob(&manifest_bytes);
        Built { manifest, manifest_bytes, manifest_digest, config_digest, layer_digests, diff_ids }
    }

    /// Write an image index of `images` with their platforms; returns its (digest, size).
    pub fn put_index(&self, images: &[(&Built, &str)]) -> (String, usize) {
        let manifests: Vec<Value> = images
            .iter()
            .map(|(built, arch)| {
                let mut entry = built.entry(None);
                entry["platform"] = json!({ "os": "linux", "architecture": arch });
                entry
            })
            .collect();
        let bytes = serde_json::to_vec(
            &json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests }),
        )
        .unwrap();
        (self.put_blob(&bytes), bytes.len())
    }

    pub fn set_index(&self, entries: Vec<Value>) {
        fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&json!({ "schemaVersion": 2, "manifests": entries })).unwrap(),
        )
        .unwrap();
    }

    /// The usual test image: busybox (gzip) and a file layer (zstd), tagged `tag`.
    pub fn busybox_image(dir: &Path, tag: &str) -> (Layout, Built) {
        let layout = Layout::new(dir);
        let built = layout.image(
            &[
                (busybox_tar(), Comp::Gzip),
                (file_tar("greeting", "hello from an OCI layout\n"), Comp::Zstd),
            ],
            "2024-03-04T05:06:07Z",
            host_arch(),
        );
        layout.set_index(vec![built.entry(Some(tag))]);
        (layout, built)
    }
}

/// Go's name of this machine's architecture.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// Run skopeo or podman with private, empty /var/lib and /run (a mount namespace of their own),
/// so that their blob-info cache, libpod and runc state never land in the machine's
/// /var/lib/containers or /run; the stores they work on are named on the command line.
pub fn private_tool(program: &str, args: &[&str]) -> std::process::Output {
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs tmpfs /var/lib && mount -t tmpfs tmpfs /run && exec \"$@\"")
        .arg("sh")
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

/// `private_tool`, asserting success; its stdout.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let out = private_tool(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The containers-storage transport reference of a store for c/image tools.
pub fn storage_ref(driver: &str, graph: &Path, run: &Path, name: &str) -> String {
    format!("containers-storage:[{driver}@{}+{}]{name}", graph.display(), run.display())
}

/// Host skopeo (1.9, c/image 5.23) without a signature policy file.
pub fn skopeo(args: &[&str]) -> String {
    let mut full = vec!["--insecure-policy"];
    full.extend_from_slice(args);
    run_ok("skopeo", &full)
}

/// Host podman (4.3) on the store at `graph`/`run` with what this machine needs (runc, no
/// systemd, no journal).
pub fn podman(driver: &str, graph: &Path, run: &Path, args: &[&str]) -> String {
    let (graph, run) = (graph.display().to_string(), run.display().to_string());
    let mut full =
        vec!["--root", &graph, "--runroot", &run, "--storage-driver", driver, "--runtime", "runc"];
    full.extend_from_slice(&["--cgroup-manager", "cgroupfs", "--events-backend", "none"]);
    full.extend_from_slice(args);
    run_ok("podman", &full)
}

/// Flags `podman run` needs here: no network, no pull, limits the sandbox allows.
pub const PODMAN_RUN: &[&str] = &[
    "run",
    "--rm",
    "--network",
    "none",
    "--pull",
    "never",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];
