//! Progress of long imports and exports on stderr, shown only when stderr is a terminal, so that
//! scripts (and comparisons with containers-storage, which prints none) see no extra output.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often the line is redrawn.
const REDRAW: Duration = Duration::from_millis(200);

pub struct Progress {
    verb: &'static str,
    enabled: bool,
    shown: bool,
    last: Instant,
}

impl Progress {
    /// `verb` says what is happening ("importing", "exporting").
    pub fn new(verb: &'static str) -> Self {
        Progress { verb, enabled: io::stderr().is_terminal(), shown: false, last: Instant::now() }
    }

    /// Report `bytes` done so far (redrawn at most every 200 ms).
    pub fn update(&mut self, bytes: u64) {
        if !self.enabled || self.last.elapsed() < REDRAW {
            return;
        }
        self.last = Instant::now();
        self.shown = true;
        eprint!("\r{} {:.1} MiB", self.verb, bytes as f64 / (1 << 20) as f64);
    }

    /// End the progress line, so what is printed next starts on a line of its own.
    pub fn finish(&mut self) {
        if self.shown {
            eprintln!();
            self.shown = false;
        }
    }
}

/// A writer that reports the bytes passing through it.
pub struct ProgressWriter<W: Write> {
    pub inner: W,
    pub progress: Progress,
    written: u64,
}

impl<W: Write> ProgressWriter<W> {
    pub fn new(inner: W, verb: &'static str) -> Self {
        ProgressWriter { inner, progress: Progress::new(verb), written: 0 }
    }
}

impl<W: Write> Write for ProgressWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        self.progress.update(self.written);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
