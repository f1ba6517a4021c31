//! What the library reports (settings it does not implement, crash leftovers removed, names
//! repaired) goes to stderr as the Go tool's logrus lines: warnings and errors always, info and
//! debug with `--debug`. stdout stays the command's output alone.

use std::sync::atomic::{AtomicBool, Ordering};

use cstorage::log::Level;

static DEBUG: AtomicBool = AtomicBool::new(false);

/// Start printing the library's messages; `debug` adds the info and debug ones (a later call
/// changes only that).
pub fn print_library_messages(debug: bool) {
    DEBUG.store(debug, Ordering::Relaxed);
    cstorage::log::set_listener(print_message);
}

fn print_message(level: Level, message: &dyn Fn() -> String) {
    let word = match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
    };
    if matches!(level, Level::Error | Level::Warn) || DEBUG.load(Ordering::Relaxed) {
        errln!("{}", crate::global::log_line(word, &message()));
    }
}
