//! The one gate every exported function goes through.
//!
//! `boundary!` converts the raw arguments (checking required pointers for NULL and strings
//! for UTF-8), runs the body under `catch_unwind`, and turns the outcome into what C expects:
//! for fallible functions a `cs_result` plus an optional owned `cs_error`, for the others the
//! value or, on a NULL handle or a panic, a harmless fallback (NULL, 0, false).
//!
//! The conversions themselves (`arg!` and the `*_arg` helpers it calls) live in `arguments`,
//! which holds all the `unsafe` of argument handling; the bodies of exported functions work
//! with references, `&str`s and `Out` slots.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::Once;

use super::error::cs_error;
use super::log::{self, CS_LOG_DEBUG, CS_LOG_ERROR};
use super::result::{cs_result, CS_RESULT_OK};
use crate::error::{Error, ErrorKind, Result};

/// Wraps the body of an exported function.
///
/// ```ignore
/// // Fallible: returns cs_result; `err` is the optional `cs_error **` parameter.
/// boundary!(err = err; store: handle, key: str, exists: out => {
///     exists.write(store.exists(key)?);
///     Ok(())
/// })
/// // Infallible: returns the body's value, or the type's fallback on a NULL handle or a panic.
/// boundary!(layer: handle => { layer.id.as_ptr() })
/// ```
///
/// Each `name: kind` shadows the raw parameter `name` with its converted form; see `arg!`
/// (in `arguments`) for the kinds. Every pointer parameter of an export is listed, so that
/// none is used unchecked; the exceptions are opaque `userdata` (never dereferenced) and
/// `cs_string_free`, `cs_bytes_free` and `cs_strarray_dispose`, which take NULL and free memory
/// of their own kind.
macro_rules! boundary {
    (err = $err:ident; $($param:ident : $kind:ident $(($extra:ident))?),* => $body:block) => {
        $crate::capi::boundary::fallible($err, || {
            $( let $param = arg!($kind, $param $(, $extra)?)?; )*
            $body
        })
    };
    ($($param:ident : $kind:ident $(($extra:ident))?),* => $body:block) => {
        $crate::capi::boundary::infallible(|| {
            $( let $param = arg!($kind, $param $(, $extra)?)?; )*
            Ok($body)
        })
    };
}

/// Hand a new object to C; it comes back through an `owned` parameter of its free function.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// What an infallible export returns when its handle is NULL or its body panicked.
pub(crate) trait Fallback {
    fn fallback() -> Self;
}

impl Fallback for () {
    fn fallback() {}
}

impl Fallback for bool {
    fn fallback() -> Self {
        false
    }
}

impl<T> Fallback for *const T {
    fn fallback() -> Self {
        ptr::null()
    }
}

impl<T> Fallback for *mut T {
    fn fallback() -> Self {
        ptr::null_mut()
    }
}

macro_rules! zero_fallback {
    ($($t:ty),*) => { $(impl Fallback for $t { fn fallback() -> Self { 0 } })* };
}
zero_fallback!(i32, u32, i64, usize);

/// Run a fallible body: `CS_RESULT_OK`, or the error's code with the error stored in `*err`.
pub(crate) fn fallible(err: *mut *mut cs_error, body: impl FnOnce() -> Result<()>) -> cs_result {
    let error = match catch(body) {
        Ok(()) => return CS_RESULT_OK,
        Err(e) => e,
    };
    let error = cs_error::from(&error);
    let code = error.code();
    log::emit(CS_LOG_DEBUG, || error.to_string());
    if err.is_null() {
        return code;
    }
    // SAFETY: `err` is the caller's optional `cs_error **`, NULL (checked) or valid.
    let slot = unsafe { &mut *err };
    if slot.is_null() {
        *slot = into_handle(error);
    } else {
        // An error from an earlier call is still there: keep it rather than leak or free it.
        log::emit(CS_LOG_DEBUG, || format!("*err was not NULL on entry; dropping {error}"));
    }
    code
}

/// Run an infallible body: its value, or the fallback when an argument was NULL or it panicked.
pub(crate) fn infallible<R: Fallback>(body: impl FnOnce() -> Result<R>) -> R {
    catch(body).unwrap_or_else(|_| R::fallback())
}

/// Run `body`, turning a panic into an `ErrorKind::Panic` error.
fn catch<R>(body: impl FnOnce() -> Result<R>) -> Result<R> {
    install_quiet_panic_hook();
    let was_inside = INSIDE_BOUNDARY.with(|inside| inside.replace(true));
    // AssertUnwindSafe: after a panic the caller gets CS_RESULT_PANIC and the store's state
    // lives on disk under its locks; the core recovers poisoned in-memory mutexes itself.
    let outcome = panic::catch_unwind(AssertUnwindSafe(body));
    INSIDE_BOUNDARY.with(|inside| inside.set(was_inside));
    outcome.unwrap_or_else(|payload| {
        Err(Error::new(ErrorKind::Panic, format!("panic: {}", panic_message(&*payload))))
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

thread_local! {
    /// Whether this thread is running library code under [`catch`].
    static INSIDE_BOUNDARY: Cell<bool> = const { Cell::new(false) };
}

/// The default panic hook prints to stderr, and the library never prints: panics inside the
/// boundary go to the log callback instead. Panics elsewhere in the process (a Rust host
/// linking us statically) still reach the hook that was there before.
fn install_quiet_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if INSIDE_BOUNDARY.with(Cell::get) {
                log::emit(CS_LOG_ERROR, || format!("{info}"));
            } else {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capi::error::{cs_error_code, cs_error_free, cs_error_message};
    use crate::capi::result::{CS_RESULT_NULL_PARAMETER, CS_RESULT_PANIC};
    use std::ffi::CStr;
    use std::os::raw::c_char;

    fn message(err: *const cs_error) -> String {
        // SAFETY: a live error from `fallible`; the message lives as long as the error.
        unsafe { CStr::from_ptr(cs_error_message(err)) }.to_str().unwrap().to_string()
    }

    fn panicking_export(err: *mut *mut cs_error) -> cs_result {
        boundary!(err = err; => { panic!("deliberate {}", 42) })
    }

    fn export_with_string(name: *const c_char, err: *mut *mut cs_error) -> cs_result {
        boundary!(err = err; name: str => {
            assert!(!name.is_empty());
            Ok(())
        })
    }

    #[test]
    fn a_panic_becomes_cs_result_panic_with_its_message() {
        let mut err = ptr::null_mut();
        assert_eq!(panicking_export(&mut err), CS_RESULT_PANIC);
        assert_eq!(cs_error_code(err), CS_RESULT_PANIC);
        assert_eq!(message(err), "panic: deliberate 42");
        cs_error_free(err);
        assert_eq!(panicking_export(ptr::null_mut()), CS_RESULT_PANIC, "err is optional");
    }

    #[test]
    fn a_null_required_pointer_is_named_in_the_error() {
        let mut err = ptr::null_mut();
        assert_eq!(export_with_string(ptr::null(), &mut err), CS_RESULT_NULL_PARAMETER);
        assert_eq!(message(err), "parameter `name` must not be NULL");
        cs_error_free(err);
    }

    #[test]
    fn an_error_already_in_err_is_kept() {
        let mut err = ptr::null_mut();
        export_with_string(ptr::null(), &mut err);
        let first = err;
        assert_eq!(panicking_export(&mut err), CS_RESULT_PANIC);
        assert_eq!(err, first);
        assert_eq!(cs_error_code(err), CS_RESULT_NULL_PARAMETER);
        cs_error_free(err);
    }

    #[test]
    fn infallible_exports_fall_back_on_panic() {
        let value: *const c_char = infallible(|| -> Result<*const c_char> { panic!("boom") });
        assert!(value.is_null());
        let count: usize = infallible(|| Ok(7));
        assert_eq!(count, 7);
    }
}
