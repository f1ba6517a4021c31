//! The raw arguments of exported functions, converted: every read through a pointer the caller
//! passes in (handles, C strings, string arrays, byte buffers, ID maps), every write through an
//! out-parameter, and the file descriptors the caller lends.
//!
//! `arg!` is how `boundary!` converts each parameter it lists, in the one `unsafe` block of
//! argument handling; the `*_arg` helpers it calls check for NULL (a required pointer that is
//! NULL becomes `NullParameter` naming the parameter) and for UTF-8. Nothing here imports the
//! rest of `capi` but the `cs_id_map` struct, so the boundary, the error and string files and
//! every noun can build on it.

use std::ffi::CStr;
use std::fs::File;
use std::os::fd::BorrowedFd;
use std::os::raw::{c_char, c_int};
use std::slice;

use super::id_map::cs_id_map;
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::idmap::IdMap;

/// Converts one raw parameter for `boundary!`; a required pointer that is NULL becomes
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
/// | `out` | `T *` | `Out<T>` |
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
        $crate::capi::arguments::handle_arg($p, $name)
    };
    (handle_mut, $p:ident, $name:expr) => {
        $crate::capi::arguments::handle_mut_arg($p, $name)
    };
    (opt_handle, $p:ident, $name:expr) => {
        Ok::<_, $crate::Error>($p.as_ref())
    };
    (owned, $p:ident, $name:expr) => {
        Ok::<_, $crate::Error>($crate::capi::arguments::owned_arg($p))
    };
    (str, $p:ident, $name:expr) => {
        $crate::capi::arguments::str_arg($p, $name)
    };
    (opt_str, $p:ident, $name:expr) => {
        $crate::capi::arguments::opt_str_arg($p, $name)
    };
    (strs, $p:ident, $name:expr, $n:ident) => {
        $crate::capi::arguments::str_array_arg($p, $n, $name)
    };
    (bytes, $p:ident, $name:expr, $n:ident) => {
        $crate::capi::arguments::slice_arg($p, $n, $name)
    };
    (id_maps, $p:ident, $name:expr, $n:ident) => {
        $crate::capi::arguments::id_maps_arg($p, $n, $name)
    };
    (out, $p:ident, $name:expr) => {
        $crate::capi::arguments::Out::new($p, $name)
    };
    (opt_out, $p:ident, $name:expr) => {
        Ok::<_, $crate::Error>($crate::capi::arguments::Out::optional($p))
    };
}

/// The error for a required pointer (or callback) the caller passed as NULL.
pub(crate) fn null_parameter(name: &str) -> Error {
    Error::new(ErrorKind::NullParameter, format!("parameter `{name}` must not be NULL"))
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
    // SAFETY: by the caller's promise `ptr` is NULL (`as_ref` then gives `None`) or points to a
    // live `T`.
    unsafe { ptr.as_ref() }.ok_or_else(|| null_parameter(name))
}

/// # Safety
/// `ptr` must be NULL or point to a live `T` nobody else uses during the call.
pub(crate) unsafe fn handle_mut_arg<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: by the caller's promise `ptr` is NULL (`as_mut` then gives `None`) or points to a
    // live `T` that nothing else uses during the call, so the reference is unique.
    unsafe { ptr.as_mut() }.ok_or_else(|| null_parameter(name))
}

/// # Safety
/// `ptr` must be NULL or come from `Box::into_raw` in this library, and not be used again.
pub(crate) unsafe fn owned_arg<T>(ptr: *mut T) -> Option<Box<T>> {
    // SAFETY: only reached for non-NULL `ptr`, which by the caller's promise came from
    // `Box::into_raw` and is not used again, so the box is taken back exactly once.
    (!ptr.is_null()).then(|| unsafe { Box::from_raw(ptr) })
}

/// # Safety
/// `ptr` must be NULL or a NUL-terminated string alive for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    // SAFETY: the caller's promise on `ptr` is the one `opt_str_arg` requires.
    unsafe { opt_str_arg(ptr, name) }?.ok_or_else(|| null_parameter(name))
}

/// # Safety
/// `ptr` must be NULL or a NUL-terminated string alive for `'a`.
pub(crate) unsafe fn opt_str_arg<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and NUL-terminated per the caller's promise.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes
        .to_str()
        .map(Some)
        .map_err(|_| Error::invalid(format!("parameter `{name}` is not valid UTF-8")))
}

/// # Safety
/// `ptr` must be NULL or point to `count` pointers, each NULL or a NUL-terminated string.
pub(crate) unsafe fn str_array_arg(
    ptr: *const *const c_char,
    count: usize,
    name: &str,
) -> Result<Vec<String>> {
    // SAFETY: the caller's promise on `ptr` and `count` is the one `slice_arg` requires.
    let items = unsafe { slice_arg(ptr, count, name) }?;
    items
        .iter()
        .enumerate()
        // SAFETY: each element is NULL or a string, per the caller's promise.
        .map(|(i, &item)| unsafe { str_arg(item, &format!("{name}[{i}]")) }.map(String::from))
        .collect()
}

/// # Safety
/// `ptr` must be NULL or point to `count` maps.
pub(crate) unsafe fn id_maps_arg(
    ptr: *const cs_id_map,
    count: usize,
    name: &str,
) -> Result<Vec<IdMap>> {
    // SAFETY: the caller's promise on `ptr` and `count` is the one `slice_arg` requires.
    let maps = unsafe { slice_arg(ptr, count, name) }?;
    let maps: Vec<IdMap> = maps.iter().map(IdMap::from).collect();
    crate::idmap::validate(&maps, name)?;
    Ok(maps)
}

/// An array of `count` items (byte buffers, string arrays, ID maps): empty when `count` is 0,
/// whatever `ptr` is, as the header allows NULL then.
///
/// # Safety
/// `ptr` must be NULL or point to `count` readable items alive for `'a`.
pub(crate) unsafe fn slice_arg<'a, T>(ptr: *const T, count: usize, name: &str) -> Result<&'a [T]> {
    if count == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(null_parameter(name));
    }
    // SAFETY: non-NULL and `count` long per the caller's promise.
    Ok(unsafe { slice::from_raw_parts(ptr, count) })
}

/// A `File` on a duplicate of the caller's descriptor: reads and writes move the shared file
/// offset as the caller would expect, and dropping it never closes the caller's descriptor.
pub(crate) fn lent_fd(fd: c_int, name: &str) -> Result<File> {
    if fd < 0 {
        return Err(Error::with_errno(
            ErrorKind::InvalidArgument,
            libc::EBADF,
            format!("parameter `{name}` is not a file descriptor ({fd})"),
        ));
    }
    // SAFETY: the caller lends an open descriptor for the duration of the call (the header's
    // contract for every `int fd` parameter); it is only used here, to duplicate it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    Ok(File::from(
        borrowed
            .try_clone_to_owned()
            .ctx(format_args!("duplicating file descriptor `{name}` ({fd})"))?,
    ))
}
