//! A large regular file filled by the writer pool in pieces, so that the extracting thread
//! reads on past it instead of writing it itself (on a root file system the few files over a
//! MiB hold about half of the bytes).
//!
//! The pieces share the one descriptor the extracting thread created in stream order and each
//! writes at its own offset (pwrite), so they may land in any order and on any writer; one at a
//! time per file, because writers of one file only queue on its inode lock in the kernel
//! (spinning there cost more system time than the pieces saved). What a
//! file's metadata needs (owner, xattrs, mode, times after every byte, as a one-by-one
//! extraction sets them) is the job of whichever piece is written last: each piece counts
//! itself off once its bytes are written, and the one that brings the count to zero finishes
//! the file. A piece that fails does not count itself off, so a file whose contents are not
//! all written never gets its metadata (the import fails anyway).
//!
//! Ordering against other entries is the pool's: a file is complete once the pool is idle, and
//! the pool reports the earliest failed job in stream order, pieces included.

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes of a file a piece holds (the last piece holds the rest). Small enough to still be in
/// the CPU's cache when a writer copies it into the page cache (2 MiB pieces made import of a
/// 2 GiB file 1.5x slower on a 2-core machine, 128 KiB ones about as fast as writing inline).
pub const PIECE_BYTES: usize = 128 << 10;

/// The part of a pieced file all its pieces share.
struct Shared<M> {
    file: File,
    /// Held while a piece is written (see the module documentation).
    writing: Mutex<()>,
    /// Pieces not yet written.
    pieces_left: AtomicU64,
    /// What the last piece needs to finish the file (its name and metadata).
    meta: M,
}

/// One piece of a file: the bytes of `parts`, one after the other, belong at `offset` (a piece
/// read from a stream may straddle two of its buffers).
pub struct Piece<M, B> {
    shared: Arc<Shared<M>>,
    offset: u64,
    len: usize,
    parts: Vec<B>,
}

/// Hands out the pieces of one file of `size` bytes, in order.
pub struct PiecedFile<M> {
    shared: Arc<Shared<M>>,
    next_offset: u64,
    size: u64,
}

impl<M> PiecedFile<M> {
    /// `file` was created empty and will hold `size` bytes in [`PIECE_BYTES`] pieces.
    pub fn new(file: File, size: u64, meta: M) -> Self {
        let pieces = size.div_ceil(PIECE_BYTES as u64);
        PiecedFile {
            shared: Arc::new(Shared {
                file,
                writing: Mutex::new(()),
                pieces_left: AtomicU64::new(pieces),
                meta,
            }),
            next_offset: 0,
            size,
        }
    }

    /// Bytes the next piece must hold (0 once all pieces are out).
    pub fn next_piece_len(&self) -> usize {
        (self.size - self.next_offset).min(PIECE_BYTES as u64) as usize
    }

    /// The next piece, holding `parts` (of [`Self::next_piece_len`] bytes in all).
    pub fn piece<B: Deref<Target = [u8]>>(&mut self, parts: Vec<B>) -> Piece<M, B> {
        let len: usize = parts.iter().map(|part| part.len()).sum();
        assert_eq!(len, self.next_piece_len(), "pieces are cut at PIECE_BYTES");
        let offset = self.next_offset;
        self.next_offset += len as u64;
        Piece { shared: Arc::clone(&self.shared), offset, len, parts }
    }
}

impl<M, B: Deref<Target = [u8]>> Piece<M, B> {
    /// Bytes the piece holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Write the piece; when it is the file's last one written, call `finish` with the file and
    /// its metadata (after every piece's bytes are in the file).
    pub fn write<E>(
        self,
        write_failed: impl FnOnce(&M, io::Error) -> E,
        finish: impl FnOnce(&File, &M) -> Result<(), E>,
    ) -> Result<(), E> {
        let shared = &self.shared;
        let written = {
            let _one_writer =
                shared.writing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut at = self.offset;
            self.parts.iter().try_for_each(|part| {
                shared.file.write_all_at(part, at)?;
                at += part.len() as u64;
                Ok(())
            })
        };
        if let Err(e) = written {
            return Err(write_failed(&shared.meta, e));
        }
        // AcqRel: the finishing piece sees every other piece's write as done.
        if shared.pieces_left.fetch_sub(1, Ordering::AcqRel) == 1 {
            finish(&shared.file, &shared.meta)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn temp_file(tag: &str) -> (std::path::PathBuf, File) {
        let path = std::env::temp_dir().join(format!("cs-pieces-{tag}-{}", std::process::id()));
        let file = File::options().read(true).write(true).create_new(true).open(&path).unwrap();
        (path, file)
    }

    #[test]
    fn pieces_written_in_any_order_finish_the_file_once_after_the_last_byte() {
        let (path, file) = temp_file("order");
        let size = 2 * PIECE_BYTES as u64 + 5;
        let contents: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut pieced = PiecedFile::new(file, size, "name");
        let mut pieces = Vec::new();
        let mut at = 0;
        while pieced.next_piece_len() > 0 {
            let n = pieced.next_piece_len();
            // The middle piece in two parts, as when it straddles two of the stream's buffers.
            let parts = match pieces.len() {
                1 => vec![contents[at..at + 7].to_vec(), contents[at + 7..at + n].to_vec()],
                _ => vec![contents[at..at + n].to_vec()],
            };
            pieces.push(pieced.piece(parts));
            at += n;
        }
        assert_eq!(pieces.len(), 3);
        let finished = std::cell::Cell::new(0);
        // Last piece first: the file is finished by the piece written last, not the last piece.
        for piece in pieces.into_iter().rev() {
            piece
                .write(
                    |_, e| e,
                    |file, meta| {
                        assert_eq!(*meta, "name");
                        assert_eq!(file.metadata()?.size(), size, "finished after every byte");
                        finished.set(finished.get() + 1);
                        Ok(())
                    },
                )
                .unwrap();
        }
        assert_eq!(finished.get(), 1);
        assert_eq!(std::fs::read(&path).unwrap(), contents);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_failed_piece_leaves_the_file_unfinished() {
        let (path, file) = temp_file("fail");
        let read_only = File::open(&path).unwrap();
        drop(file);
        let mut pieced = PiecedFile::new(read_only, 3, ());
        let piece = pieced.piece(vec![b"abc".to_vec()]);
        let result = piece.write(|_, e| e, |_, _| panic!("finished although the write failed"));
        assert_eq!(result.unwrap_err().raw_os_error(), Some(libc::EBADF));
        std::fs::remove_file(path).unwrap();
    }
}
