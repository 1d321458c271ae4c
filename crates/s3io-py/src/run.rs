//! Running a library future for Python: blocking (GIL released, Ctrl-C watched) or awaitable.
//!
//! Every transfer runs on one process-wide multi-threaded tokio runtime (pyo3-async-runtimes'),
//! so a blocking call from any Python thread and the asyncio flavour share its threads, and each
//! [`Client`](crate::client::Client) its connection pool.
//!
//! **Blocking** ([`blocking`]): the calling thread releases the GIL and drives the future with
//! `block_on` in ticks of [`TICK`]. Between ticks it takes the GIL back to report progress and
//! to run Python's signal handlers (`Python::check_signals`, which raises `KeyboardInterrupt` on
//! Ctrl-C in the main thread). On such an exception, or one from the progress callback, the
//! transfer's cancellation token is cancelled and the future is driven to its end, which is where
//! the library cleans up as the CLI does after a signal: a multipart upload is aborted (and the
//! abort awaited), a download's temporary file removed. Then any abort of a dropped upload still
//! in flight is awaited ([`s3io::cleanup::finish`]), and the exception is raised. The clean-up is
//! bounded by [`CLEANUP_TIMEOUT`]; a second Ctrl-C cuts it short.
//!
//! **Awaitable** ([`awaitable`]): the future becomes an asyncio awaitable; cancelling the asyncio
//! task drops the future, whose clean-up the library registers with [`s3io::cleanup`] (the
//! module's `atexit` hook waits for it, [`finish_cleanup`]). Progress is reported through the
//! event loop (`call_soon_threadsafe`), so the callback runs in the loop's thread.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use s3io::Progress;
use tokio_util::sync::CancellationToken;

/// How often a blocking call wakes to check for Ctrl-C and report progress.
const TICK: Duration = Duration::from_millis(50);

/// How often progress is reported, at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The longest a blocking call waits for the clean-up after Ctrl-C (as the CLI).
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The process-wide runtime.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// What a caller controls of one transfer: its cancellation and its progress callback.
pub(crate) struct Control {
    /// Cancelled on Ctrl-C or when the progress callback raises.
    pub(crate) cancel: CancellationToken,
    /// The counter the library updates, when a callback watches it.
    pub(crate) progress: Option<Arc<Progress>>,
    callback: Option<Py<PyAny>>,
}

impl Control {
    /// A fresh token, and a counter if `callback` is given.
    pub(crate) fn new(callback: Option<Py<PyAny>>) -> Self {
        let progress = callback.as_ref().map(|_| Arc::new(Progress::new()));
        Self { cancel: CancellationToken::new(), progress, callback }
    }
}

/// Reports progress to a callback when it changed (or always, when `force`).
struct Reporter {
    progress: Arc<Progress>,
    callback: Py<PyAny>,
    last: Option<(u64, Option<u64>)>,
    at: Instant,
}

impl Reporter {
    fn new(control: &Control) -> Option<Self> {
        Some(Self {
            progress: control.progress.clone()?,
            callback: control.callback.as_ref()?.clone_ref_detached(),
            last: None,
            at: Instant::now(),
        })
    }

    /// The numbers to report now, if they changed and are due (or `force`).
    fn due(&mut self, force: bool) -> Option<(u64, Option<u64>)> {
        let now = (self.progress.bytes_done(), self.progress.bytes_total());
        if self.last == Some(now) || (!force && self.at.elapsed() < PROGRESS_EVERY) {
            return None;
        }
        self.last = Some(now);
        self.at = Instant::now();
        Some(now)
    }
}

/// A `Py` clone made without naming a `Python` token (pyo3 takes the reference count change
/// when the GIL is held, or defers it).
trait CloneDetached {
    fn clone_ref_detached(&self) -> Self;
}

impl CloneDetached for Py<PyAny> {
    fn clone_ref_detached(&self) -> Self {
        Python::attach(|py| self.clone_ref(py))
    }
}

/// Runs `future` to its end with the GIL released; see the module doc.
pub(crate) fn blocking<T, F>(py: Python<'_>, control: Control, future: F) -> PyResult<T>
where
    T: Send,
    F: Future<Output = PyResult<T>> + Send,
{
    let runtime = runtime();
    let mut reporter = Reporter::new(&control);
    // Boxed, so that it can be dropped (its clean-up registered) before waiting for the clean-up.
    let mut future = Box::pin(future);
    // The exception that stopped the transfer (Ctrl-C, the callback), and until when its
    // clean-up may run.
    let mut stopped: Option<(PyErr, Instant)> = None;
    let result = loop {
        let tick = py.detach(|| runtime.block_on(async { tokio::time::timeout(TICK, future.as_mut()).await }));
        if let Ok(result) = tick {
            break Some(result);
        }
        match &stopped {
            None => {
                let checked = py.check_signals().and_then(|()| match reporter.as_mut() {
                    Some(r) => {
                        r.due(false).map_or(Ok(()), |(done, total)| r.callback.call1(py, (done, total)).map(drop))
                    }
                    None => Ok(()),
                });
                if let Err(error) = checked {
                    control.cancel.cancel();
                    stopped = Some((error, Instant::now() + CLEANUP_TIMEOUT));
                }
            }
            Some((_, deadline)) => {
                // A second Ctrl-C, or the clean-up taking too long: give up on it.
                if py.check_signals().is_err() || Instant::now() >= *deadline {
                    break None;
                }
            }
        }
    };
    if let Some((error, deadline)) = stopped {
        drop(future);
        let left = deadline.saturating_duration_since(Instant::now());
        py.detach(|| runtime.block_on(async { tokio::time::timeout(left, s3io::cleanup::finish()).await })).ok();
        return Err(error);
    }
    let result = result.expect("the loop ends with a result unless stopped");
    if let (Ok(_), Some(r)) = (&result, reporter.as_mut()) {
        if let Some((done, total)) = r.due(true) {
            r.callback.call1(py, (done, total))?;
        }
    }
    result
}

/// `future` as an asyncio awaitable; see the module doc.
pub(crate) fn awaitable<'py, T, F>(py: Python<'py>, control: Control, future: F) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
    F: Future<Output = PyResult<T>> + Send + 'static,
{
    let reporter = Reporter::new(&control);
    let event_loop = match &reporter {
        Some(_) => Some(pyo3_async_runtimes::tokio::get_current_loop(py)?.unbind()),
        None => None,
    };
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let (Some(mut reporter), Some(event_loop)) = (reporter, event_loop) else { return future.await };
        let report = |reporter: &mut Reporter, force: bool| {
            if let Some((done, total)) = reporter.due(force) {
                Python::attach(|py| {
                    // The loop may be closing: progress is not worth an error then.
                    let _ = event_loop.call_method1(py, "call_soon_threadsafe", (&reporter.callback, done, total));
                });
            }
        };
        let mut future = std::pin::pin!(future);
        let mut ticks = tokio::time::interval(PROGRESS_EVERY);
        let result = loop {
            tokio::select! {
                result = future.as_mut() => break result,
                _ = ticks.tick() => report(&mut reporter, false),
            }
        };
        if result.is_ok() {
            report(&mut reporter, true);
        }
        result
    })
}

/// Waits until the abort of every multipart upload dropped mid-way (an asyncio task cancelled,
/// a future dropped) has been answered, at most `timeout` seconds; `True` when none is left.
/// `s3io` registers it with `atexit`.
#[pyfunction]
#[pyo3(signature = (timeout = 30.0))]
pub(crate) fn finish_cleanup(py: Python<'_>, timeout: f64) -> bool {
    if s3io::cleanup::pending().is_empty() {
        return true;
    }
    let timeout = Duration::try_from_secs_f64(timeout).unwrap_or(CLEANUP_TIMEOUT);
    py.detach(|| runtime().block_on(async { tokio::time::timeout(timeout, s3io::cleanup::finish()).await.is_ok() }))
}
