//! Images imported from OCI layouts by us, used by Debian 13's podman 5 and skopeo 1.18
//! (c/image 5.34) in the trixie chroot: the records are the ones skopeo makes, podman lists and
//! runs the image on vfs and overlay, and skopeo reuses every layer of our import.

mod common;
mod oci_common;
mod trixie_common;

use std::path::Path;

use oci_common::Layout;
use trixie_common::{records, Trixie};

const NAME: &str = "localhost/oci-busybox:v1";

/// Image records as compared: everything but nothing (they must be equal as written).
fn images(path: &Path) -> Vec<serde_json::Value> {
    records(&path.join("images.json"))
}

/// Layer records without their creation time.
fn layers(path: &Path) -> Vec<serde_json::Value> {
    let mut layers = records(&path.join("layers.json"));
    for layer in &mut layers {
        layer.as_object_mut().unwrap().remove("created");
    }
    layers
}

fn check_driver(driver: &'static str) {
    let t = Trixie::start(&format!("oci-{driver}"));
    let layout_dir = t.dir().join("layout");
    let (_, built) = Layout::busybox_image(&layout_dir, "v1");
    let layout_ref = format!("{}:v1", layout_dir.display());
    let store = t.store(driver);

    let out = store.ours(&["import-oci", &layout_ref, "-n", NAME]);
    assert_eq!(out.ok().lines().next().unwrap(), built.image_id());

    // skopeo 1.18 into a store of its own: the same image and layer records.
    let theirs = t.dir().join("theirs");
    let dest = format!(
        "containers-storage:[{driver}@{}/g+{}/r]{NAME}",
        theirs.display(),
        theirs.display()
    );
    t.exec(&["skopeo", "--insecure-policy", "copy", "-q", &format!("oci:{layout_ref}"), &dest])
        .ok();
    let ours_dir = t.graph();
    assert_eq!(
        images(&ours_dir.join(format!("{driver}-images"))),
        images(&theirs.join(format!("g/{driver}-images")))
    );
    assert_eq!(
        layers(&ours_dir.join(format!("{driver}-layers"))),
        layers(&theirs.join(format!("g/{driver}-layers")))
    );

    let listed = store.podman(&[
        "images",
        "--format",
        "{{.ID}} {{.Digest}} {{.CreatedAt}} {{.Repository}}:{{.Tag}}",
    ]);
    assert_eq!(
        listed.ok(),
        format!(
            "{} {} 2024-03-04 05:06:07 +0000 UTC {NAME}\n",
            &built.image_id()[..12],
            built.manifest_digest
        )
    );
    let run = store.podman_container("run", &["--rm", NAME, "cat", "/etc/greeting"]);
    assert_eq!(run.ok(), "hello from an OCI layout\n");

    // skopeo into our store reuses every layer.
    let before = records(&ours_dir.join(format!("{driver}-layers/layers.json")));
    let into_ours = format!(
        "containers-storage:[{driver}@{}+{}]localhost/again:v1",
        ours_dir.display(),
        t.run_root().display()
    );
    t.exec(&[
        "skopeo",
        "--insecure-policy",
        "copy",
        "-q",
        &format!("oci:{layout_ref}"),
        &into_ours,
    ])
    .ok();
    assert_eq!(records(&ours_dir.join(format!("{driver}-layers/layers.json"))), before);

    // And the other way round: our import into skopeo's store makes no layer either.
    let theirs_layers = theirs.join(format!("g/{driver}-layers/layers.json"));
    let before = records(&theirs_layers);
    let (g, r) = (format!("{}/g", theirs.display()), format!("{}/r", theirs.display()));
    t.exec(&[
        "cstorage",
        "--graph",
        &g,
        "--run",
        &r,
        "--storage-driver",
        driver,
        "import-oci",
        &layout_ref,
        "-n",
        "localhost/ours:v1",
    ])
    .ok();
    assert_eq!(records(&theirs_layers), before);

    // Our export, read by skopeo 1.18: the same config, hence the same image ID.
    let exported = t.dir().join("exported");
    store.ours(&["export-oci", NAME, &format!("{}:out", exported.display())]).ok();
    let config =
        t.exec(&["skopeo", "inspect", "--raw", &format!("oci:{}:out", exported.display())]);
    let manifest: serde_json::Value = serde_json::from_str(config.ok()).unwrap();
    assert_eq!(manifest["config"]["digest"], built.config_digest.as_str());
    let back = format!(
        "containers-storage:[{driver}@{}/b/g+{}/b/r]localhost/back:v1",
        t.dir().display(),
        t.dir().display()
    );
    t.exec(&[
        "skopeo",
        "--insecure-policy",
        "copy",
        "-q",
        &format!("oci:{}:out", exported.display()),
        &back,
    ])
    .ok();
    let back_images = images(&t.dir().join(format!("b/g/{driver}-images")));
    assert_eq!(back_images[0]["id"], built.image_id().as_str());
    assert_eq!(back_images[0]["layer"], built.layer_ids().last().unwrap().as_str());
}

#[test]
fn podman5_and_skopeo_1_18_use_an_import_on_vfs() {
    check_driver("vfs");
}

#[test]
fn podman5_and_skopeo_1_18_use_an_import_on_overlay() {
    check_driver("overlay");
}
