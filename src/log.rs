//! What the library has to say, for whoever listens: the core reports notable events here (a
//! layer left incomplete by a crash removed, duplicate names repaired), and the C API forwards
//! them to the caller's log callback. Nobody listens by default, and then a message costs one
//! load and is never formatted.

use std::sync::OnceLock;

/// Numbered like the C API's `CS_LOG_*` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

/// Receives a level and a way to format the message (called only if the level is wanted).
pub type Listener = fn(Level, &dyn Fn() -> String);

static LISTENER: OnceLock<Listener> = OnceLock::new();

/// Route messages to `listener`, for the whole process. Only the first call takes effect: the
/// listener is the C API's forwarder, which itself decides where messages go.
pub fn set_listener(listener: Listener) {
    let _ = LISTENER.set(listener);
}

pub fn log(level: Level, message: impl Fn() -> String) {
    if let Some(listener) = LISTENER.get() {
        listener(level, &message);
    }
}
