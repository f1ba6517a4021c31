//! A small pool of threads that finish regular files for the extracting thread, so that writing
//! contents and setting owner, mode, xattrs and times (most of the system time of a layer of
//! small files) runs beside the reading of the stream instead of after it.
//!
//! The pool knows nothing about files: it runs jobs. What keeps extraction exact is what the
//! extracting thread hands it (see `apply`): a job only ever touches a file through a descriptor
//! the extracting thread already created in stream order, never a name, so the name space changes
//! in stream order as before and the confinement is unchanged. Whatever depends on a file being
//! complete (a hardlink to it, directory times) waits for [`WriterPool::wait_idle`] first.
//!
//! Memory is bounded: jobs carry the bytes they hold (a small file, or a piece of a large one),
//! and [`WriterPool::submit`] waits while [`BYTES_IN_FLIGHT`] are queued or being written. On an
//! import the bytes are slices of the stream's chunks, of which there are fewer than that (see
//! `chunk_pipe`): there the chunks are the tighter bound, and this cap a backstop.
//!
//! Waking a thread is a futex call: the extracting thread wakes idle writers only once
//! [`WAKE_BATCH`] jobs are queued, or when it is about to wait itself: on the pool, or on
//! anything queued jobs hold ([`WriterPool::wake_writers`]). Writers wake the extracting thread
//! only when it waits.
//!
//! Errors: the first failing job in submission order wins (as if the files had been written one
//! by one); once a job failed, later ones are dropped undone and `submit`/`wait_idle` answer
//! [`WorkerFailed`] so the extracting thread stops; [`WriterPool::take_error`] gives the error.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::error::Error;

/// Bytes of file contents queued or being written at once (the flat-memory test allows 64 MiB
/// for the whole import).
pub const BYTES_IN_FLIGHT: usize = 16 << 20;

/// Jobs queued before idle writers are woken.
const WAKE_BATCH: usize = 8;

/// A job failed; the pool holds its error (see [`WriterPool::take_error`]).
#[derive(Debug)]
pub struct WorkerFailed;

struct State<T> {
    queue: VecDeque<(u64, usize, T)>,
    next_seq: u64,
    /// Bytes of the queued jobs and of those being run.
    bytes: usize,
    running: usize,
    /// Writers waiting for jobs, and submitters waiting for a job to finish.
    idle_writers: usize,
    waiting_submitters: usize,
    closed: bool,
    /// The failure of the earliest failed job so far, with its sequence number.
    failed: Option<(u64, Error)>,
}

pub struct WriterPool<T> {
    state: Mutex<State<T>>,
    /// Signalled when a job is queued or the pool is closed.
    work_queued: Condvar,
    /// Signalled when a job is done (bytes freed, maybe idle, maybe failed).
    job_done: Condvar,
}

impl<T: Send> WriterPool<T> {
    pub fn new() -> Self {
        WriterPool {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                next_seq: 0,
                bytes: 0,
                running: 0,
                idle_writers: 0,
                waiting_submitters: 0,
                closed: false,
                failed: None,
            }),
            work_queued: Condvar::new(),
            job_done: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panicking job is re-raised by the caller's join; the state itself stays consistent.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queue `job`, which holds `bytes` of contents. Waits while the pool already holds
    /// [`BYTES_IN_FLIGHT`] (a larger job is accepted once the pool is empty).
    pub fn submit(&self, bytes: usize, job: T) -> Result<(), WorkerFailed> {
        let state = self.lock();
        let mut state =
            self.wait_until(state, |s| s.bytes == 0 || s.bytes + bytes <= BYTES_IN_FLIGHT);
        if state.failed.is_some() {
            return Err(WorkerFailed);
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        state.bytes += bytes;
        state.queue.push_back((seq, bytes, job));
        let wake = state.idle_writers > 0 && state.queue.len() >= WAKE_BATCH;
        drop(state);
        if wake {
            self.work_queued.notify_all();
        }
        Ok(())
    }

    /// Wake idle writers if jobs are queued, fewer than [`WAKE_BATCH`] perhaps: the caller is
    /// about to sleep on something a queued job holds (the stream's chunks, see
    /// `chunk_pipe::ChunkReader::wake_before_waiting`).
    pub fn wake_writers(&self) {
        let state = self.lock();
        let wake = state.idle_writers > 0 && !state.queue.is_empty();
        drop(state);
        if wake {
            self.work_queued.notify_all();
        }
    }

    /// Wait until every submitted job is done: the ordering barrier.
    pub fn wait_idle(&self) -> Result<(), WorkerFailed> {
        let state = self.lock();
        let state = self.wait_until(state, |s| s.running == 0 && s.queue.is_empty());
        match state.failed {
            Some(_) => Err(WorkerFailed),
            None => Ok(()),
        }
    }

    /// Wait until `ready` holds or a job failed, waking the writers first so that they work
    /// off the queue meanwhile.
    fn wait_until<'a>(
        &self,
        mut state: MutexGuard<'a, State<T>>,
        ready: impl Fn(&State<T>) -> bool,
    ) -> MutexGuard<'a, State<T>> {
        while state.failed.is_none() && !ready(&state) {
            if state.idle_writers > 0 {
                self.work_queued.notify_all();
            }
            state.waiting_submitters += 1;
            state = self.job_done.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
            state.waiting_submitters -= 1;
        }
        state
    }

    /// No more jobs: workers return once the queue is empty.
    pub fn close(&self) {
        self.lock().closed = true;
        self.work_queued.notify_all();
    }

    /// [`WriterPool::close`] when the returned guard is dropped, also while unwinding: a panic
    /// between starting the workers and closing the pool must not leave the scope that joins
    /// them waiting for ever.
    pub fn close_when_dropped(&self) -> ClosePool<'_, T> {
        ClosePool(self)
    }

    /// The error of the earliest failed job, if any.
    pub fn take_error(&self) -> Option<Error> {
        self.lock().failed.take().map(|(_, e)| e)
    }

    /// A worker thread's life: run jobs until the pool is closed and empty.
    pub fn run_worker(&self, mut run: impl FnMut(T) -> crate::error::Result<()>) {
        let mut state = self.lock();
        loop {
            let Some((seq, bytes, job)) = state.queue.pop_front() else {
                if state.closed {
                    return;
                }
                state.idle_writers += 1;
                state =
                    self.work_queued.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
                state.idle_writers -= 1;
                continue;
            };
            // After a failure the import is lost: drop the rest (closing their descriptors).
            let give_up = state.failed.is_some();
            state.running += 1;
            drop(state);
            let result = if give_up { Ok(()) } else { run(job) };
            state = self.lock();
            state.running -= 1;
            state.bytes -= bytes;
            if let Err(e) = result {
                if !state.failed.as_ref().is_some_and(|(first, _)| *first < seq) {
                    state.failed = Some((seq, e));
                }
            }
            if state.waiting_submitters > 0 {
                self.job_done.notify_all();
            }
        }
    }
}

/// See [`WriterPool::close_when_dropped`].
pub struct ClosePool<'p, T: Send>(&'p WriterPool<T>);

impl<T: Send> Drop for ClosePool<'_, T> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn a_panic_after_the_workers_started_still_lets_their_scope_end() {
        let pool = WriterPool::new();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::thread::scope(|scope| {
                scope.spawn(|| pool.run_worker(|_: ()| Ok(())));
                let _closing = pool.close_when_dropped();
                pool.submit(1, ()).unwrap();
                panic!("the extracting side failed");
            })
        }));
        assert!(unwound.is_err(), "the panic comes through once the worker has returned");
        assert!(pool.lock().closed && pool.lock().queue.is_empty());
    }

    #[test]
    fn the_earliest_failed_job_wins_and_later_submissions_are_refused() {
        let pool = WriterPool::new();
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                pool.run_worker(|n: u32| {
                    if n >= 3 {
                        Err(Error::new(ErrorKind::Io, format!("job {n}")))
                    } else {
                        Ok(())
                    }
                })
            });
            for n in 0..3 {
                pool.submit(1, n).unwrap();
            }
            pool.wait_idle().unwrap();
            pool.submit(1, 3).unwrap();
            pool.submit(1, 4).ok();
            assert!(pool.wait_idle().is_err(), "a failed job makes the barrier fail");
            assert!(pool.submit(1, 5).is_err(), "no more jobs after a failure");
            pool.close();
            worker.join().unwrap();
        });
        assert_eq!(pool.take_error().unwrap().message(), "job 3");
    }

    #[test]
    fn bytes_in_flight_never_exceed_the_cap_but_a_bigger_job_still_runs_alone() {
        let pool = WriterPool::new();
        let held_per_job = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                pool.run_worker(|_: ()| {
                    let held = pool.lock().bytes;
                    held_per_job.lock().unwrap().push(held);
                    Ok(())
                })
            });
            for _ in 0..64 {
                pool.submit(BYTES_IN_FLIGHT / 4, ()).unwrap();
            }
            pool.submit(BYTES_IN_FLIGHT * 2, ()).unwrap();
            pool.wait_idle().unwrap();
            pool.close();
            worker.join().unwrap();
        });
        let held = held_per_job.into_inner().unwrap();
        let (oversized, small) = held.split_last().unwrap();
        assert_eq!(small.len(), 64);
        assert!(small.iter().all(|&b| b <= BYTES_IN_FLIGHT), "{small:?}");
        assert_eq!(*oversized, BYTES_IN_FLIGHT * 2, "the oversized job ran alone");
        assert!(pool.take_error().is_none());
    }
}
