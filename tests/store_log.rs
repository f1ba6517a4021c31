//! The core reports repairs through the log facade (the C API forwards it to the caller's
//! callback). Its own binary: the listener is process-wide.

mod common;

use std::fs;
use std::sync::Mutex;

use common::TempStore;
use cstorage::log::{set_listener, Level};
use cstorage::LayerOptions;

static SEEN: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

fn collect(level: Level, message: &dyn Fn() -> String) {
    SEEN.lock().unwrap().push((level, message()));
}

#[test]
fn repairs_of_a_crashed_store_are_logged() {
    set_listener(collect);
    let t = TempStore::new("log");
    let store = t.open();
    let layer = store.create_layer(&LayerOptions::default()).unwrap();
    drop(store);
    let path = t.graph().join("vfs-layers/layers.json");
    let json = fs::read_to_string(&path).unwrap();
    let needle = format!("\"id\":\"{}\",", layer.id);
    fs::write(&path, json.replace(&needle, &format!("{needle}\"flags\":{{\"incomplete\":true}},")))
        .unwrap();

    assert!(t.open().layers().unwrap().is_empty());
    let seen = SEEN.lock().unwrap();
    assert!(
        seen.iter().any(|(level, m)| *level == Level::Warn
            && m.contains(&layer.id)
            && m.contains("incomplete")),
        "{seen:?}"
    );
}
