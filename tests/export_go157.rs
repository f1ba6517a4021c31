//! Exports of container layers compared byte for byte with c/storage 1.57's: Debian 13's
//! containers-storage, run in the trixie chroot of `scripts/trixie-chroot.sh`, makes the image
//! and the container; we write into the container and both export its layer (no tar-split),
//! ours in the default style (1.57). vfs (naive diff) and overlay (native diff).
//! Fails when the chroot is not there: `scripts/install-deps.sh` builds it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::go_tar::{describe, without_whiteout_times};
use common::{id_of, json, TempStore};
use cstorage::store::DiffCompression;

/// The chroot script, if it and a finished chroot are there.
fn trixie_script() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/trixie-chroot.sh");
    let out = Command::new(&script).arg("root").output().ok()?;
    let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && root.join(".cstorage-trixie-ready").is_file()).then_some(script)
}

/// Run the chroot's containers-storage (1.57) on `t`'s store with `driver`; its stdout.
fn go157(script: &Path, t: &TempStore, driver: &str, args: &[&str]) -> String {
    let out = Command::new(script)
        .arg("run")
        .arg(&t.dir)
        .arg("--")
        .arg("containers-storage")
        .arg("-g")
        .arg(t.graph())
        .arg("-R")
        .arg(t.run())
        .arg("-s")
        .arg(driver)
        .args(args)
        .output()
        .unwrap();
    common::stdout_of_success(args, out)
}

fn export_matches_1_57(driver: &str) {
    let script = trixie_script()
        .expect("no Debian 13 chroot with c/storage 1.57: run scripts/install-deps.sh");
    let t = TempStore::new(&format!("go157-export-{driver}"));
    let base_tar = common::container_base_tar(&t.dir);
    let base = id_of(&go157(
        &script,
        &t,
        driver,
        &["import-layer", "-j", "-f", base_tar.to_str().unwrap()],
    ));
    let image = id_of(&go157(&script, &t, driver, &["create-image", "-j", &base]));
    let ctr = json(&go157(&script, &t, driver, &["create-container", "-j", &image]));
    let (ctr, layer) = (ctr["id"].as_str().unwrap(), ctr["layer"].as_str().unwrap());

    let store = cstorage::Store::open(&t.options(driver)).unwrap();
    let root = store.mount(ctr, "", &[]).unwrap();
    common::write_container_changes(&root);
    assert!(!store.unmount(ctr, false).unwrap());

    let go_file = t.dir.join("go157-diff.tar");
    go157(&script, &t, driver, &["diff", "-u", "-f", go_file.to_str().unwrap(), layer]);
    let go = without_whiteout_times(&std::fs::read(&go_file).unwrap());
    let mut ours = Vec::new();
    store.diff(None, layer, DiffCompression::Uncompressed, &mut ours).unwrap();
    let ours = without_whiteout_times(&ours);
    assert!(ours == go, "ours:\n{}\nGo 1.57:\n{}", describe(&ours), describe(&go));
    assert!(describe(&go).contains("etc/.wh.gone.txt"), "{}", describe(&go));
    assert!(store.shutdown(true).unwrap().is_empty());
}

#[test]
fn vfs_export_of_a_container_layer_is_go_1_57s_diff_byte_for_byte() {
    export_matches_1_57("vfs");
}

#[test]
fn overlay_export_of_a_container_layer_is_go_1_57s_diff_byte_for_byte() {
    export_matches_1_57("overlay");
}
