//! Error texts. Plain-text output reports libcstorage's own messages, which name the record
//! and say what is wrong. JSON output embeds errors in stdout, where scripts compare them, so
//! there the text is the one containers-storage 1.43 prints for the same condition (c/storage's
//! sentinel error values, with the context the Go tool adds).

use cstorage::{Error, ErrorKind};

/// c/storage's message for the sentinel error that corresponds to `kind`, if any.
pub fn sentinel(kind: ErrorKind) -> Option<&'static str> {
    Some(match kind {
        // Go's store-wide lookups fail with ErrLayerUnknown whatever was looked for.
        ErrorKind::LayerUnknown | ErrorKind::Unknown => "layer not known",
        ErrorKind::ImageUnknown => "image not known",
        ErrorKind::ContainerUnknown => "container not known",
        ErrorKind::DuplicateName => "that name is already in use",
        ErrorKind::DuplicateId => "that ID is already in use",
        ErrorKind::LayerHasChildren => "layer has children",
        ErrorKind::LayerUsedByImage => "layer is in use by an image",
        ErrorKind::LayerUsedByContainer => "layer is in use by a container",
        ErrorKind::ImageUsedByContainer => "image is in use by a container",
        ErrorKind::LayerNotMounted => "layer is not mounted",
        ErrorKind::SizeUnknown => "size is not known",
        ErrorKind::ParentIsContainer => "would-be parent layer is a container",
        ErrorKind::StoreReadOnly => "a read-only store was asked to change",
        _ => return None,
    })
}

/// The Go tool's text for an error without added context: the sentinel message, else ours.
pub fn go_text(error: &Error) -> String {
    sentinel(error.kind()).map(str::to_string).unwrap_or_else(|| error.message().to_string())
}
