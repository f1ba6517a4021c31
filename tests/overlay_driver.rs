//! The overlay driver on real files and real mounts (needs root and a kernel with overlayfs):
//! c/storage's layout byte for byte, container and image mounts, whiteouts, mount counts,
//! options, deep chains, the mount(2) fallback, ID-shifted layers, link repair, driver
//! choice and shutdown. Every test ends by checking /proc/self/mountinfo for leftovers.

mod common;
mod overlay_common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use cstorage::archive::{ExportStyle, OwnerMaps};
use cstorage::driver::overlay::{MountApi, Overlay};
use cstorage::driver::{CreateOptions, Driver, MountOptions};
use cstorage::{
    ContainerOptions, ErrorKind, IdMap, ImageOptions, LayerOptions, Store, StoreOptions,
};
use overlay_common::{is_whiteout, write, xattr, OverlayTest};

fn child_of(parent: &str) -> LayerOptions {
    LayerOptions { parent: Some(parent.to_string()), ..Default::default() }
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn link_of(home: &Path, id: &str) -> String {
    fs::read_to_string(home.join(id).join("link")).unwrap()
}

#[test]
fn layers_are_laid_out_byte_for_byte_as_c_storage_does() {
    let o = OverlayTest::new("ov-layout");
    let store = o.open();
    let home = o.home();
    let base = store.create_layer(&LayerOptions::default()).unwrap();
    let child = store.create_layer(&child_of(&base.id)).unwrap();
    let grandchild = store.create_layer(&child_of(&child.id)).unwrap();

    assert_eq!(mode(&home), 0o700);
    assert_eq!(mode(&home.join("l")), 0o755);
    assert_eq!(fs::read(home.join(".has-mount-program")).unwrap(), b"false");
    assert_eq!(mode(&home.join(".has-mount-program")), 0o600);

    for layer in [&base, &child, &grandchild] {
        let dir = home.join(&layer.id);
        assert_eq!(mode(&dir), 0o700);
        for sub in ["work", "merged"] {
            assert_eq!(mode(&dir.join(sub)), 0o700, "{sub}");
        }
        assert_eq!(
            mode(&dir.join("diff")),
            0o555,
            "diff of a base layer is 0555 and children copy it"
        );
        let link = link_of(&home, &layer.id);
        assert_eq!(link.len(), 26, "{link:?}");
        assert!(
            link.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
            "base32: {link}"
        );
        assert_eq!(mode(&dir.join("link")), 0o644);
        let target = fs::read_link(home.join("l").join(&link)).unwrap();
        assert_eq!(target, PathBuf::from(format!("../{}/diff", layer.id)));
    }
    assert!(home.join(&base.id).join("empty").is_dir());
    assert_eq!(mode(&home.join(&base.id).join("empty")), 0o700);
    assert!(!home.join(&base.id).join("lower").exists());
    assert!(!home.join(&child.id).join("empty").exists());
    let base_link = link_of(&home, &base.id);
    let child_link = link_of(&home, &child.id);
    assert_eq!(
        fs::read(home.join(&child.id).join("lower")).unwrap(),
        format!("l/{base_link}").into_bytes()
    );
    assert_eq!(
        fs::read(home.join(&grandchild.id).join("lower")).unwrap(),
        format!("l/{child_link}:l/{base_link}").into_bytes()
    );
    assert_eq!(mode(&home.join(&child.id).join("lower")), 0o644);

    // The probe cache c/storage reads.
    let cached: Vec<String> = {
        let mut v: Vec<String> = fs::read_dir(o.run().join("overlay"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    // Creating a layer asks whether the driver shifts (as c/storage's putLayer does), which
    // probes ID-mapped lowers.
    let idmapped_probe = cached.iter().filter(|n| n.starts_with("idmapped-lower-dir-")).count();
    assert_eq!(idmapped_probe, 1, "{cached:?}");
    assert_eq!(
        cached.iter().filter(|n| !n.starts_with("idmapped-lower-dir-")).collect::<Vec<_>>(),
        vec!["metacopy()-false", "overlay-true"]
    );
    let status = store.status();
    assert_eq!(
        status.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        vec![
            "Backing Filesystem",
            "Supports d_type",
            "Native Overlay Diff",
            "Using metacopy",
            "Supports shifting",
            "Supports volatile"
        ],
        "c/storage 1.57's lines"
    );
    assert!(
        o.run().join("overlay/native-diff()-true").exists(),
        "status probed native diff and cached it"
    );

    // Removing a layer removes its link too.
    store.delete_layer(&grandchild.id).unwrap();
    assert!(!home.join(&grandchild.id).exists());
    assert!(fs::symlink_metadata(home.join("l").join(link_of(&home, &base.id))).is_ok());
    assert_eq!(fs::read_dir(home.join("l")).unwrap().count(), 2);
    o.finish(store);
}

/// A base layer with some files, an image on it and a container of the image.
fn image_and_container(store: &Store) -> (cstorage::Layer, cstorage::Image, cstorage::Container) {
    let base = store.create_layer(&LayerOptions::default()).unwrap();
    let diff = store.layer_diff_dir(&base.id).unwrap();
    write(&diff, "etc/hello.txt", "hello\n");
    write(&diff, "etc/gone.txt", "delete me\n");
    write(&diff, "opq/old.txt", "hidden by an opaque dir\n");
    write(&diff, "keep.txt", "keep\n");
    let image = store.create_image(Some(&base.id), &ImageOptions::default()).unwrap();
    let ctr = store.create_container(Some(&image.id), &ContainerOptions::default()).unwrap();
    (base, image, ctr)
}

#[test]
fn a_container_mount_writes_files_and_whiteouts_into_its_diff() {
    let o = OverlayTest::new("ov-container");
    let store = o.open();
    let (base, _image, ctr) = image_and_container(&store);
    let home = o.home();
    let mount_point_inode = fs::metadata(home.join(&ctr.layer).join("merged")).unwrap().ino();
    let merged = store.mount(&ctr.id, "", &[]).unwrap();
    assert_eq!(merged, home.join(&ctr.layer).join("merged"));

    let line = o.mountinfo_line(&merged).expect("the container is mounted");
    assert!(line.contains(" - overlay "), "{line}");
    let base_link = link_of(&home, &base.id);
    assert!(
        line.contains(&format!("{}/l/{base_link}", home.display())),
        "lower through the l/ link: {line}"
    );
    assert!(line.contains(&format!("upperdir={}/{}/diff", home.display(), ctr.layer)), "{line}");
    assert!(line.contains(&format!("workdir={}/{}/work", home.display(), ctr.layer)), "{line}");

    assert_eq!(fs::read_to_string(merged.join("etc/hello.txt")).unwrap(), "hello\n");
    fs::write(merged.join("new.txt"), "new\n").unwrap();
    fs::write(merged.join("etc/hello.txt"), "changed\n").unwrap();
    fs::remove_file(merged.join("etc/gone.txt")).unwrap();
    fs::remove_dir_all(merged.join("opq")).unwrap();
    fs::create_dir(merged.join("opq")).unwrap();
    fs::write(merged.join("opq/new.txt"), "fresh\n").unwrap();

    let upper = home.join(&ctr.layer).join("diff");
    assert_eq!(fs::read_to_string(upper.join("new.txt")).unwrap(), "new\n");
    assert_eq!(fs::read_to_string(upper.join("etc/hello.txt")).unwrap(), "changed\n");
    assert!(is_whiteout(&upper.join("etc/gone.txt")), "a deleted file is a 0/0 character device");
    let meta = fs::symlink_metadata(upper.join("etc/gone.txt")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    assert_eq!(
        xattr(&upper.join("opq"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..]),
        "a replaced directory is opaque"
    );
    assert!(!upper.join("keep.txt").exists(), "untouched files stay below");
    assert!(!merged.join("opq/old.txt").exists());

    assert!(!store.unmount(&ctr.id, false).unwrap());
    assert!(o.mountinfo_line(&merged).is_none());
    // Kept (renewed: empty, 0700) after the last unmount, as c/storage 1.57 does; 1.43 removed
    // it and re-creates it at each mount.
    let kept =
        fs::symlink_metadata(&merged).expect("the mount point is kept after the last unmount");
    assert!(kept.is_dir() && kept.mode() & 0o7777 == 0o700, "{kept:?}");
    assert_ne!(
        kept.ino(),
        mount_point_inode,
        "a fresh directory renamed over the old one, as 1.57 does"
    );
    assert_eq!(fs::read_dir(&merged).unwrap().count(), 0);
    assert!(!home.join(&ctr.layer).join("merged.1").exists());
    let base_diff = store.layer_diff_dir(&base.id).unwrap();
    assert_eq!(
        fs::read_to_string(base_diff.join("etc/hello.txt")).unwrap(),
        "hello\n",
        "the image is untouched"
    );
    assert!(base_diff.join("etc/gone.txt").exists());
    o.finish(store);
}

/// A directory deleted in one layer and re-created in the next is added there, with its new
/// contents, as c/storage's OverlayChanges finds it (the whiteout below makes it new); an
/// unchanged directory above a changed file is left out.
#[test]
fn changes_after_a_directory_is_deleted_and_recreated_say_added() {
    use cstorage::archive::{Change, ChangeKind};
    let o = OverlayTest::new("ov-recreated");
    let store = o.open();
    let base = store.create_layer(&LayerOptions::default()).unwrap();
    let merged = store.mount(&base.id, "", &[]).unwrap();
    write(&merged, "etc/sub/old", "1\n");
    write(&merged, "etc/keep", "k\n");
    store.unmount(&base.id, false).unwrap();
    let step = |parent: &str, edit: &dyn Fn(&Path)| {
        let layer = store.create_layer(&child_of(parent)).unwrap();
        let merged = store.mount(&layer.id, "", &[]).unwrap();
        edit(&merged);
        store.unmount(&layer.id, false).unwrap();
        layer.id
    };
    let deleting = step(&base.id, &|m| fs::remove_dir_all(m.join("etc/sub")).unwrap());
    let recreating = step(&deleting, &|m| write(m, "etc/sub/new", "n\n"));
    let touching = step(&recreating, &|m| write(m, "etc/keep", "changed\n"));
    let sorted = |id: &str| {
        let mut c = store.changes(None, id).unwrap();
        c.sort_by(|a, b| a.path.cmp(&b.path));
        c
    };
    let change = |path: &str, kind| Change { path: path.to_string(), kind };
    assert_eq!(
        sorted(&deleting),
        [change("/etc", ChangeKind::Modify), change("/etc/sub", ChangeKind::Delete)]
    );
    assert_eq!(
        sorted(&recreating),
        [
            change("/etc", ChangeKind::Modify),
            change("/etc/sub", ChangeKind::Add),
            change("/etc/sub/new", ChangeKind::Add)
        ]
    );
    assert_eq!(sorted(&touching), [change("/etc/keep", ChangeKind::Modify)]);
    o.finish(store);
}

#[test]
fn an_image_mount_is_read_only_without_upper_and_counted_on_its_top_layer() {
    let o = OverlayTest::new("ov-image");
    let store = o.open();
    let (base, image, _ctr) = image_and_container(&store);
    let child = store.create_layer(&child_of(&base.id)).unwrap();
    write(&store.layer_diff_dir(&child.id).unwrap(), "child.txt", "child\n");
    let image2 = store.create_image(Some(&child.id), &ImageOptions::default()).unwrap();

    let path = store.mount_image(&image2.id, "", &["nosuid".into(), "noexec".into()]).unwrap();
    assert_eq!(path, o.home().join(&child.id).join("merged"));
    let line = o.mountinfo_line(&path).unwrap();
    let home = o.home();
    let expected_lowers = format!("{}/{}/diff", home.display(), child.id);
    assert!(line.contains(&expected_lowers) && !line.contains("upperdir"), "{line}");
    let mount_options = line.split(' ').nth(5).unwrap();
    for flag in ["ro", "nosuid", "noexec"] {
        assert!(mount_options.split(',').any(|f| f == flag), "{flag} in {mount_options}");
    }
    assert_eq!(fs::read_to_string(path.join("child.txt")).unwrap(), "child\n");
    assert_eq!(fs::read_to_string(path.join("etc/hello.txt")).unwrap(), "hello\n");
    let err = fs::write(path.join("x"), "x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS));

    assert_eq!(store.mount_image(&image2.id, "", &[]).unwrap(), path);
    assert_eq!(store.mounted(&child.id).unwrap(), 2);
    assert!(store.unmount_image(&image2.id, false).unwrap(), "one of two released");
    assert!(o.mountinfo_line(&path).is_some());
    assert!(!store.unmount_image(&image2.id, false).unwrap());
    assert!(o.mountinfo_line(&path).is_none());
    assert_eq!(
        store.mount_image(&image.id, "", &["rw".into()]).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );

    // A base layer mounted read-only: its diff over its empty directory.
    let path = store.mount_image(&image.id, "", &[]).unwrap();
    let line = o.mountinfo_line(&path).unwrap();
    assert!(line.contains(&format!("{}/{}/empty", home.display(), base.id)), "{line}");
    assert_eq!(fs::read_to_string(path.join("keep.txt")).unwrap(), "keep\n");
    store.unmount_image(&image.id, false).unwrap();
    o.finish(store);
}

#[test]
fn mount_counts_are_shared_between_store_handles_and_survive_lost_mounts() {
    let o = OverlayTest::new("ov-counts");
    let a = o.open();
    let (_base, _image, ctr) = image_and_container(&a);
    let b = o.open();
    let path = a.mount(&ctr.id, "", &[]).unwrap();
    assert_eq!(
        b.mounted(&ctr.id).unwrap(),
        1,
        "another handle (as another process would) sees the count"
    );
    assert_eq!(b.mount(&ctr.id, "", &[]).unwrap(), path);
    assert_eq!(a.mounted(&ctr.id).unwrap(), 2);
    assert_eq!(o.mounts().iter().filter(|p| **p == path).count(), 1, "counted, not mounted twice");
    assert!(a.unmount(&ctr.id, false).unwrap());
    assert!(o.mountinfo_line(&path).is_some());
    assert!(!b.unmount(&ctr.id, false).unwrap());
    assert!(o.mountinfo_line(&path).is_none());
    assert_eq!(a.unmount(&ctr.id, false).unwrap_err().kind(), ErrorKind::LayerNotMounted);

    // A count whose mount is gone (a reboot, an outside umount) is remounted and counted on.
    a.mount(&ctr.id, "", &[]).unwrap();
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: NUL-terminated path.
    assert_eq!(unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) }, 0);
    assert_eq!(b.mount(&ctr.id, "", &[]).unwrap(), path);
    assert!(o.mountinfo_line(&path).is_some(), "mounted again");
    assert_eq!(a.mounted(&ctr.id).unwrap(), 2);
    assert!(!a.unmount(&ctr.id, true).unwrap(), "force releases every count");
    assert!(o.mountinfo_line(&path).is_none());
    drop(b);
    o.finish(a);
}

#[test]
fn mount_options_come_from_the_caller_the_container_or_overlay_mountopt() {
    let o = OverlayTest::new("ov-options");
    let store = Store::open(&StoreOptions {
        driver_options: vec!["overlay.mountopt=nodev".into()],
        ..o.options()
    })
    .unwrap();
    let base = store.create_layer(&LayerOptions::default()).unwrap();
    let image = store.create_image(Some(&base.id), &ImageOptions::default()).unwrap();
    let plain = store.create_container(Some(&image.id), &ContainerOptions::default()).unwrap();
    let with_opts = store
        .create_container(
            Some(&image.id),
            &ContainerOptions { mount_options: vec!["noexec".into()], ..Default::default() },
        )
        .unwrap();
    let flags = |path: &Path| -> Vec<String> {
        o.mountinfo_line(path)
            .unwrap()
            .split(' ')
            .nth(5)
            .unwrap()
            .split(',')
            .map(String::from)
            .collect()
    };

    let p = store.mount(&plain.id, "", &[]).unwrap();
    assert!(
        flags(&p).contains(&"nodev".to_string()),
        "overlay.mountopt applies when nobody passes options"
    );
    store.unmount(&plain.id, false).unwrap();

    let p = store.mount(&with_opts.id, "", &[]).unwrap();
    let f = flags(&p);
    assert!(
        f.contains(&"noexec".to_string()) && !f.contains(&"nodev".to_string()),
        "the container's options replace mountopt: {f:?}"
    );
    store.unmount(&with_opts.id, false).unwrap();

    let p = store.mount(&with_opts.id, "", &["nosuid".into()]).unwrap();
    let f = flags(&p);
    assert!(
        f.contains(&"noexec".to_string()) && f.contains(&"nosuid".to_string()),
        "container and caller options: {f:?}"
    );
    store.unmount(&with_opts.id, false).unwrap();

    // Overlay's own options reach the file system; metacopy=on is dropped where the kernel
    // does not do metacopy (the probe said so), as c/storage does; bad options fail cleanly.
    let p = store
        .mount(&plain.id, "", &["metacopy=on".into(), "redirect_dir=nofollow".into()])
        .unwrap();
    let line = o.mountinfo_line(&p).unwrap();
    assert!(line.contains("redirect_dir=nofollow") && !line.contains("metacopy=on"), "{line}");
    assert!(
        line.contains(" - overlay overlay "),
        "source \"overlay\" as c/storage's mounts show: {line}"
    );
    store.unmount(&plain.id, false).unwrap();
    let err = store.mount(&plain.id, "", &["no-such-option".into()]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mount, "{err}");
    assert_eq!(store.mounted(&plain.id).unwrap(), 0);
    // SELinux is off here: a mount label is recorded but no context= option is passed.
    let p = store.mount(&plain.id, "system_u:object_r:container_file_t:s0", &[]).unwrap();
    assert!(!o.mountinfo_line(&p).unwrap().contains("context="));
    store.unmount(&plain.id, false).unwrap();
    o.finish(store);
}

#[test]
fn a_volatile_container_mounts_with_the_volatile_option_unless_disabled() {
    let o = OverlayTest::new("ov-fsync");
    let store = o.open();
    let base = store.create_layer(&LayerOptions::default()).unwrap();
    let image = store.create_image(Some(&base.id), &ImageOptions::default()).unwrap();
    let volatile = store
        .create_container(
            Some(&image.id),
            &ContainerOptions { volatile: true, ..Default::default() },
        )
        .unwrap();
    let plain = store.create_container(Some(&image.id), &ContainerOptions::default()).unwrap();
    let supported = store
        .status()
        .iter()
        .find(|(k, _)| k == "Supports volatile")
        .map(|(_, v)| v == "true")
        .unwrap();
    // The probe's answer is cached where c/storage keeps it, under the same name.
    assert!(o.run().join("overlay").join(format!("volatile-{supported}")).exists());
    assert!(supported, "this machine's kernel (5.10+) takes overlay's volatile option");

    let p = store.mount(&volatile.id, "", &[]).unwrap();
    let super_options =
        |p: &Path| o.mountinfo_line(p).unwrap().split(" - ").nth(1).unwrap().to_string();
    let line = super_options(&p);
    assert!(line.contains("volatile"), "newer kernels show fsync=volatile: {line}");
    std::fs::write(p.join("file"), b"x").unwrap();
    store.unmount(&volatile.id, false).unwrap();
    // Mounted again (the kernel wants the "incompat/volatile" marker gone first).
    let p = store.mount(&volatile.id, "", &[]).unwrap();
    assert_eq!(std::fs::read(p.join("file")).unwrap(), b"x");
    store.unmount(&volatile.id, false).unwrap();
    let p = store.mount(&plain.id, "", &[]).unwrap();
    assert!(!super_options(&p).contains("volatile"));
    store.unmount(&plain.id, false).unwrap();

    // storage.conf's disable-volatile turns it off for every container.
    let conf = o.dir().join("storage.conf");
    std::fs::write(
        &conf,
        "[storage]\ndriver = \"overlay\"\n[storage.options]\ndisable-volatile = true\n",
    )
    .unwrap();
    let disabled = Store::open(&StoreOptions { config_file: Some(conf), ..o.options() }).unwrap();
    let p = disabled.mount(&volatile.id, "", &[]).unwrap();
    assert!(!super_options(&p).contains("volatile"));
    disabled.unmount(&volatile.id, false).unwrap();
    drop(disabled);
    o.finish(store);
}

/// A chain of `depth` layers, each adding `layer-<n>`; returns their IDs, bottom first.
fn chain(store: &Store, depth: usize) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for n in 0..depth {
        let layer = store
            .create_layer(&LayerOptions { parent: ids.last().cloned(), ..Default::default() })
            .unwrap();
        fs::write(
            store.layer_diff_dir(&layer.id).unwrap().join(format!("layer-{n}")),
            n.to_string(),
        )
        .unwrap();
        ids.push(layer.id);
    }
    ids
}

#[test]
fn a_1000_layer_chain_mounts_read_write_and_read_only() {
    let o = OverlayTest::new("ov-deep");
    let store = o.open();
    let ids = chain(&store, 1000);
    // Layer 700 deletes what layer 100 added: the whiteout must work across stacked overlays.
    let whiteout = std::ffi::CString::new(
        store.layer_diff_dir(&ids[700]).unwrap().join("layer-100").to_str().unwrap(),
    )
    .unwrap();
    // SAFETY: NUL-terminated path; a 0/0 character device is a whiteout.
    assert_eq!(unsafe { libc::mknod(whiteout.as_ptr(), libc::S_IFCHR, 0) }, 0);
    let image = store.create_image(Some(&ids[999]), &ImageOptions::default()).unwrap();
    let ctr = store.create_container(Some(&image.id), &ContainerOptions::default()).unwrap();
    let lower = fs::read_to_string(o.home().join(&ctr.layer).join("lower")).unwrap();
    assert_eq!(lower.split(':').count(), 1000);

    let merged = store.mount(&ctr.id, "", &[]).unwrap();
    for n in [0usize, 1, 99, 101, 499, 500, 501, 998, 999] {
        assert_eq!(
            fs::read_to_string(merged.join(format!("layer-{n}"))).unwrap(),
            n.to_string(),
            "layer {n}"
        );
    }
    assert!(!merged.join("layer-100").exists(), "whiteout from a layer 600 places above");
    fs::write(merged.join("written"), "rw").unwrap();
    assert!(o.home().join(&ctr.layer).join("diff/written").exists());
    assert_eq!(
        o.mounts().iter().filter(|p| p.starts_with(o.home().join(&ctr.layer))).count(),
        1,
        "no helper mount stays visible"
    );
    assert!(!o.home().join(&ctr.layer).join("mapped").exists());

    let ro = store.mount_image(&image.id, "", &[]).unwrap();
    assert_eq!(fs::read_to_string(ro.join("layer-0")).unwrap(), "0");
    assert_eq!(fs::read_to_string(ro.join("layer-999")).unwrap(), "999");
    store.unmount_image(&image.id, false).unwrap();
    store.unmount(&ctr.id, false).unwrap();
    o.finish(store);
}

/// The driver alone, forced to mount(2), for chains whose option string passes one page.
#[test]
fn the_mount2_fallback_uses_relative_paths_past_one_page_and_has_a_limit() {
    let o = OverlayTest::new("ov-legacy");
    fs::create_dir_all(o.graph()).unwrap();
    fs::create_dir_all(o.run()).unwrap();
    let driver = Overlay::new(&o.graph(), &o.run(), &[]).unwrap().with_mount_api(MountApi::Legacy);
    let mut ids: Vec<String> = Vec::new();
    for n in 0..200 {
        // 64-character IDs like real layers', since the page limit depends on their length.
        let id = format!("{n:03}{}", &cstorage::ids::random_id()[3..]);
        driver
            .create(
                &id,
                &CreateOptions { parent: ids.last().map(|s| s.as_str()), ..Default::default() },
            )
            .unwrap();
        fs::write(driver.diff_dir(&id).join(format!("f{n}")), "x").unwrap();
        ids.push(id);
    }
    let rw = MountOptions::default();
    // 130 lowers: absolute paths (~90 bytes each here) need ~12 KiB, relative ones ~3.9 KiB.
    let merged = driver.mount(&ids[130], &rw).unwrap();
    let line = o.mountinfo_line(&merged).unwrap();
    assert!(
        line.contains("lowerdir=l/") && line.contains(&format!("upperdir={}/diff", ids[130])),
        "relative mount data: {line}"
    );
    assert!(merged.join("f0").exists() && merged.join("f130").exists());
    fs::write(merged.join("w"), "w").unwrap();
    assert!(driver.diff_dir(&ids[130]).join("w").exists());
    driver.unmount(&ids[130]).unwrap();

    // A short chain still mounts with absolute paths, like c/storage.
    let merged = driver.mount(&ids[3], &rw).unwrap();
    assert!(o
        .mountinfo_line(&merged)
        .unwrap()
        .contains(&format!("lowerdir={}/l/", o.home().display())));
    driver.unmount(&ids[3]).unwrap();

    // The documented limit: 135 lowers fit a page with relative paths (29 bytes per lower plus
    // upper and work), 136 do not, and fail cleanly with nothing mounted.
    let merged = driver.mount(&ids[135], &rw).unwrap();
    assert!(merged.join("f0").exists());
    driver.unmount(&ids[135]).unwrap();
    for too_many in [136, 199] {
        let err = driver.mount(&ids[too_many], &rw).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MaxDepthExceeded, "{err}");
        assert!(o.mounts().iter().all(|p| !p.starts_with(o.home().join(&ids[too_many]))));
    }
    // Read-only, the layer's own diff is one more lower and upper/work are gone: 138 fit.
    let ro = MountOptions { read_only: true, ..Default::default() };
    driver.mount(&ids[138], &ro).unwrap();
    driver.unmount(&ids[138]).unwrap();
    assert_eq!(driver.mount(&ids[139], &ro).unwrap_err().kind(), ErrorKind::MaxDepthExceeded);
    // The file-system-context API has no such limit.
    let modern = Overlay::new(&o.graph(), &o.run(), &[]).unwrap();
    if modern.mount_api() == MountApi::FsContext {
        let merged = modern.mount(&ids[199], &rw).unwrap();
        assert!(merged.join("f0").exists());
        modern.unmount(&ids[199]).unwrap();
    }
    modern.cleanup().unwrap();
    for id in ids.iter().rev() {
        driver.remove(id).unwrap();
    }
    assert_eq!(fs::read_dir(o.home().join("l")).unwrap().count(), 0);
    o.assert_nothing_mounted();
}

/// A base layer with files of two owners, a hardlink and a symlink, and a child adding one.
fn owned_image(store: &Store) -> (cstorage::Layer, cstorage::Layer) {
    let base = store.create_layer(&LayerOptions::default()).unwrap();
    let diff = store.layer_diff_dir(&base.id).unwrap();
    write(&diff, "root.txt", "root\n");
    write(&diff, "home/user/user.txt", "user\n");
    std::os::unix::fs::chown(diff.join("home/user"), Some(1000), Some(1000)).unwrap();
    std::os::unix::fs::chown(diff.join("home/user/user.txt"), Some(1000), Some(1001)).unwrap();
    fs::hard_link(diff.join("root.txt"), diff.join("root-link.txt")).unwrap();
    std::os::unix::fs::symlink("root.txt", diff.join("sym")).unwrap();
    let child = store.create_layer(&child_of(&base.id)).unwrap();
    write(&store.layer_diff_dir(&child.id).unwrap(), "child.txt", "child\n");
    (base, child)
}

fn owner(p: &Path) -> (u32, u32) {
    let m = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.uid(), m.gid())
}

const SHIFTED: [IdMap; 1] = [IdMap { container_id: 0, host_id: 100000, size: 65536 }];
/// Like SHIFTED up to container ID 999; from 1000 on, host IDs from 201000.
const SPLIT: [IdMap; 2] = [
    IdMap { container_id: 0, host_id: 100000, size: 1000 },
    IdMap { container_id: 1000, host_id: 201000, size: 64536 },
];

/// Where overlay cannot shift at mount time (or the maps are a layer's own), c/storage
/// re-owns a copy: the layer's diff1 holds the parent's files with shifted owners.
#[test]
fn a_layer_with_other_id_maps_than_its_parent_gets_a_re_owned_copy() {
    let o = OverlayTest::new("ov-idcopy");
    let store = o.open();
    let (base, child) = owned_image(&store);
    // Two ranges: no ID-mapped mount takes them, so the layer keeps its maps and gets a copy
    // (with one range, where the kernel shifts at mount time, it would be recorded without).
    let mapped = |parent: &str| LayerOptions {
        parent: Some(parent.to_string()),
        uid_map: SPLIT.to_vec(),
        gid_map: SPLIT.to_vec(),
        ..Default::default()
    };
    let shifted = store.create_layer(&mapped(&child.id)).unwrap();
    let layer_dir = o.home().join(&shifted.id);
    let copy = layer_dir.join("diff1");
    assert_eq!(owner(&copy.join("root.txt")), (100000, 100000));
    assert_eq!(owner(&copy.join("home/user/user.txt")), (201000, 201001));
    assert_eq!(owner(&copy.join("child.txt")), (100000, 100000));
    assert_eq!(owner(&copy.join("sym")), (100000, 100000));
    assert_eq!(fs::read_link(copy.join("sym")).unwrap(), PathBuf::from("root.txt"));
    assert_eq!(
        fs::metadata(copy.join("root.txt")).unwrap().ino(),
        fs::metadata(copy.join("root-link.txt")).unwrap().ino(),
        "hardlinks stay linked"
    );
    assert_eq!(
        owner(&layer_dir.join("diff")),
        (100000, 100000),
        "the layer's root belongs to its root"
    );
    assert_eq!(
        fs::read_dir(layer_dir.join("diff")).unwrap().count(),
        0,
        "its own diff starts empty"
    );
    assert!(!layer_dir.join("mapped").exists());
    assert_eq!(
        owner(&store.layer_diff_dir(&base.id).unwrap().join("home/user/user.txt")),
        (1000, 1001),
        "the parent is untouched"
    );

    let merged = store.mount(&shifted.id, "", &[]).unwrap();
    assert_eq!(owner(&merged.join("home/user/user.txt")), (201000, 201001));
    assert_eq!(owner(&merged), (100000, 100000));
    fs::write(merged.join("home/user/new.txt"), "new").unwrap();
    assert!(layer_dir.join("diff/home/user/new.txt").exists(), "writes still go to diff");
    let line = o.mountinfo_line(&merged).unwrap();
    assert!(
        line.contains(&copy.to_string_lossy().into_owned()),
        "diff1 is the topmost lower: {line}"
    );
    store.unmount(&shifted.id, false).unwrap();

    // A child with the same maps has no copy of its own and sees the re-owned files through
    // its parent's diff1, found as l/<LINK>/../diff1 like c/storage does.
    let on_shifted = store.create_layer(&mapped(&shifted.id)).unwrap();
    assert!(!o.home().join(&on_shifted.id).join("diff1").exists());
    let merged = store.mount(&on_shifted.id, "", &[]).unwrap();
    assert_eq!(owner(&merged.join("home/user/user.txt")), (201000, 201001));
    let line = o.mountinfo_line(&merged).unwrap();
    assert!(line.contains(&format!("l/{}/../diff1", link_of(&o.home(), &shifted.id))), "{line}");
    store.unmount(&on_shifted.id, false).unwrap();
    o.finish(store);
}

/// Where overlay takes ID-mapped lowers (this kernel), a container with its own maps keeps an
/// unshifted layer and its mounts show the image through an ID-mapped view, as c/storage 1.43
/// does: no copy, and the image's files stay as they are.
#[test]
fn a_container_with_its_own_id_maps_sees_the_image_through_an_id_mapped_view() {
    let o = OverlayTest::new("ov-idmount");
    let store = o.open();
    let (base, child) = owned_image(&store);
    let image = store.create_image(Some(&child.id), &ImageOptions::default()).unwrap();
    let ctr = store
        .create_container(
            Some(&image.id),
            &ContainerOptions {
                uid_map: SHIFTED.to_vec(),
                gid_map: SHIFTED.to_vec(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ctr.uid_map, SHIFTED.to_vec(), "the container keeps its maps");
    let layer = store.layer(&ctr.layer).unwrap();
    assert!(layer.uid_map.is_empty() && layer.gid_map.is_empty(), "its layer is stored unshifted");
    let layer_dir = o.home().join(&ctr.layer);
    assert!(!layer_dir.join("diff1").exists(), "nothing copied");
    assert!(
        o.run().join("overlay/idmapped-lower-dir-true").exists(),
        "probed and cached like c/storage"
    );

    let merged = store.mount(&ctr.id, "", &[]).unwrap();
    assert_eq!(owner(&merged.join("root.txt")), (100000, 100000));
    assert_eq!(owner(&merged.join("home/user/user.txt")), (101000, 101001));
    assert_eq!(owner(&merged.join("child.txt")), (100000, 100000));
    assert_eq!(fs::read_to_string(merged.join("root-link.txt")).unwrap(), "root\n");
    let line = o.mountinfo_line(&merged).unwrap();
    assert!(
        line.contains(&format!("{}/mapped/0/l/", layer_dir.display())),
        "lowers through the ID-mapped view: {line}"
    );
    assert_eq!(
        o.mounts().iter().filter(|p| p.starts_with(&layer_dir)).count(),
        1,
        "the view itself is detached again"
    );
    assert!(!layer_dir.join("mapped").exists());
    fs::write(merged.join("new.txt"), "new").unwrap();
    assert!(layer_dir.join("diff/new.txt").exists(), "the upper is not mapped");
    assert_eq!(
        owner(&store.layer_diff_dir(&base.id).unwrap().join("home/user/user.txt")),
        (1000, 1001)
    );

    // The image itself, and the container's layer mounted as a layer, are not shifted.
    let ro = store.mount_image(&image.id, "", &[]).unwrap();
    assert_eq!(owner(&ro.join("home/user/user.txt")), (1000, 1001));
    store.unmount_image(&image.id, false).unwrap();
    store.unmount(&ctr.id, false).unwrap();
    o.finish(store);
}

#[test]
fn lost_links_are_rebuilt_from_link_files_and_lost_link_files_from_links() {
    let o = OverlayTest::new("ov-links");
    let store = o.open();
    let ids = chain(&store, 3);
    let home = o.home();
    let base_link = link_of(&home, &ids[0]);
    fs::remove_file(home.join("l").join(&base_link)).unwrap();
    let mid_link = link_of(&home, &ids[1]);
    fs::remove_file(home.join(&ids[1]).join("link")).unwrap();

    // Mounting the top layer needs l/<base> (rebuilt from the base's link file); creating a
    // child of the middle layer needs its link file (rebuilt from its l/ symlink).
    let merged = store.mount(&ids[2], "", &[]).unwrap();
    assert!(merged.join("layer-0").exists());
    assert_eq!(
        fs::read_link(home.join("l").join(&base_link)).unwrap(),
        PathBuf::from(format!("../{}/diff", ids[0]))
    );
    store.unmount(&ids[2], false).unwrap();
    let child = store.create_layer(&child_of(&ids[1])).unwrap();
    assert_eq!(link_of(&home, &ids[1]), mid_link);
    assert_eq!(
        fs::read_to_string(home.join(&child.id).join("lower")).unwrap(),
        format!("l/{mid_link}:l/{base_link}")
    );

    // A layer with neither (a hand-made store) gets a new link when it becomes a parent.
    let bare = store.create_layer(&LayerOptions::default()).unwrap();
    let bare_link = link_of(&home, &bare.id);
    fs::remove_file(home.join("l").join(&bare_link)).unwrap();
    fs::remove_file(home.join(&bare.id).join("link")).unwrap();
    let on_bare = store.create_layer(&child_of(&bare.id)).unwrap();
    let new_link = link_of(&home, &bare.id);
    assert_eq!(new_link.len(), 26);
    assert_eq!(
        fs::read_to_string(home.join(&on_bare.id).join("lower")).unwrap(),
        format!("l/{new_link}")
    );
    let merged = store.mount(&on_bare.id, "", &[]).unwrap();
    assert!(merged.is_dir());
    store.unmount(&on_bare.id, false).unwrap();
    o.finish(store);
}

#[test]
fn overlay_is_chosen_by_default_where_it_works_and_a_store_keeps_its_driver() {
    let no_config = |o: &OverlayTest| StoreOptions {
        graph_root: Some(o.graph()),
        run_root: Some(o.run()),
        config_file: Some(o.dir().join("no-storage.conf")),
        ..Default::default()
    };
    let o = OverlayTest::new("ov-choice");
    let store = Store::open(&no_config(&o)).unwrap();
    assert_eq!(store.driver_name(), "overlay");
    store.create_layer(&LayerOptions::default()).unwrap();
    o.finish(store);
    // Reopened with no driver named: the overlay state decides.
    let store = Store::open(&no_config(&o)).unwrap();
    assert_eq!(store.driver_name(), "overlay");
    drop(store);

    // A vfs store with layers keeps vfs too (c/storage would start overlay and hide them).
    let o = OverlayTest::new("ov-choice-vfs");
    let vfs = Store::open(&StoreOptions { driver: Some("vfs".into()), ..no_config(&o) }).unwrap();
    vfs.create_layer(&LayerOptions::default()).unwrap();
    drop(vfs);
    let store = Store::open(&no_config(&o)).unwrap();
    assert_eq!(store.driver_name(), "vfs");
    assert_eq!(store.layers().unwrap().len(), 1);
    assert!(!o.graph().join("overlay").exists());
    drop(store);
    // What storage.conf (or STORAGE_DRIVER, read the same way) names wins over the scan.
    let conf = o.dir().join("storage.conf");
    fs::write(&conf, "[storage]\ndriver = \"overlay\"\n").unwrap();
    let store = Store::open(&StoreOptions { config_file: Some(conf), ..no_config(&o) }).unwrap();
    assert_eq!(store.driver_name(), "overlay");
    o.finish(store);

    // Where the probe said overlay does not work (cached in R/overlay, as c/storage caches
    // it), the choice falls back to vfs and leaves no overlay directory to be mistaken for state.
    let o = OverlayTest::new("ov-choice-fallback");
    fs::create_dir_all(o.run().join("overlay")).unwrap();
    fs::write(o.run().join("overlay/overlay-false"), "kernel does not support overlay fs: test")
        .unwrap();
    let store = Store::open(&no_config(&o)).unwrap();
    assert_eq!(store.driver_name(), "vfs");
    assert!(!o.graph().join("overlay").exists());
    let err = Store::open(&o.options()).err().expect("overlay asked for explicitly fails");
    assert_eq!(err.kind(), ErrorKind::NotSupported);
    assert!(err.message().contains("test"), "{err}");
    drop(store);
    o.assert_nothing_mounted();
}

#[test]
fn shutdown_reports_or_releases_mounts_and_the_home_bind_mount() {
    let o = OverlayTest::new("ov-shutdown");
    let store = o.open();
    let (_base, image, ctr) = image_and_container(&store);
    assert!(o.mounts().is_empty(), "opening and creating mount nothing");
    let p1 = store.mount(&ctr.id, "", &[]).unwrap();
    let p2 = store.mount_image(&image.id, "", &[]).unwrap();
    let home_line = o
        .mountinfo_line(&o.home())
        .expect("the home is bind-mounted onto itself before the first mount");
    assert!(!home_line.contains("shared:"), "and private: {home_line}");

    let still = store.shutdown(false).unwrap();
    assert_eq!(still.len(), 2, "not forced: reported, left mounted");
    assert!(o.mountinfo_line(&p1).is_some() && o.mountinfo_line(&p2).is_some());
    assert!(store.shutdown(true).unwrap().is_empty());
    assert!(o.mounts().is_empty(), "{:?}", o.mounts());
    assert_eq!(
        fs::metadata(o.graph().join("storage.lock")).unwrap().len(),
        64,
        "shutdown writes a token"
    );
    assert_eq!(store.mounted(&ctr.id).unwrap(), 0);

    // Deleting a mounted container unmounts it first.
    store.mount(&ctr.id, "", &[]).unwrap();
    let link = link_of(&o.home(), &ctr.layer);
    store.delete_container(&ctr.id).unwrap();
    assert!(!o.home().join(&ctr.layer).exists());
    assert!(fs::symlink_metadata(o.home().join("l").join(link)).is_err());
    o.finish(store);
}

/// Three layers: L1 has files, L2 changes, deletes and adds some, L3 replaces a directory and
/// adds one more. A diff of L3 against L1 (not its parent) cannot come from L3's upper dir; both
/// layers are viewed whole and compared, with either mount API, and nothing stays mounted.
#[test]
fn diffs_against_a_layer_other_than_the_parent_compare_the_whole_trees() {
    let o = OverlayTest::new("ov-naive");
    fs::create_dir_all(o.graph()).unwrap();
    fs::create_dir_all(o.run()).unwrap();
    let modern = Overlay::new(&o.graph(), &o.run(), &[]).unwrap();
    let legacy = Overlay::new(&o.graph(), &o.run(), &[]).unwrap().with_mount_api(MountApi::Legacy);
    let rw = MountOptions::default();
    let ids = ["naive-l1", "naive-l2", "naive-l3"];
    modern.create(ids[0], &CreateOptions::default()).unwrap();
    let d1 = modern.diff_dir(ids[0]);
    for (path, text) in
        [("a/keep", "keep\n"), ("a/gone", "gone\n"), ("a/changed", "old\n"), ("opq/old", "old\n")]
    {
        write(&d1, path, text);
    }
    modern.create(ids[1], &CreateOptions { parent: Some(ids[0]), ..Default::default() }).unwrap();
    let m2 = modern.mount(ids[1], &rw).unwrap();
    fs::write(m2.join("a/changed"), "new!\n").unwrap();
    fs::remove_file(m2.join("a/gone")).unwrap();
    write(&m2, "b/new", "added in l2\n");
    modern.unmount(ids[1]).unwrap();
    modern.create(ids[2], &CreateOptions { parent: Some(ids[1]), ..Default::default() }).unwrap();
    let m3 = modern.mount(ids[2], &rw).unwrap();
    fs::remove_dir_all(m3.join("opq")).unwrap();
    write(&m3, "opq/fresh", "fresh\n");
    write(&m3, "c/three", "three\n");
    modern.unmount(ids[2]).unwrap();

    let files_changed =
        |changes: &[cstorage::archive::Change]| -> Vec<(String, cstorage::archive::ChangeKind)> {
            let mut out: Vec<_> = changes
                .iter()
                .filter(|c| !["/a", "/b", "/c", "/opq"].contains(&c.path.as_str()))
                .map(|c| (c.path.clone(), c.kind))
                .collect();
            out.sort_by(|x, y| x.0.cmp(&y.0));
            out
        };
    use cstorage::archive::ChangeKind::{Add, Delete, Modify};
    let expected: Vec<(String, cstorage::archive::ChangeKind)> = [
        ("/a/changed", Modify),
        ("/a/gone", Delete),
        ("/b/new", Add),
        ("/c/three", Add),
        ("/opq/fresh", Add),
        ("/opq/old", Delete),
    ]
    .into_iter()
    .map(|(p, k)| (p.to_string(), k))
    .collect();
    for driver in [&modern, &legacy] {
        let changes = driver
            .changes(ids[2], Some(ids[0]), false, OwnerMaps::default(), ExportStyle::default())
            .unwrap();
        assert_eq!(files_changed(&changes), expected, "{:?}: {changes:?}", driver.mount_api());
        assert_eq!(
            driver
                .diff_size(
                    ids[2],
                    Some(ids[0]),
                    false,
                    OwnerMaps::default(),
                    ExportStyle::default()
                )
                .unwrap(),
            ("new!\n".len() + "added in l2\n".len() + "three\n".len() + "fresh\n".len()) as u64
        );

        let mut tar_bytes = Vec::new();
        driver
            .write_diff(
                ids[2],
                Some(ids[0]),
                false,
                OwnerMaps::default(),
                ExportStyle::default(),
                &mut tar_bytes,
            )
            .unwrap();
        let mut entries = std::collections::BTreeMap::new();
        for entry in tar::Archive::new(&tar_bytes[..]).entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut body = String::new();
            std::io::Read::read_to_string(&mut entry, &mut body).unwrap();
            entries.insert(path, body);
        }
        assert_eq!(entries.get("a/changed").map(String::as_str), Some("new!\n"), "{entries:?}");
        assert_eq!(entries.get("b/new").map(String::as_str), Some("added in l2\n"));
        assert_eq!(entries.get("c/three").map(String::as_str), Some("three\n"));
        assert_eq!(entries.get("opq/fresh").map(String::as_str), Some("fresh\n"));
        assert!(
            entries.contains_key("a/.wh.gone") && entries.contains_key("opq/.wh.old"),
            "{entries:?}"
        );
        assert!(
            !entries.contains_key("a/keep"),
            "an unchanged file is not in the diff: {entries:?}"
        );
        // (The driver home itself is bind-mounted private before a view is attached.)
        let views: Vec<PathBuf> = o.mounts().into_iter().filter(|p| *p != o.home()).collect();
        assert!(views.is_empty(), "the views are gone after the diff: {views:?}");
    }
    // Against the parent, the native diff still holds only L3's own changes.
    let own = modern
        .changes(ids[2], Some(ids[1]), true, OwnerMaps::default(), ExportStyle::default())
        .unwrap();
    assert!(own.iter().all(|c| !c.path.starts_with("/a") && !c.path.starts_with("/b")), "{own:?}");
    // Against nothing: every file of the whole tree is added.
    let all =
        modern.changes(ids[2], None, false, OwnerMaps::default(), ExportStyle::default()).unwrap();
    assert!(all.iter().any(|c| c.path == "/a/keep" && c.kind == Add), "{all:?}");

    for id in ids.iter().rev() {
        let leftovers: Vec<_> = fs::read_dir(o.home().join(id))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with("view-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        modern.remove(id).unwrap();
    }
    modern.cleanup().unwrap();
    o.assert_nothing_mounted();
}

/// c/storage 1.57's split image store (`imagestore`) on overlay: read-only (image) layers and
/// their `l/` links under `IS/overlay`, container layers in `G/overlay`, a container's lowers
/// named `l/<LINK>` and resolved in IS; deleting removes the layer's directory and link there.
#[test]
fn a_split_image_store_holds_image_layers_and_their_links_and_containers_mount_on_them() {
    let o = OverlayTest::new("ov-imagestore");
    let images = o.dir().join("images");
    let mut options = o.options();
    options.image_store = Some(images.clone());
    let store = Store::open(&options).unwrap();
    let (home, is_home) = (o.home(), images.join("overlay"));
    // 1.57's stray IS/l (it means IS/overlay/l), empty.
    assert!(images.join("l").is_dir() && fs::read_dir(images.join("l")).unwrap().count() == 0);

    let base = store.create_layer(&LayerOptions::default()).unwrap();
    write(&store.layer_diff_dir(&base.id).unwrap(), "etc/hello.txt", "hello\n");
    let top = store.create_layer(&child_of(&base.id)).unwrap();
    write(&store.layer_diff_dir(&top.id).unwrap(), "top.txt", "top\n");
    let image = store
        .create_image(
            Some(&top.id),
            &ImageOptions { names: vec!["split:1".into()], ..Default::default() },
        )
        .unwrap();
    let ctr = store.create_container(Some(&image.id), &ContainerOptions::default()).unwrap();

    let entries = |dir: &Path| {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(entries(&is_home.join(&base.id)), ["diff", "empty", "link", "merged", "work"]);
    assert_eq!(entries(&is_home.join(&top.id)), ["diff", "link", "lower", "merged", "work"]);
    assert_eq!(entries(&home.join(&ctr.layer)), ["diff", "link", "lower", "merged", "work"]);
    assert!(
        !home.join(&base.id).exists()
            && !home.join(&top.id).exists()
            && !is_home.join(&ctr.layer).exists()
    );
    let (base_link, top_link, ctr_link) =
        (link_of(&is_home, &base.id), link_of(&is_home, &top.id), link_of(&home, &ctr.layer));
    assert_eq!(
        fs::read_link(is_home.join("l").join(&base_link)).unwrap(),
        Path::new("..").join(&base.id).join("diff")
    );
    assert_eq!(
        fs::read_link(is_home.join("l").join(&top_link)).unwrap(),
        Path::new("..").join(&top.id).join("diff")
    );
    assert_eq!(
        fs::read_link(home.join("l").join(&ctr_link)).unwrap(),
        Path::new("..").join(&ctr.layer).join("diff")
    );
    assert!(!home.join("l").join(&base_link).exists());
    assert_eq!(
        fs::read_to_string(is_home.join(&top.id).join("lower")).unwrap(),
        format!("l/{base_link}")
    );
    assert_eq!(
        fs::read_to_string(home.join(&ctr.layer).join("lower")).unwrap(),
        format!("l/{top_link}:l/{base_link}")
    );
    assert!(
        images.join("overlay-images/images.json").is_file()
            && images.join("overlay-layers/layers.lock").is_file()
    );
    assert_eq!(store.layers().unwrap().len(), 3);
    assert!(store.check(&cstorage::store::CheckOptions::default()).unwrap().is_clean());

    let merged = store.mount(&ctr.id, "", &[]).unwrap();
    assert_eq!(merged, home.join(&ctr.layer).join("merged"));
    let line = o.mountinfo_line(&merged).expect("the container is mounted");
    let (is, g) = (is_home.display(), home.display());
    // lowerdir=A:B (mount(2)) or lowerdir+=A,lowerdir+=B (fsconfig): the image layers' links in
    // IS, nearest first; upper and work in G.
    let (top_at, base_at) =
        (line.find(&format!("{is}/l/{top_link}")), line.find(&format!("{is}/l/{base_link}")));
    assert!(
        top_at.is_some() && base_at.is_some() && top_at < base_at,
        "lowers in the image store: {line}"
    );
    assert!(
        line.contains(&format!(",upperdir={g}/{}/diff,workdir={g}/{}/work", ctr.layer, ctr.layer)),
        "{line}"
    );
    assert_eq!(fs::read_to_string(merged.join("etc/hello.txt")).unwrap(), "hello\n");
    fs::write(merged.join("new.txt"), "new\n").unwrap();
    assert!(home.join(&ctr.layer).join("diff/new.txt").is_file());
    assert!(!store.unmount(&ctr.id, false).unwrap());

    // An image layer mounts where it is.
    assert_eq!(store.mount(&top.id, "", &[]).unwrap(), is_home.join(&top.id).join("merged"));
    assert_eq!(fs::read_to_string(is_home.join(&top.id).join("merged/top.txt")).unwrap(), "top\n");
    store.unmount(&top.id, false).unwrap();

    store.delete_container(&ctr.id).unwrap();
    assert!(
        !home.join(&ctr.layer).exists()
            && fs::symlink_metadata(home.join("l").join(&ctr_link)).is_err()
    );
    store.delete_image(&image.id, true).unwrap();
    for (id, link) in [(&base.id, &base_link), (&top.id, &top_link)] {
        assert!(!is_home.join(id).exists());
        assert!(
            fs::symlink_metadata(is_home.join("l").join(link)).is_err(),
            "the link of {id} is gone"
        );
    }
    assert!(store.layers().unwrap().is_empty());
    o.finish(store);
}
