//! The process-wide log callback. The library never writes to stdout or stderr; what it has to
//! say goes to the callback a program sets, and nowhere when none is set.

use std::ffi::c_void;
use std::os::raw::c_char;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::RwLock;

use super::strings::c_string;

/// How serious a log message is; a smaller number is more serious.
pub type cs_log_level = i32;

/// The library hit a bug (a panic) or lost data.
pub const CS_LOG_ERROR: cs_log_level = 1;
/// Something went wrong that the library worked around.
pub const CS_LOG_WARN: cs_log_level = 2;
/// Notable events.
pub const CS_LOG_INFO: cs_log_level = 3;
/// Why a call failed, and other details for debugging.
pub const CS_LOG_DEBUG: cs_log_level = 4;
/// Everything.
pub const CS_LOG_TRACE: cs_log_level = 5;

/// Receives one log message: `level` is a `CS_LOG_*` value, `message` a NUL-terminated UTF-8
/// string valid only during the call.
pub type cs_log_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, level: cs_log_level, message: *const c_char),
>;

struct Sink {
    callback: unsafe extern "C" fn(*mut c_void, cs_log_level, *const c_char),
    userdata: *mut c_void,
}

// SAFETY: `cs_set_log_callback` documents that the callback may be called from any thread with
// `userdata`; the library never dereferences it.
unsafe impl Send for Sink {}
// SAFETY: sharing a `Sink` only lets threads call the callback concurrently, which
// `cs_set_log_callback` documents as allowed; `userdata` is only passed along.
unsafe impl Sync for Sink {}

/// The callback, read-locked while it runs so that once `cs_set_log_callback` returns, the old
/// callback is neither running nor called again and its userdata may be freed.
static SINK: RwLock<Option<Sink>> = RwLock::new(None);
/// The most verbose level wanted; 0 while no callback is set, so that silent logging costs one
/// atomic load and no formatting.
static MAX_LEVEL: AtomicI32 = AtomicI32::new(0);

/// Send messages up to `max_level` (a `CS_LOG_*` value) to `callback` with `userdata`, for the
/// whole process; `callback` NULL (the default) silences the library. The callback may be called
/// on any thread, concurrently, during any call; it must not call back into the library. When
/// this function returns, the previous callback is no longer running and will not be called again.
#[no_mangle]
pub extern "C" fn cs_set_log_callback(
    callback: cs_log_fn,
    userdata: *mut c_void,
    max_level: cs_log_level,
) {
    boundary!(=> {
        crate::log::set_listener(forward_core_message);
        let mut sink = SINK.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *sink = callback.map(|callback| Sink { callback, userdata });
        MAX_LEVEL.store(if sink.is_some() { max_level } else { 0 }, Ordering::Release);
    })
}

/// The core's messages, to the caller's callback.
fn forward_core_message(level: crate::log::Level, message: &dyn Fn() -> String) {
    emit(level as cs_log_level, message);
}

/// Log a message; `message` is only formatted when someone listens at `level`.
pub(crate) fn emit(level: cs_log_level, message: impl FnOnce() -> String) {
    if level > MAX_LEVEL.load(Ordering::Acquire) {
        return;
    }
    let sink = SINK.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(sink) = sink.as_ref() {
        let text = c_string(&message());
        // SAFETY: a C function pointer of this signature, given to `cs_set_log_callback` with
        // this userdata; the message outlives the call.
        unsafe { (sink.callback)(sink.userdata, level, text.as_ptr()) }
    }
}
