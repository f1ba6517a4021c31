//! A failed copy: which step failed on which entry, and why. The copier names the step rather
//! than wording a message, because its callers word failures differently: the drivers as the
//! rest of the core does ("creating X: ..."), the CLI's `copy` as the Go tool's messages go
//! ("mkdir X: ..."); `From<CopyError> for Error` is the drivers' wording.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// What the copier was doing when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Opening a source directory.
    OpenSourceDir,
    /// Opening a directory of the copy.
    OpenCopyDir,
    /// Reading a source entry's inode.
    ReadSource,
    /// Listing a source directory.
    ListSource,
    /// Reading the inode of a new copy (or, in a merge, of what is at its path).
    ReadCopy,
    /// Removing what is at the copy's path, in a merge.
    Replace,
    /// Linking a copy to the copy of an earlier link of the same source inode.
    Link,
    MakeDir,
    ReadLink,
    MakeSymlink,
    /// Making a device node, fifo or socket.
    MakeNode,
    OpenSourceFile,
    CreateFile,
    CopyData,
    /// Working out the copy's owner (a shift the maps do not cover).
    MapOwner,
    ChangeOwner,
    ListXattrs,
    CopyXattrs,
    ChangeMode,
    SetTimes,
}

/// Why a step failed: the OS error of its call, or an error of the core (xattr copy, ID maps).
#[derive(Debug)]
pub enum Cause {
    Os(io::Error),
    Core(Error),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Os(e) => e.fmt(f),
            Cause::Core(e) => e.fmt(f),
        }
    }
}

#[derive(Debug)]
pub struct CopyError {
    pub step: Step,
    /// The source entry the step was about, and the path of its copy.
    pub from: PathBuf,
    pub to: PathBuf,
    pub cause: Cause,
}

impl CopyError {
    pub(super) fn new(step: Step, from: &Path, to: &Path, cause: Cause) -> Self {
        CopyError { step, from: from.to_path_buf(), to: to.to_path_buf(), cause }
    }
}

/// Name the step and entry of a failed call.
pub(super) trait AtStep<T> {
    fn at(self, step: Step, from: &Path, to: &Path) -> Result<T, CopyError>;
}

impl<T> AtStep<T> for io::Result<T> {
    fn at(self, step: Step, from: &Path, to: &Path) -> Result<T, CopyError> {
        self.map_err(|e| CopyError::new(step, from, to, Cause::Os(e)))
    }
}

impl<T> AtStep<T> for Result<T, Error> {
    fn at(self, step: Step, from: &Path, to: &Path) -> Result<T, CopyError> {
        self.map_err(|e| CopyError::new(step, from, to, Cause::Core(e)))
    }
}

impl<T> AtStep<T> for Result<T, Cause> {
    fn at(self, step: Step, from: &Path, to: &Path) -> Result<T, CopyError> {
        self.map_err(|cause| CopyError::new(step, from, to, cause))
    }
}

/// The drivers' wording: what was being done, on which path, then the OS error; an error of
/// the core as it is.
impl From<CopyError> for Error {
    fn from(e: CopyError) -> Error {
        let err = match e.cause {
            Cause::Os(err) => err,
            Cause::Core(err) => return err,
        };
        let (from, to) = (e.from.display(), e.to.display());
        let context = match e.step {
            Step::OpenSourceDir | Step::OpenSourceFile => format!("opening {from}"),
            Step::OpenCopyDir => format!("opening {to}"),
            Step::ReadSource => format!("reading {from}"),
            Step::ListSource => format!("reading directory {from}"),
            Step::ReadCopy => format!("reading {to}"),
            Step::Replace => format!("replacing {to}"),
            Step::Link => format!("linking {to}"),
            Step::MakeDir | Step::CreateFile => format!("creating {to}"),
            Step::ReadLink => format!("reading link {from}"),
            Step::MakeSymlink => format!("creating symlink {to}"),
            Step::MakeNode => format!("creating node {to}"),
            Step::CopyData => format!("copying {from} to {to}"),
            Step::MapOwner => format!("mapping the owner of {from}"),
            Step::ChangeOwner => format!("changing owner of {to}"),
            Step::ListXattrs => format!("listing xattrs of {from}"),
            Step::CopyXattrs => format!("copying xattrs of {from}"),
            Step::ChangeMode => format!("changing mode of {to}"),
            Step::SetTimes => format!("setting times of {to}"),
        };
        Error::io(context, err)
    }
}
