//! A bounded pipe of reusable byte chunks between the threads of an import: the caller's thread
//! reads and decompresses the layer stream and pushes it in; a tap ([`ChunkTap`]) on another
//! thread digests the tar as it passes; the extracting thread parses the tar out of it,
//! checksums file data for tar-split and writes the files. Each stage costs about the same on a
//! large layer, so running them side by side divides the import time. Memory is fixed: `CHUNKS`
//! buffers of `CHUNK_SIZE` circulate (`TAPPED_CHUNKS` in a tapped pipe), and the tap sees them
//! without copying.
//!
//! File data is not copied out of the chunks either: [`ChunkReader::share`] hands out slices
//! ([`SharedBytes`]) that keep their chunk alive until the writer that holds them is done, and
//! the last holder of a chunk sends it back to the feeding end. A chunk held by queued writes is
//! therefore not refilled: the writers' backlog is bounded by the chunks in circulation, and the
//! reader must not sleep on the next chunk while writers that could free one sleep too (see
//! [`ChunkReader::wake_before_waiting`]).
//!
//! The tar-split of an import travels the same way, as JSON lines from the extracting thread to
//! the one that compresses them ([`ChunkWriter`]).
//!
//! Either side may stop early. When the extracting side stops (it failed), the feeding side's
//! next send fails and it stops reading; when the feeding side stops (end of stream, or its own
//! failure), the extracting side sees the end of the stream.

use std::io::{self, BufRead, Read, Write};
use std::ops::{Deref, Range};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;

/// Size of one chunk; tar file data is written straight out of it.
pub const CHUNK_SIZE: usize = 1 << 20;
/// Chunks in circulation: enough that neither side waits on the other's short stalls.
const CHUNKS: usize = 4;
/// Chunks in circulation in a tapped pipe, whose reader shares file data with writers: some are
/// held by writes still queued (see [`ChunkReader::share`]).
const TAPPED_CHUNKS: usize = 8;

/// A filled chunk and how many of its bytes are data.
type Filled = (Vec<u8>, usize);

/// The feeding end.
pub struct ChunkSender {
    full: SyncSender<Filled>,
    empty: Receiver<Vec<u8>>,
}

/// The extracting end: a `BufRead` over the chunks in the order they were sent.
pub struct ChunkReader {
    full: Receiver<Filled>,
    empty: SyncSender<Vec<u8>>,
    current: Option<Arc<Chunk>>,
    pos: usize,
    len: usize,
    before_waiting: Option<Box<dyn Fn() + Send>>,
}

/// A chunk being read, shared with the [`SharedBytes`] cut from it. The last owner to let go
/// (the reader moving on, or a writer done with its slice) sends the buffer back for refilling.
struct Chunk {
    buf: Vec<u8>,
    home: SyncSender<Vec<u8>>,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // Never blocks: the channel has room for every chunk there is. Fails only when the
        // feeding end is gone, and then the buffer is simply freed.
        let sent = self.home.try_send(std::mem::take(&mut self.buf));
        debug_assert!(
            !matches!(sent, Err(TrySendError::Full(_))),
            "more chunks than the pipe was made with"
        );
    }
}

/// Bytes of a chunk, kept alive (and the chunk out of circulation) while this exists.
pub struct SharedBytes {
    chunk: Arc<Chunk>,
    range: Range<usize>,
}

impl Deref for SharedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.chunk.buf[self.range.clone()]
    }
}

pub fn chunk_pipe() -> (ChunkSender, ChunkReader) {
    chunk_pipe_of(CHUNKS)
}

fn chunk_pipe_of(chunks: usize) -> (ChunkSender, ChunkReader) {
    let (full_tx, full_rx) = sync_channel(chunks);
    let (empty_tx, empty_rx) = sync_channel(chunks);
    for _ in 0..chunks {
        empty_tx.send(vec![0u8; CHUNK_SIZE]).expect("both ends are alive and the channel has room");
    }
    (
        ChunkSender { full: full_tx, empty: empty_rx },
        ChunkReader {
            full: full_rx,
            empty: empty_tx,
            current: None,
            pos: 0,
            len: 0,
            before_waiting: None,
        },
    )
}

/// A pipe with a tap in the middle: chunks go from the sender through the tap to the reader,
/// and the reader hands spent ones straight back to the sender.
pub fn tapped_chunk_pipe() -> (ChunkSender, ChunkTap, ChunkReader) {
    let (sender, mut reader) = chunk_pipe_of(TAPPED_CHUNKS);
    let (to_reader, from_tap) = sync_channel(TAPPED_CHUNKS);
    let tap = ChunkTap { input: std::mem::replace(&mut reader.full, from_tap), output: to_reader };
    (sender, tap, reader)
}

/// The middle stage of [`tapped_chunk_pipe`].
pub struct ChunkTap {
    input: Receiver<Filled>,
    output: SyncSender<Filled>,
}

impl ChunkTap {
    /// Show every chunk to `inspect`, then pass it on, until the sender is done (the reader then
    /// sees the end) or the reader went away (the sender's next send then fails).
    pub fn run(self, mut inspect: impl FnMut(&[u8])) {
        while let Ok((buf, len)) = self.input.recv() {
            inspect(&buf[..len]);
            if self.output.send((buf, len)).is_err() {
                return;
            }
        }
    }
}

/// Whether [`ChunkSender::pump`] delivered the whole source.
#[derive(Debug, PartialEq, Eq)]
pub enum Pumped {
    /// The source ended and everything was handed over.
    All,
    /// The reader went away first (the extracting side stopped).
    ReaderGone,
}

impl ChunkSender {
    /// Copy `source` into the pipe until it ends. Each chunk is filled completely before it is
    /// sent (fewer hand-overs), except the last. Errors are the source's.
    pub fn pump(self, source: &mut dyn Read) -> io::Result<Pumped> {
        loop {
            let Ok(mut buf) = self.empty.recv() else { return Ok(Pumped::ReaderGone) };
            let mut filled = 0;
            let mut ended = false;
            while filled < buf.len() {
                match source.read(&mut buf[filled..]) {
                    Ok(0) => {
                        ended = true;
                        break;
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if filled > 0 && self.full.send((buf, filled)).is_err() {
                return Ok(Pumped::ReaderGone);
            }
            if ended {
                return Ok(Pumped::All);
            }
        }
    }
}

/// The feeding end as a `Write`: bytes collect in a chunk that goes to the reader when full,
/// and with what is left on [`ChunkWriter::finish`]. A reader that went away makes writes fail
/// with `BrokenPipe`.
pub struct ChunkWriter {
    sender: ChunkSender,
    current: Vec<u8>,
    len: usize,
}

impl ChunkWriter {
    pub fn new(sender: ChunkSender) -> Self {
        ChunkWriter { sender, current: Vec::new(), len: 0 }
    }

    fn send_current(&mut self) -> io::Result<()> {
        let buf = std::mem::take(&mut self.current);
        let len = std::mem::replace(&mut self.len, 0);
        self.sender.full.send((buf, len)).map_err(|_| reader_gone())
    }

    /// Hand over what is buffered and close the pipe: the reader then sees the end.
    pub fn finish(mut self) -> io::Result<()> {
        if self.len > 0 {
            self.send_current()?;
        }
        Ok(())
    }
}

fn reader_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the reading thread stopped")
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.current.is_empty() {
            self.current = self.sender.empty.recv().map_err(|_| reader_gone())?;
        }
        let n = data.len().min(self.current.len() - self.len);
        self.current[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        if self.len == self.current.len() {
            self.send_current()?;
        }
        Ok(n)
    }

    /// Buffered bytes go with the next full chunk or `finish`; the pipe has nothing to flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl ChunkReader {
    /// Call `hook` whenever the reader is about to sleep until the next chunk arrives. Whoever
    /// holds [`SharedBytes`] and only works when woken (the writer pool) must be woken there:
    /// otherwise the chunks they hold never come back, the feeder has none to fill and the
    /// reader sleeps forever.
    pub fn wake_before_waiting(&mut self, hook: Box<dyn Fn() + Send>) {
        self.before_waiting = Some(hook);
    }

    /// The next `len` bytes of what [`BufRead::fill_buf`] returned, without copying them. They
    /// are not consumed: call `consume(len)` next, as after reading them.
    pub fn share(&self, len: usize) -> SharedBytes {
        assert!(self.pos + len <= self.len, "share only what fill_buf returned");
        let chunk = Arc::clone(self.current.as_ref().expect("fill_buf returned bytes"));
        SharedBytes { chunk, range: self.pos..self.pos + len }
    }
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.len {
            let next = match self.full.try_recv() {
                Err(TryRecvError::Empty) => {
                    if let Some(hook) = &self.before_waiting {
                        hook();
                    }
                    self.full.recv().ok()
                }
                next => next.ok(),
            };
            match next {
                Some((buf, len)) => {
                    // The spent chunk goes back to the feeder unless a write still holds it.
                    self.current = Some(Arc::new(Chunk { buf, home: self.empty.clone() }));
                    self.pos = 0;
                    self.len = len;
                }
                // The feeder is done: end of stream.
                None => return Ok(&[]),
            }
        }
        match &self.current {
            Some(chunk) => Ok(&chunk.buf[self.pos..self.len]),
            None => Ok(&[]),
        }
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that hands out its bytes in uneven pieces, as pipes and decompressors do.
    struct Jagged<'a>(&'a [u8], usize);

    impl Read for Jagged<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.1 = self.1 % 7919 + 1;
            let n = self.0.len().min(out.len()).min(self.1 * 13);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// Run `feed` with the sending end while another thread reads everything; check the bytes.
    fn round_trip(data: &[u8], feed: impl FnOnce(ChunkSender)) {
        let (tx, rx) = chunk_pipe();
        let got = std::thread::scope(|s| {
            let reader = s.spawn(move || read_all(rx));
            feed(tx);
            reader.join().unwrap()
        });
        assert!(got == data, "{} bytes came out of {}", got.len(), data.len());
    }

    fn read_all(mut rx: ChunkReader) -> Vec<u8> {
        let mut got = Vec::new();
        rx.read_to_end(&mut got).unwrap();
        got
    }

    #[test]
    fn the_reader_gets_the_source_byte_for_byte() {
        let data: Vec<u8> = (0..(CHUNK_SIZE * 6 + 12345)).map(|i| (i * 31 % 251) as u8).collect();
        round_trip(&data, |tx| assert_eq!(tx.pump(&mut Jagged(&data, 0)).unwrap(), Pumped::All));
    }

    #[test]
    fn the_tap_sees_every_byte_in_order_and_the_reader_gets_them_too() {
        let data: Vec<u8> = (0..(CHUNK_SIZE * 9 + 4321)).map(|i| (i * 13 % 241) as u8).collect();
        let (tx, tap, rx) = tapped_chunk_pipe();
        let (tapped, got) = std::thread::scope(|s| {
            let tapping = s.spawn(move || {
                let mut seen = Vec::new();
                tap.run(|chunk| seen.extend_from_slice(chunk));
                seen
            });
            let reader = s.spawn(move || read_all(rx));
            assert_eq!(tx.pump(&mut Jagged(&data, 0)).unwrap(), Pumped::All);
            (tapping.join().unwrap(), reader.join().unwrap())
        });
        assert!(tapped == data, "the tap saw {} bytes of {}", tapped.len(), data.len());
        assert!(got == data, "the reader got {} bytes of {}", got.len(), data.len());
    }

    #[test]
    fn a_reader_that_stops_early_stops_the_tap_and_the_feeder() {
        let data = vec![7u8; CHUNK_SIZE * 20];
        let (tx, tap, mut rx) = tapped_chunk_pipe();
        let mut source = &data[..];
        std::thread::scope(|s| {
            s.spawn(move || tap.run(|_| {}));
            s.spawn(move || {
                let mut first = [0u8; 10];
                rx.read_exact(&mut first).unwrap();
            });
            assert_eq!(tx.pump(&mut source).unwrap(), Pumped::ReaderGone);
        });
        assert!(!source.is_empty(), "the feeder read the whole source for nobody");
    }

    #[test]
    fn a_reader_that_stops_early_stops_the_feeder() {
        let data = vec![7u8; CHUNK_SIZE * 20];
        let (tx, mut rx) = chunk_pipe();
        let mut source = &data[..];
        std::thread::scope(|s| {
            s.spawn(move || {
                let mut first = [0u8; 10];
                rx.read_exact(&mut first).unwrap();
            });
            assert_eq!(tx.pump(&mut source).unwrap(), Pumped::ReaderGone);
        });
        assert!(!source.is_empty(), "the feeder read the whole source for nobody");
    }

    #[test]
    fn the_writer_end_delivers_every_byte_in_order_and_finish_ends_the_stream() {
        let data: Vec<u8> = (0..(CHUNK_SIZE * 3 + 777)).map(|i| (i * 7 % 253) as u8).collect();
        round_trip(&data, |tx| {
            let mut w = ChunkWriter::new(tx);
            for piece in data.chunks(1000) {
                w.write_all(piece).unwrap();
            }
            w.finish().unwrap();
        });
    }

    /// Run `test` on a thread of its own and fail if it has not finished within a minute: a
    /// pipe that loses track of its chunks hangs rather than fails.
    fn finishes_within_a_minute(test: impl FnOnce() + Send + 'static) {
        use std::sync::mpsc::RecvTimeoutError;
        let (done, finished) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            test();
            let _ = done.send(());
        });
        match finished.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(()) => thread.join().unwrap(),
            Err(RecvTimeoutError::Disconnected) => {
                std::panic::resume_unwind(thread.join().unwrap_err())
            }
            Err(RecvTimeoutError::Timeout) => panic!("stalled: chunks did not come back"),
        }
    }

    /// A tapped pipe (as an import uses) fed with `data`, the tap doing nothing; `read` gets the
    /// reader end.
    fn through_a_tapped_pipe(data: Vec<u8>, read: impl FnOnce(ChunkReader)) {
        let (tx, tap, rx) = tapped_chunk_pipe();
        std::thread::scope(|s| {
            s.spawn(move || tap.run(|_| {}));
            s.spawn(move || assert_eq!(tx.pump(&mut &data[..]).unwrap(), Pumped::All));
            read(rx);
        });
    }

    #[test]
    fn shared_bytes_keep_their_contents_while_the_reader_moves_on_and_free_their_chunk_when_dropped(
    ) {
        finishes_within_a_minute(|| {
            let data: Vec<u8> = (0..(CHUNK_SIZE * 30 + 99)).map(|i| (i * 11 % 239) as u8).collect();
            let source = data.clone();
            through_a_tapped_pipe(source, |mut rx| {
                // Hold a slice of each of the last TAPPED_CHUNKS - 2 chunks: with the current one
                // and the one the feeder fills, every chunk there is. The feeder can only go on
                // if dropped slices give theirs back.
                let mut held: std::collections::VecDeque<(usize, SharedBytes)> = Default::default();
                let mut at = 0;
                loop {
                    let n = rx.fill_buf().unwrap().len().min(1000);
                    if n == 0 {
                        break;
                    }
                    held.push_back((at, rx.share(n)));
                    let chunk_len = rx.len;
                    rx.consume(chunk_len);
                    at += chunk_len;
                    if held.len() == TAPPED_CHUNKS - 2 {
                        let (start, bytes) = held.pop_front().unwrap();
                        let expected = &data[start..start + bytes.len()];
                        assert!(*bytes == *expected, "a held slice changed at {start}");
                    }
                }
                assert_eq!(at, data.len());
            });
        });
    }

    #[test]
    fn the_reader_wakes_whoever_holds_chunks_before_it_sleeps_on_the_next_one() {
        finishes_within_a_minute(|| {
            let data = vec![3u8; CHUNK_SIZE * 3 * TAPPED_CHUNKS];
            let len = data.len();
            through_a_tapped_pipe(data, |mut rx| {
                // A slice of every chunk is held by a "writer" that lets go only when woken, as
                // the writer pool does: without the wake-up, reader and feeder wait for ever.
                let held = Arc::new(std::sync::Mutex::new(Vec::<SharedBytes>::new()));
                let wakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
                let (writer_held, writer_wakes) = (Arc::clone(&held), Arc::clone(&wakes));
                rx.wake_before_waiting(Box::new(move || {
                    writer_wakes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    writer_held.lock().unwrap().clear();
                }));
                let mut total = 0;
                loop {
                    let n = rx.fill_buf().unwrap().len();
                    if n == 0 {
                        break;
                    }
                    held.lock().unwrap().push(rx.share(1));
                    rx.consume(n);
                    total += n;
                }
                assert_eq!(total, len);
                assert!(wakes.load(std::sync::atomic::Ordering::Relaxed) > 0, "never woke");
            });
        });
    }

    #[test]
    fn a_failing_source_ends_the_stream_for_the_reader() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let (tx, mut rx) = chunk_pipe();
        std::thread::scope(|s| {
            let reader = s.spawn(move || rx.fill_buf().map(|b| b.len()).unwrap());
            assert_eq!(tx.pump(&mut Failing).unwrap_err().to_string(), "disk on fire");
            assert_eq!(reader.join().unwrap(), 0);
        });
    }
}
