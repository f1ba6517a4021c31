//! `Store::check_with_progress` on a real vfs store: the hook hears every step in order with
//! the right totals, counts that only go up, the same report as without a hook; returning
//! false stops the check with `Cancelled` (also in the middle of one big layer's diff) and
//! leaves the store as it was.

mod common;

use std::fs;
use std::time::Duration;

use common::{snapshot_tree, tar_of, TempStore};
use cstorage::store::{CheckOptions, CheckProgress, CheckStep};
use cstorage::{ContainerOptions, ErrorKind, ImageOptions, LayerOptions, Store};

/// Layers, one of them a 10 MiB file (the diff of which is read in more than one 8 MiB
/// stretch), an image on top, a container on it, and a driver directory no record owns.
struct Fixture {
    t: TempStore,
    store: Store,
}

const BIG_FILE_BYTES: usize = 10 << 20;

fn fixture(tag: &str) -> Fixture {
    let t = TempStore::new(tag);
    let store = t.open();
    let mut parent: Option<String> = None;
    let big = "x".repeat(BIG_FILE_BYTES);
    let layers: [&[(&str, Option<&str>)]; 3] = [
        &[("etc/", None), ("etc/motd", Some("hello\n"))],
        &[("big", Some(big.as_str()))],
        &[("etc/", None), ("etc/extra", Some("extra\n"))],
    ];
    for (index, entries) in layers.iter().enumerate() {
        let tar = tar_of(&t.dir, &format!("layer{index}.tar"), entries);
        let options = LayerOptions { parent: parent.clone(), ..Default::default() };
        let layer = store.put_layer(&options, &mut fs::File::open(tar).unwrap(), None).unwrap();
        parent = Some(layer.id);
    }
    let image = store
        .create_image(
            parent.as_deref(),
            &ImageOptions { names: vec!["app".into()], ..Default::default() },
        )
        .unwrap();
    store.create_container(Some(&image.id), &ContainerOptions::default()).unwrap();
    fs::create_dir(t.graph().join("vfs/dir").join("5".repeat(64))).unwrap();
    Fixture { t, store }
}

fn full() -> CheckOptions {
    CheckOptions { unreferenced_layer_max_age: Duration::from_secs(3600), ..CheckOptions::full() }
}

/// The problems of a report, to compare two reports.
fn lines(report: &cstorage::store::CheckReport) -> String {
    serde_json::to_string(&report.to_json()).unwrap()
}

#[test]
fn progress_hears_each_step_in_order_with_its_totals() {
    let f = fixture("check-progress");
    let mut heard: Vec<CheckProgress> = Vec::new();
    let mut hook = |p: &CheckProgress| {
        heard.push(*p);
        true
    };
    let report = f.store.check_with_progress(&full(), Some(&mut hook)).unwrap();
    assert_eq!(
        lines(&report),
        lines(&f.store.check(&full()).unwrap()),
        "a hook changes nothing in the report"
    );
    assert_eq!(report.layers.len(), 1, "the stray directory: {report:?}");

    // Each step once, in order, starting at 0 and ending at its total: 3 image layers and
    // the container's, 1 image, 1 container, 5 driver directories (the stray one too).
    let expected = [
        (CheckStep::Layers, 4),
        (CheckStep::LayerContents, 4),
        (CheckStep::ReadOnlyLayers, 0),
        (CheckStep::Images, 1),
        (CheckStep::ReadOnlyImages, 0),
        (CheckStep::Containers, 1),
        (CheckStep::UnaccountedLayerDirs, 5),
    ];
    let mut steps: Vec<(CheckStep, usize)> = heard.iter().map(|p| (p.step, p.total)).collect();
    steps.dedup();
    assert_eq!(steps, expected);
    for (step, total) in expected {
        let of_step: Vec<usize> = heard.iter().filter(|p| p.step == step).map(|p| p.done).collect();
        assert_eq!(of_step.first(), Some(&0), "{step:?}");
        assert_eq!(of_step.last(), Some(&total), "{step:?}");
        assert!(of_step.windows(2).all(|w| w[0] <= w[1]), "{step:?} went back: {of_step:?}");
        // Every count from 0 to the total is heard.
        let mut distinct = of_step.clone();
        distinct.dedup();
        assert_eq!(distinct, (0..=total).collect::<Vec<_>>(), "{step:?}");
    }
    // While the big layer's diff was read, the hook was asked again with the same counts.
    let layer_events: Vec<usize> =
        heard.iter().filter(|p| p.step == CheckStep::Layers).map(|p| p.done).collect();
    assert!(layer_events.len() > 4 + 1, "no question during the 10 MiB diff: {layer_events:?}");
}

/// Cancel at the `n`th time the hook is asked; the check must stop there (nothing heard
/// after) with Cancelled, and the store be as it was.
fn cancel_at(f: &Fixture, cancel: impl Fn(usize, &CheckProgress) -> bool) -> Vec<CheckProgress> {
    let before = snapshot_tree(&f.t.dir);
    let mut heard: Vec<CheckProgress> = Vec::new();
    let mut hook = |p: &CheckProgress| {
        heard.push(*p);
        !cancel(heard.len() - 1, p)
    };
    let err = f.store.check_with_progress(&full(), Some(&mut hook)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(
        cancel(heard.len() - 1, heard.last().unwrap()),
        "the hook was asked again after it said to stop: {heard:?}"
    );
    assert_eq!(snapshot_tree(&f.t.dir), before, "a cancelled check changed the store");
    heard
}

#[test]
fn returning_false_cancels_the_check_where_it_is() {
    let f = fixture("check-cancel");
    let clean = lines(&f.store.check(&full()).unwrap());

    // At the start of a later step.
    let heard = cancel_at(&f, |_, p| p.step == CheckStep::Images);
    assert_eq!(heard.last().map(|p| (p.step, p.done)), Some((CheckStep::Images, 0)));

    // In the middle of the big layer's diff (the second layer): the third question is (Layers,
    // 1) again, asked while that diff is read, and nothing follows it.
    let heard = cancel_at(&f, |at, _| at == 2);
    let counts: Vec<(CheckStep, usize)> = heard.iter().map(|p| (p.step, p.done)).collect();
    assert_eq!(counts, [(CheckStep::Layers, 0), (CheckStep::Layers, 1), (CheckStep::Layers, 1)]);

    // The very first question.
    assert_eq!(cancel_at(&f, |_, _| true).len(), 1);

    // Nothing was left behind: the next check gives the same report.
    assert_eq!(lines(&f.store.check(&full()).unwrap()), clean);
}
