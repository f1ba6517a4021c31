//! The one error type of the core: a kind (what went wrong, stable for callers to branch on),
//! the OS errno when one caused it, and a message for humans.

use std::fmt;
use std::io;

/// What went wrong. The C API maps each kind to a fixed negative `cs_result` code, so kinds are
/// only ever added, never renumbered or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    // Mirrors of containers/storage's error values.
    LayerUnknown,
    ImageUnknown,
    ContainerUnknown,
    /// Store-wide lookup found no layer, image or container (Go: ErrLayerUnknown from Lookup).
    Unknown,
    DuplicateId,
    DuplicateName,
    LayerHasChildren,
    LayerUsedByImage,
    LayerUsedByContainer,
    ImageUsedByContainer,
    LayerNotMounted,
    StoreReadOnly,
    NotSupported,
    SizeUnknown,
    /// A big-data key that the record does not have.
    BigDataUnknown,
    /// The layer is still being created or deleted by someone (incomplete flag set).
    LayerIncomplete,
    /// A container's read-write layer cannot be the parent of another layer.
    ParentIsContainer,
    /// The layer chain is deeper than the driver can mount.
    MaxDepthExceeded,
    // The library's own.
    InvalidArgument,
    NullParameter,
    Io,
    CorruptMetadata,
    DigestMismatch,
    BadArchive,
    CallbackFailed,
    Cancelled,
    Panic,
    Config,
    Mount,
    // Images in and out (OCI image layouts, src/oci).
    /// A blob is longer or shorter than its descriptor says.
    BlobSizeMismatch,
    /// A blob a descriptor names is not in the layout.
    BlobUnknown,
    /// No manifest of the index is for the platform asked for.
    NoMatchingPlatform,
    /// A layout path is a symlink or leaves the layout directory.
    UnsafeLayoutPath,
    /// index.json, a manifest or a config is malformed or of an unsupported kind.
    BadLayout,
    /// The layout has no image under the reference (tag) asked for.
    ReferenceUnknown,
}

#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    errno: i32,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, errno: 0, message: message.into() }
    }

    pub fn with_errno(kind: ErrorKind, errno: i32, message: impl Into<String>) -> Self {
        Error { kind, errno, message: message.into() }
    }

    /// An I/O failure, with what we were doing and on which path.
    pub fn io(context: impl fmt::Display, err: io::Error) -> Self {
        Error {
            kind: ErrorKind::Io,
            errno: err.raw_os_error().unwrap_or(0),
            message: format!("{context}: {err}"),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub fn corrupt(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::CorruptMetadata, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn errno(&self) -> i32 {
        self.errno
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefix the message with more context, keeping kind and errno.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Attach a description of the operation to an `io::Result`.
pub trait IoContext<T> {
    fn ctx(self, context: impl fmt::Display) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::io(context, e))
    }
}
