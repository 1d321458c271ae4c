//! Ctrl-C (SIGINT) and SIGTERM: cancel, finish the clean-up, then exit 130 or 143.
//!
//! The first signal drops the running command's future. What it owned is cleaned up as it is
//! dropped: a download's temporary file is unlinked in its `Drop`, a multipart upload's abort
//! is spawned and registered with [`s3io::cleanup`]. Two things would still be lost if the
//! process returned at once, because a runtime shutting down drops its spawned tasks unfinished:
//!
//! - the per-object tasks of a many-object command: dropping their `JoinSet` only *requests*
//!   their cancellation. Each is spawned through [`track`], so [`finish_cleanup`] first waits
//!   until every one of them has really been dropped (its temporary file gone, its abort
//!   registered);
//! - the aborts themselves: [`finish_cleanup`] then waits for [`s3io::cleanup::finish`], i.e.
//!   until the store has answered every abort.
//!
//! The wait is bounded by [`CLEANUP_TIMEOUT`]. A second signal during it exits at once, naming
//! the multipart uploads whose abort had not been answered (`s3io mpu` finds and aborts them).
//!
//! A many-object command stops itself instead of being dropped, so that every object that
//! finished before the signal is reported (its status line printed) and none is lost between
//! finishing and being reported: while its loop runs it holds a [`StopsItself`] guard, and the
//! first signal cancels [`stopping`] and lets the command return (see [`stop_command`]).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The longest the clean-up after a signal may take before the process exits anyway.
pub(crate) const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Exit code after SIGINT (128 + 2, the shell convention).
pub(crate) const INTERRUPTED: u8 = 130;
/// Exit code after SIGTERM (128 + 15).
pub(crate) const TERMINATED: u8 = 143;

/// The tasks a signal must wait for (see the module doc).
static TASKS: LazyLock<TaskTracker> = LazyLock::new(TaskTracker::new);

/// Cancelled by the first signal; watched by the commands that stop themselves.
static STOPPING: LazyLock<CancellationToken> = LazyLock::new(CancellationToken::new);

/// How many [`StopsItself`] guards are alive.
static SELF_STOPPING: AtomicUsize = AtomicUsize::new(0);

/// Cancelled when the first SIGINT or SIGTERM arrives.
pub(crate) fn stopping() -> &'static CancellationToken {
    &STOPPING
}

/// Held by a loop that watches [`stopping`] and returns soon after it is cancelled, having
/// reported what finished: while one is alive, a signal lets the command return instead of
/// dropping it.
#[derive(Debug)]
pub(crate) struct StopsItself(());

impl StopsItself {
    pub(crate) fn new() -> Self {
        SELF_STOPPING.fetch_add(1, Ordering::SeqCst);
        Self(())
    }
}

impl Drop for StopsItself {
    fn drop(&mut self) {
        SELF_STOPPING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// After the first signal: cancels [`stopping`] and, if the running command stops itself, lets
/// it run until it returns (bounded by [`CLEANUP_TIMEOUT`]). Returns `false` if a second signal
/// came meanwhile (the caller then exits at once).
pub(crate) async fn stop_command<F: Future>(command: std::pin::Pin<&mut F>, signals: &mut Signals) -> bool {
    STOPPING.cancel();
    if SELF_STOPPING.load(Ordering::SeqCst) == 0 {
        return true;
    }
    tokio::select! {
        _ = tokio::time::timeout(CLEANUP_TIMEOUT, command) => true,
        _ = signals.recv() => false,
    }
}

/// A signal that stops the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `kill`, a service manager, a container runtime stopping.
    Terminate,
}

impl Stop {
    /// The exit code it leads to.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Stop::Interrupt => INTERRUPTED,
            Stop::Terminate => TERMINATED,
        }
    }

    /// The signal's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
        }
    }
}

/// SIGINT and SIGTERM, listened for from creation on (the default action, dying at once, is
/// replaced for the rest of the process).
pub(crate) struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts listening.
    pub(crate) fn listen() -> std::io::Result<Self> {
        Ok(Self { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    /// The next signal.
    pub(crate) async fn recv(&mut self) -> Stop {
        tokio::select! {
            _ = self.interrupt.recv() => Stop::Interrupt,
            _ = self.terminate.recv() => Stop::Terminate,
        }
    }
}

/// `future`, counted as a task the clean-up after a signal waits for until it is dropped.
pub(crate) fn track<F: Future>(future: F) -> impl Future<Output = F::Output> {
    TASKS.track_future(future)
}

/// Waits until every [`track`]ed task has been dropped and every abort of a dropped multipart
/// upload has been answered, or `CLEANUP_TIMEOUT` passes; a second signal cuts it short.
/// Returns whether the clean-up finished.
pub(crate) async fn finish_cleanup(signals: &mut Signals) -> bool {
    TASKS.close();
    let cleanup = async {
        TASKS.wait().await;
        s3io::cleanup::finish().await;
    };
    tokio::select! {
        finished = tokio::time::timeout(CLEANUP_TIMEOUT, cleanup) => finished.is_ok(),
        _ = signals.recv() => false,
    }
}

/// What an unfinished clean-up leaves behind, as a sentence for stderr.
pub(crate) fn left_behind() -> String {
    let pending = s3io::cleanup::pending();
    if pending.is_empty() {
        return "the transfers in flight were dropped; temporary files of downloads may remain".into();
    }
    let uploads: Vec<String> = pending
        .iter()
        .map(|abort| {
            let id = match &abort.upload_id {
                Some(id) => format!("upload id {}", crate::escape::text(id)),
                None => "upload id not yet answered".to_owned(),
            };
            format!("s3://{}/{} ({id})", crate::escape::text(&abort.bucket), crate::escape::text(&abort.key))
        })
        .collect();
    format!(
        "{} multipart upload(s) may still be in progress: {}; `s3io mpu ls` lists them and `s3io mpu abort` aborts them",
        uploads.len(),
        uploads.join(", ")
    )
}
