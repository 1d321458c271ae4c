//! The runner behind every command that acts on many objects (`cp -r`, wildcards, `rm`, `sync`).
//!
//! A command describes its work as a stream of [`Action`]s (download this key to that file,
//! upload, copy, delete, …) and hands it to [`run`], which executes them through the one shared
//! [`Client`]: one connection pool, one buffer pool, one memory limit for the whole job.
//!
//! - **Objects in parallel, lazily.** Up to [`BatchConfig::jobs`] objects are in flight, each a
//!   tokio task; the action stream is pulled only when there is room, so a listing of millions of
//!   keys is never collected in memory. A large object still goes through the engines' part
//!   parallelism (the client's concurrency per transfer), all under the client's global memory
//!   limit.
//! - **Deletes in batches.** Consecutive deletes in one bucket are gathered into DeleteObjects
//!   requests of up to [`s3io::config::MAX_DELETE_KEYS`] keys.
//! - **Output.** A status line per object (`download: s3://b/k to dir/k`), or with `--json` one
//!   JSON object per line on stdout ([`Record`]: operation, source, destination, size, seconds,
//!   checksum, status, error). Failures are reported on stderr as they happen. On a terminal one
//!   indicatif bar on stderr shows the whole job (bytes, objects, throughput, ETA); it is hidden
//!   when stderr is not a terminal or with `--quiet`. At the end one summary line on stderr:
//!   objects, bytes, wall time, throughput and retries ([`Client::retry_counters`]).
//! - **Failures.** A failed object does not stop the job. If any failed, [`run`] returns a
//!   [`BatchFailed`] naming the first [`FAILURES_SHOWN`] and counting the rest (exit code 1). A
//!   failed download leaves no partial file: the library writes a temporary file and renames it
//!   into place only when complete.
//! - **Signals.** SIGINT or SIGTERM stops the job from within (see [`crate::signal`]): no object
//!   starts; the ones in flight are cancelled (a download renaming into place finishes, a
//!   DeleteObjects request in flight is answered) and every object that finished is reported, so
//!   each file under its final name has its line; then the summary, and the exit code 130 / 143.
//! - **`--dry-run`** prints what would be done and does nothing; **`--no-clobber`** skips a
//!   download whose destination exists (checked just before the object starts), and an upload or
//!   copy whose key holds an object (the store refuses the conditional write, see
//!   [`crate::clobber`]).
//!
//! The parts: [`action`] (the plan: what to do to each object), [`execute`](mod@execute) (one action run as
//! a task), [`deletes`] (deletes gathered into DeleteObjects requests), [`report`] (records,
//! status lines, the bar, the summary); this module holds the loop that drives them.

mod action;
mod deletes;
mod execute;
mod report;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::{Stream, StreamExt as _};
use s3io::{Client, Progress};
use tokio::task::JoinSet;

use crate::object::ObjectSettings;
use crate::printer::Printer;
use crate::{exit, signal};

pub(crate) use action::{Action, Line, Planned};
use deletes::{spawn_deletes, DeleteBatch};
use execute::{execute, Shared};
pub(crate) use report::Summary;
#[cfg(doc)]
use report::FAILURES_SHOWN;
use report::{panicked, refused, BatchFailed, Reporter};
pub(crate) use report::{ClientFigures, Record, Status};

use crate::args::DEFAULT_JOBS;

/// How a batch runs: validated from the command's flags.
#[derive(Debug, Clone)]
pub(crate) struct BatchConfig {
    /// Objects in flight. By default [`DEFAULT_JOBS`].
    pub(crate) jobs: usize,
    /// Print what would be done, do nothing. By default off.
    pub(crate) dry_run: bool,
    /// Skip downloads whose destination exists. By default off (files are replaced).
    pub(crate) no_clobber: bool,
    /// One JSON line per object on stdout instead of status lines. By default off.
    pub(crate) json: bool,
    /// No status lines, no progress bar, no summary. By default off.
    pub(crate) quiet: bool,
    /// No progress bar (`--no-progress`). By default a bar on a terminal.
    pub(crate) no_progress: bool,
    /// What uploads set on new objects. By default nothing but a guessed Content-Type.
    pub(crate) object: Arc<ObjectSettings>,
    /// `mv`: delete each download's, upload's or copy's source once it succeeded. By default off.
    pub(crate) move_sources: bool,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            jobs: DEFAULT_JOBS,
            dry_run: false,
            no_clobber: false,
            json: false,
            quiet: false,
            no_progress: false,
            object: Arc::new(ObjectSettings::default()),
            move_sources: false,
        }
    }
}

/// Runs every action of `actions` (see the module doc). An error in the stream itself (a listing
/// that failed) stops taking new actions; the ones in flight finish and the error is returned.
pub(crate) async fn run<S, A>(
    client: &Client,
    actions: S,
    config: &BatchConfig,
    out: &mut Printer,
) -> anyhow::Result<Summary>
where
    S: Stream<Item = anyhow::Result<A>>,
    A: Into<Planned>,
{
    let started = Instant::now();
    let retries_before = client.retry_counters().total();
    let shared = Arc::new(Shared {
        client: client.clone(),
        progress: Arc::new(Progress::new()),
        no_clobber: config.no_clobber,
        object: Arc::clone(&config.object),
        move_sources: config.move_sources,
        last_dir: Mutex::new(None),
    });
    let mut report = Reporter::new(config, Arc::clone(&shared.progress));
    let mut tasks: JoinSet<Vec<Record>> = JoinSet::new();
    let mut deletes = DeleteBatch::default();
    let mut actions = std::pin::pin!(actions);
    let mut exhausted = false;
    let mut fatal = None;
    let mut interrupted = false;
    let jobs = config.jobs.max(1);
    // A signal cancels `stopping`: no new object starts, the ones in flight are cancelled (their
    // clean-up runs as they are dropped), and every one that finished is still reported.
    let _stops_itself = signal::StopsItself::new();
    let stopping = signal::stopping();
    loop {
        if exhausted && tasks.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                // Take every result that is ready, then write their lines out in one go: a
                // burst of small objects costs one write, and a line is never held back while
                // the job waits (an interrupted job has printed everything that finished).
                let mut joined = Some(joined);
                while let Some(result) = joined.take().or_else(|| tasks.try_join_next()) {
                    let records = match result {
                        Ok(records) => records,
                        Err(e) if e.is_cancelled() => continue,
                        Err(e) => vec![panicked(e)],
                    };
                    for record in records {
                        report.finished(record, out).await?;
                    }
                }
                out.flush().await?;
            }
            () = stopping.cancelled(), if !interrupted => {
                // Each task stops itself (see `execute`); a download renaming into place
                // finishes first, and is reported.
                interrupted = true;
                exhausted = true;
                continue;
            }
            next = actions.next(), if !exhausted && tasks.len() < jobs => {
                let planned: Planned = match next {
                    Some(Ok(action)) => action.into(),
                    other => {
                        if let Some(Err(error)) = other {
                            fatal = Some(error);
                        }
                        exhausted = true;
                        if let Some(batch) = deletes.take() {
                            spawn_deletes(&mut tasks, &shared, batch);
                        }
                        continue;
                    }
                };
                report.queued(&planned.action);
                let line = planned.line.as_ref().map(|line| line.number);
                if config.dry_run {
                    report.dry_run(&planned.action, line, out).await?;
                    continue;
                }
                match planned.action {
                    Action::Delete { target } => {
                        if let Some(batch) = deletes.push(target, line) {
                            spawn_deletes(&mut tasks, &shared, batch);
                        }
                    }
                    Action::Refuse { object, reason } => {
                        report.finished(Record { line, ..refused(object, reason) }, out).await?;
                    }
                    _ => {
                        let shared = Arc::clone(&shared);
                        tasks.spawn(signal::track(async move { execute(&shared, planned).await.into_iter().collect() }));
                    }
                }
            }
            else => break,
        }
    }
    let summary = Summary {
        succeeded: report.succeeded,
        skipped: report.skipped,
        failed: report.failed,
        bytes: report.bytes,
        elapsed: started.elapsed(),
        retries: client.retry_counters().total().saturating_sub(retries_before),
        verified: std::mem::take(&mut report.verified),
    };
    if interrupted {
        report.close(&summary);
        anyhow::bail!("interrupted");
    }
    if let Some(error) = fatal {
        // The reason the job stopped comes first, the summary of what it did after it.
        let error = exit::Reported::print(error);
        report.close(&summary);
        return Err(error.into());
    }
    report.close(&summary);
    if summary.failed > 0 {
        return Err(BatchFailed {
            failed: summary.failed,
            total: summary.objects(),
            shown: std::mem::take(&mut report.failures),
        }
        .into());
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use std::time::Duration;

    use super::*;
    use crate::location::S3Url;
    use crate::printer::Printer;

    /// The runner takes an action from the stream only when an object slot is free: with every
    /// GET held back by the server, it has pulled no more than `jobs` (+1 being looked at).
    #[tokio::test]
    async fn pulls_actions_only_when_an_object_slot_is_free() {
        let root = tempfile::tempdir().unwrap();
        let faults = "stall=1,stall-for=2s,methods=GET".parse().unwrap();
        let server = s3io_server::start(s3io_server::ServerConfig::new(root.path()).with_faults(faults)).await.unwrap();
        let client = Client::builder()
            .endpoint(server.endpoint_url())
            .credentials(s3io::CredentialsSource::static_keys(
                s3io_server::DEFAULT_ACCESS_KEY,
                s3io_server::DEFAULT_SECRET_KEY,
            ))
            .build()
            .await
            .unwrap();
        client.create_bucket("bkt").await.unwrap();
        let local = tempfile::tempdir().unwrap();
        let pulled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&pulled);
        let destination = local.path().to_owned();
        // An endless stream: collecting it would never finish.
        let actions = futures::stream::iter(0u64..).map(move |i| {
            counter.fetch_add(1, Ordering::Relaxed);
            Ok(Action::Download {
                source: url("bkt", &format!("k{i}")),
                destination: destination.join(format!("k{i}")),
                size: 1,
                modified: None,
            })
        });
        let config = BatchConfig { jobs: 4, quiet: true, ..BatchConfig::default() };
        let mut out = Printer::new(true);
        let run = run(&client, actions, &config, &mut out);
        assert!(tokio::time::timeout(Duration::from_millis(500), run).await.is_err(), "the batch cannot finish");
        let pulled = pulled.load(Ordering::Relaxed);
        assert!((4..=5).contains(&pulled), "pulled {pulled} actions for 4 slots");
        server.shutdown().await;
    }

    fn url(bucket: &str, key: &str) -> S3Url {
        S3Url { bucket: bucket.into(), key: key.into() }
    }
}
