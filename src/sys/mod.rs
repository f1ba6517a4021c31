//! The one place the core talks to the kernel (and libc) through raw calls: every `unsafe`
//! system call of the core lives under this module, one file per topic, each wrapper a safe
//! function over Rust types (`BorrowedFd`/`impl AsFd`, `&CStr`, slices) returning
//! `std::io::Result` with the OS error, around one small `unsafe` block with a `// SAFETY:`
//! comment. The model is libpathrs's `syscalls.rs`.
//!
//! `copy`: what the tree copier (driver/copy/) and its data copy (driver/clone_file.rs) need.

pub(crate) mod copy;
