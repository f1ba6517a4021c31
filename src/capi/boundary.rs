//! The one gate every exported function goes through.
//!
//! [`boundary!`] converts the raw arguments (checking required pointers for NULL and strings
//! for UTF-8), runs the body under `catch_unwind`, and turns the outcome into what C expects:
//! for fallible functions a `cs_result` plus an optional owned `cs_error`, for the others the
//! value or, on a NULL handle or a panic, a harmless fallback (NULL, 0, false).
//!
//! All the `unsafe` of argument handling lives here and in the `*_arg` helpers it calls; the
//! bodies of exported functions work with references, `&str`s and [`Out`] slots.

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
/// Each `name: kind` shadows the raw parameter `name` with its converted form; see [`arg!`] for
/// the kinds. Every pointer parameter of an export is listed, so that none is used unchecked;
/// the exceptions are opaque `userdata` (never dereferenced) and `cs_string_free`,
/// `cs_bytes_free` and `cs_strarray_dispose`, which take NULL and free memory of their own kind.
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

/// Converts one raw parameter for [`boundary!`]; a required pointer that is NULL becomes
/// `NullParameter` with the parameter's name.
///
/// | kind | C type | Rust value |
/// |---|---|---|
/// | `handle` | `const T *` | `&T` |
/// | `handle_mut` | `T *` | `&mut T` |
/// | `opt_handle` | `const T *` or NULL | `Option<&T>` |
/// | `owned` | `T *` or NULL, ownership passed in | `Option<Box<T>>` |
/// | `str` | `const char *` | `&str` |
/// | `opt_str` | `const char *` or NULL | `Option<&str>` |
/// | `strs(count)` | `const char *const *`, NULL if count is 0 | `Vec<String>` |
/// | `bytes(len)` | `const uint8_t *`, NULL if len is 0 | `&[u8]` |
/// | `id_maps(count)` | `const cs_id_map *`, NULL if count is 0 | `Vec<IdMap>` |
/// | `out` | `T *` | [`Out<T>`] |
/// | `opt_out` | `T *` or NULL | `Option<Out<T>>` |
macro_rules! arg {
    ($kind:ident, $param:ident $(, $extra:ident)?) => {
        // SAFETY: the header's contract: every pointer a caller passes is NULL or valid for the
        // duration of the call (strings NUL-terminated, arrays as long as their count, handles
        // made by this library and not yet freed). NULL is checked by the helper.
        unsafe { arg_kind!($kind, $param, stringify!($param) $(, $extra)?) }
    };
}

macro_rules! arg_kind {
    (handle, $p:ident, $name:expr) => {
        $crate::capi::boundary::handle_arg($p, $name)
    };
    (handle_mut, $p:ident, $name:expr) => {
        $crate::capi::boundary::handle_mut_arg($p, $name)
    };
    (opt_handle, $p:ident, $name:expr) => {
        Ok::<_, $crate::Error>($p.as_ref())
    };
    (owned, $p:ident, $name:expr) => {
        Ok::<_, $crate::Error>($crate::capi::boundary::owned_arg($p))
    };
    (str, $p:ident, $name:expr) => {
        $crate::capi::strings::str_arg($p, $name)
    };
    (opt_str, $p:ident, $name:expr) => {
        $crate::capi::strings::opt_str_arg($p, $name)
    };
    (strs, $p:ident, $name:expr, $n:ident) => {
        $crate::capi::strings::str_array_arg($p, $n, $name)
    };
    (bytes, $p:ident, $name:expr, $n:ident) => {
        $crate::capi::strings::bytes_arg($p, $n, $name)
    };
    (id_maps, $p:ident, $name:expr, $n:ident) => {
        $crate::capi::id_map::id_maps_arg($p, $n, $name)
    };
    (out, $p:ident, $name:expr) => {
        $crate::capi::boundary::Out::new($p, $name)
    };
    (opt_out, $p:ident, $name:expr) => {
        Ok::<_, $crate::Error>($crate::capi::boundary::Out::optional($p))
    };
}

/// A caller's out-parameter, checked non-NULL. Written only at the end of a successful call.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// # Safety
    /// `ptr` must be NULL or valid for a write of `T`.
    pub(crate) unsafe fn new(ptr: *mut T, name: &str) -> Result<Self> {
        if ptr.is_null() {
            return Err(null_parameter(name));
        }
        Ok(Out(ptr))
    }

    /// # Safety
    /// `ptr` must be NULL or valid for a write of `T`.
    pub(crate) unsafe fn optional(ptr: *mut T) -> Option<Self> {
        (!ptr.is_null()).then_some(Out(ptr))
    }

    pub(crate) fn write(self, value: T) {
        // SAFETY: `new` checked the pointer for NULL and its caller vouched for validity. The
        // old value is not dropped: it is caller memory, uninitialised as far as we know.
        unsafe { self.0.write(value) }
    }
}

/// # Safety
/// `ptr` must be NULL or point to a live `T`.
pub(crate) unsafe fn handle_arg<'a, T>(ptr: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: forwarded from the caller.
    unsafe { ptr.as_ref() }.ok_or_else(|| null_parameter(name))
}

/// # Safety
/// `ptr` must be NULL or point to a live `T` nobody else uses during the call.
pub(crate) unsafe fn handle_mut_arg<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: forwarded from the caller.
    unsafe { ptr.as_mut() }.ok_or_else(|| null_parameter(name))
}

/// # Safety
/// `ptr` must be NULL or come from `Box::into_raw` in this library, and not be used again.
pub(crate) unsafe fn owned_arg<T>(ptr: *mut T) -> Option<Box<T>> {
    // SAFETY: forwarded from the caller.
    (!ptr.is_null()).then(|| unsafe { Box::from_raw(ptr) })
}

/// Hand a new object to C; it comes back through an `owned` parameter of its free function.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

pub(crate) fn null_parameter(name: &str) -> Error {
    Error::new(ErrorKind::NullParameter, format!("parameter `{name}` must not be NULL"))
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
