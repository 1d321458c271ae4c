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
//!   requests of up to [`s3io::MAX_DELETE_KEYS`] keys.
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
//! - **`--dry-run`** prints what would be done and does nothing; **`--no-clobber`** skips a
//!   download whose destination exists (checked just before the object starts).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::{Stream, StreamExt as _};
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use s3io::{Client, Progress};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::cmd::Printer;
use crate::location::S3Url;
use crate::{exit, transfer};

/// Objects in flight by default. Measured on 2 cores against the embedded server with 2,000 ×
/// 64 KiB objects to a directory: 8 to 128 all finish within the noise of a shared machine
/// (~2 s, bound by the two processes' file creation), so the choice is set by remote stores,
/// where a small object costs a round trip and throughput grows with the objects in flight;
/// 64 keeps a typical 20–50 ms round trip busy without hundreds of connections, and matches
/// the connection pool's [`s3io::DEFAULT_MAX_IDLE_PER_HOST`], so every object after the first 64
/// reuses a kept-alive connection instead of opening one.
pub(crate) const DEFAULT_JOBS: usize = 64;

/// Failed objects named in the final error; the rest are counted.
pub(crate) const FAILURES_SHOWN: usize = 20;

/// How often the progress bar is redrawn.
const PROGRESS_TICK: Duration = Duration::from_millis(100);

/// One thing to do to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Download an object into a file (created or replaced).
    Download {
        /// The object.
        source: S3Url,
        /// The file.
        destination: PathBuf,
        /// The object's size as listed, for the progress bar.
        size: u64,
        /// Set the file's modification time to this once it is in place (`sync` gives the
        /// listing's LastModified, so that the next sync compares equal times). By default the
        /// file takes the `Last-Modified` of the object's GET.
        modified: Option<SystemTime>,
    },
    /// Create a local directory for a directory marker (a key ending in `/`).
    MakeDirectory {
        /// The marker object.
        source: S3Url,
        /// The directory.
        destination: PathBuf,
    },
    /// Upload a file.
    Upload {
        /// The file.
        source: PathBuf,
        /// The object.
        destination: S3Url,
        /// The file's size as walked.
        size: u64,
    },
    /// Copy an object inside the store.
    Copy {
        /// The object.
        source: S3Url,
        /// The new object.
        destination: S3Url,
        /// The source's size as listed.
        size: u64,
    },
    /// Delete an object (batched with neighbouring deletes in the same bucket).
    Delete {
        /// The object.
        target: S3Url,
    },
    /// Delete a local file (`sync --delete` into a directory). Refused unless the file's
    /// directory, with every symbolic link resolved, lies under `root`: a link inside the
    /// destination to a directory elsewhere is never deleted through.
    DeleteFile {
        /// The file.
        path: PathBuf,
        /// The directory the file must lie under.
        root: PathBuf,
    },
    /// An object the command refuses to touch (an unsafe key, an unreadable file): counted and
    /// reported as a failure, naming `object`.
    Refuse {
        /// What was refused: the key or path.
        object: String,
        /// Why.
        reason: String,
    },
}

impl Action {
    /// The operation's name in status lines and JSON records.
    fn verb(&self) -> &'static str {
        match self {
            Action::Download { .. } => "download",
            Action::MakeDirectory { .. } => "mkdir",
            Action::Upload { .. } => "upload",
            Action::Copy { .. } => "copy",
            Action::Delete { .. } | Action::DeleteFile { .. } => "delete",
            Action::Refuse { .. } => "refuse",
        }
    }

    /// Bytes the action moves, as far as known up front.
    fn size(&self) -> u64 {
        match self {
            Action::Download { size, .. } | Action::Upload { size, .. } | Action::Copy { size, .. } => *size,
            Action::MakeDirectory { .. }
            | Action::Delete { .. }
            | Action::DeleteFile { .. }
            | Action::Refuse { .. } => 0,
        }
    }

    /// Source and destination as printed.
    fn names(&self) -> (String, Option<String>) {
        match self {
            Action::Download { source, destination, .. } | Action::MakeDirectory { source, destination } => {
                (source.to_string(), Some(destination.display().to_string()))
            }
            Action::Upload { source, destination, .. } => (source.display().to_string(), Some(destination.to_string())),
            Action::Copy { source, destination, .. } => (source.to_string(), Some(destination.to_string())),
            Action::Delete { target } => (target.to_string(), None),
            Action::DeleteFile { path, .. } => (path.display().to_string(), None),
            Action::Refuse { object, .. } => (object.clone(), None),
        }
    }
}

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
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self { jobs: DEFAULT_JOBS, dry_run: false, no_clobber: false, json: false, quiet: false }
    }
}

/// What a finished batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Summary {
    /// Objects done.
    pub(crate) succeeded: u64,
    /// Objects skipped (`--no-clobber`).
    pub(crate) skipped: u64,
    /// Objects that failed.
    pub(crate) failed: u64,
    /// Bytes moved by the objects done.
    pub(crate) bytes: u64,
    /// Wall time of the whole batch.
    pub(crate) elapsed: Duration,
    /// Retried requests during the batch.
    pub(crate) retries: u64,
}

impl Summary {
    /// Objects the batch took on: done, skipped or failed.
    pub(crate) fn objects(&self) -> u64 {
        self.succeeded + self.skipped + self.failed
    }
}

/// Some objects of a batch failed: the first [`FAILURES_SHOWN`] are named. Maps to exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} objects failed: {}{}", shown.join(", "), more(*failed, shown.len()))]
pub(crate) struct BatchFailed {
    /// Objects that failed.
    pub(crate) failed: u64,
    /// Objects attempted.
    pub(crate) total: u64,
    /// The first failed objects' names.
    pub(crate) shown: Vec<String>,
}

fn more(failed: u64, shown: usize) -> String {
    match failed.saturating_sub(shown as u64) {
        0 => String::new(),
        rest => format!(" and {rest} more"),
    }
}

/// One finished object, as printed with `--json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Record {
    /// `download`, `upload`, `copy`, `delete`, `mkdir` or `refuse`.
    pub(crate) operation: &'static str,
    /// The source (or the deleted object).
    pub(crate) source: String,
    /// The destination, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) destination: Option<String>,
    /// Bytes moved.
    pub(crate) size: u64,
    /// Seconds the object took.
    pub(crate) seconds: f64,
    /// The verified or computed full-object checksum (`CRC64NVME:BASE64`) or, for copies, the
    /// new ETag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) checksum: Option<String>,
    /// `ok`, `skipped` or `failed`.
    pub(crate) status: &'static str,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// What the tasks share: the client, the byte counter behind the bar, the last directory made.
struct Shared {
    client: Client,
    progress: Arc<Progress>,
    no_clobber: bool,
    /// The parent directory most recently created: keys come in order, so neighbours usually
    /// share it and need no `create_dir_all` of their own.
    last_dir: Mutex<Option<PathBuf>>,
}

/// Runs every action of `actions` (see the module doc). An error in the stream itself (a listing
/// that failed) stops taking new actions; the ones in flight finish and the error is returned.
pub(crate) async fn run<S>(
    client: &Client,
    actions: S,
    config: &BatchConfig,
    out: &mut Printer,
) -> anyhow::Result<Summary>
where
    S: Stream<Item = anyhow::Result<Action>>,
{
    let started = Instant::now();
    let retries_before = client.retry_counters().total();
    let shared = Arc::new(Shared {
        client: client.clone(),
        progress: Arc::new(Progress::new()),
        no_clobber: config.no_clobber,
        last_dir: Mutex::new(None),
    });
    let mut report = Reporter::new(config, Arc::clone(&shared.progress));
    let mut tasks: JoinSet<Vec<Record>> = JoinSet::new();
    let mut deletes = DeleteBatch::default();
    let mut actions = std::pin::pin!(actions);
    let mut exhausted = false;
    let mut fatal = None;
    let jobs = config.jobs.max(1);
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
                    for record in result.unwrap_or_else(|e| vec![panicked(e)]) {
                        report.finished(record, out).await?;
                    }
                }
                out.flush().await?;
            }
            next = actions.next(), if !exhausted && tasks.len() < jobs => {
                let action = match next {
                    Some(Ok(action)) => action,
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
                report.queued(&action);
                if config.dry_run {
                    report.dry_run(&action, out).await?;
                    continue;
                }
                match action {
                    Action::Delete { target } => {
                        if let Some(batch) = deletes.push(target) {
                            spawn_deletes(&mut tasks, &shared, batch);
                        }
                    }
                    Action::Refuse { object, reason } => {
                        report.finished(refused(object, reason), out).await?;
                    }
                    action => {
                        let shared = Arc::clone(&shared);
                        tasks.spawn(async move { vec![execute(&shared, action).await] });
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
    };
    report.close(&summary);
    if let Some(error) = fatal {
        return Err(error);
    }
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

/// Runs one action (not a delete) and says how it went.
async fn execute(shared: &Shared, action: Action) -> Record {
    let started = Instant::now();
    let (source, destination) = action.names();
    let operation = action.verb();
    let result: anyhow::Result<Option<(u64, Option<String>)>> = async {
        match action {
            Action::Download { source, destination, modified, .. } => {
                if shared.no_clobber && tokio::fs::symlink_metadata(&destination).await.is_ok() {
                    return Ok(None);
                }
                shared.ensure_parent(&destination).await?;
                let progress = Some(&shared.progress);
                let output =
                    transfer::download_to_file(&shared.client, &source, &destination, progress, modified).await?;
                let checksum = output.verified_checksum.map(|c| format!("{}:{}", c.algorithm.name(), c.value));
                Ok(Some((output.size, checksum)))
            }
            Action::MakeDirectory { destination, .. } => {
                tokio::fs::create_dir_all(&destination)
                    .await
                    .map_err(|e| anyhow::anyhow!("creating directory {}: {e}", destination.display()))?;
                Ok(Some((0, None)))
            }
            Action::Upload { source, destination, .. } => {
                let output =
                    transfer::upload_file(&shared.client, &source, &destination, Some(&shared.progress)).await?;
                let checksum = output.checksum.map(|c| format!("{}:{}", c.algorithm.name(), c.value));
                Ok(Some((output.size, checksum)))
            }
            Action::Copy { source, destination, size } => {
                let etag = transfer::copy_object(&shared.client, &source, &destination).await?;
                shared.progress.add(size);
                Ok(Some((size, etag)))
            }
            Action::DeleteFile { path, root } => {
                delete_file(path, root).await?;
                Ok(Some((0, None)))
            }
            Action::Delete { .. } | Action::Refuse { .. } => unreachable!("handled by the runner"),
        }
    }
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let mut record =
        Record { operation, source, destination, size: 0, seconds, checksum: None, status: "ok", error: None };
    match result {
        Ok(Some((size, checksum))) => {
            record.size = size;
            record.checksum = checksum;
        }
        Ok(None) => record.status = "skipped",
        Err(error) => {
            record.status = "failed";
            record.error = Some(exit::one_line(&error));
        }
    }
    record
}

/// Deletes the local file `path` if its directory, links resolved, lies under `root` (see
/// [`Action::DeleteFile`]); on the blocking pool.
async fn delete_file(path: PathBuf, root: PathBuf) -> anyhow::Result<()> {
    let task = tokio::task::spawn_blocking(move || {
        let root = std::fs::canonicalize(&root).map_err(|e| anyhow::anyhow!("{}: {e}", root.display()))?;
        let parent = path.parent().unwrap_or(Path::new("."));
        let parent = std::fs::canonicalize(parent).map_err(|e| anyhow::anyhow!("{}: {e}", parent.display()))?;
        if !parent.starts_with(&root) {
            anyhow::bail!(
                "not deleting {}: through a symbolic link it lies in {}, outside {}",
                path.display(),
                parent.display(),
                root.display()
            );
        }
        // The file itself may be a link: that removes the link, not its target.
        std::fs::remove_file(&path).map_err(|e| anyhow::anyhow!("deleting {}: {e}", path.display()))
    });
    task.await?
}

impl Shared {
    /// Creates the parent directory of `file` unless it was the last one created.
    async fn ensure_parent(&self, file: &Path) -> anyhow::Result<()> {
        let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) else { return Ok(()) };
        if self.last_dir.lock().expect("not poisoned").as_deref() == Some(parent) {
            return Ok(());
        }
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| anyhow::anyhow!("creating directory {}: {e}", parent.display()))?;
        *self.last_dir.lock().expect("not poisoned") = Some(parent.to_owned());
        Ok(())
    }
}

/// Deletes gathered for one DeleteObjects request: one bucket, up to [`s3io::MAX_DELETE_KEYS`].
#[derive(Debug, Default)]
struct DeleteBatch {
    bucket: String,
    keys: Vec<String>,
}

impl DeleteBatch {
    /// Adds `target`; returns a full batch (or the previous bucket's) to send.
    fn push(&mut self, target: S3Url) -> Option<DeleteBatch> {
        let mut ready = None;
        if !self.keys.is_empty() && self.bucket != target.bucket {
            ready = self.take();
        }
        if self.keys.is_empty() {
            self.bucket = target.bucket;
        }
        self.keys.push(target.key);
        if self.keys.len() >= s3io::MAX_DELETE_KEYS {
            debug_assert!(ready.is_none());
            ready = self.take();
        }
        ready
    }

    /// The gathered batch, if any, leaving this one empty.
    fn take(&mut self) -> Option<DeleteBatch> {
        (!self.keys.is_empty()).then(|| std::mem::take(self))
    }
}

fn spawn_deletes(tasks: &mut JoinSet<Vec<Record>>, shared: &Arc<Shared>, batch: DeleteBatch) {
    let client = shared.client.clone();
    tasks.spawn(async move {
        let started = Instant::now();
        let result = client.delete_objects(&batch.bucket, &batch.keys).await;
        let seconds = started.elapsed().as_secs_f64();
        let record = |key: &str, error: Option<String>| Record {
            operation: "delete",
            source: format!("s3://{}/{key}", batch.bucket),
            destination: None,
            size: 0,
            seconds,
            checksum: None,
            status: if error.is_some() { "failed" } else { "ok" },
            error,
        };
        match result {
            Ok(output) => {
                let mut errors: std::collections::HashMap<&str, String> = output
                    .errors
                    .iter()
                    .map(|e| {
                        (
                            e.key.as_str(),
                            format!("{} {}", e.code, e.message.as_deref().unwrap_or("")).trim_end().to_owned(),
                        )
                    })
                    .collect();
                batch.keys.iter().map(|key| record(key, errors.remove(key.as_str()))).collect()
            }
            Err(error) => {
                let text = exit::one_line(&error.into());
                batch.keys.iter().map(|key| record(key, Some(text.clone()))).collect()
            }
        }
    });
}

fn refused(object: String, reason: String) -> Record {
    Record {
        operation: "refuse",
        source: object,
        destination: None,
        size: 0,
        seconds: 0.0,
        checksum: None,
        status: "failed",
        error: Some(reason),
    }
}

fn panicked(error: tokio::task::JoinError) -> Record {
    refused("(unknown object)".into(), format!("the transfer task failed: {error}"))
}

/// Counts, prints and draws the job's progress.
struct Reporter {
    json: bool,
    quiet: bool,
    dry_run: bool,
    bar: Option<ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
    queued_objects: u64,
    succeeded: u64,
    skipped: u64,
    failed: u64,
    bytes: u64,
    failures: Vec<String>,
}

impl Reporter {
    fn new(config: &BatchConfig, progress: Arc<Progress>) -> Self {
        let show_bar = !config.quiet && !config.dry_run && std::io::stderr().is_terminal();
        let (bar, ticker) = if show_bar {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} [{wide_bar}] {binary_bytes}/{binary_total_bytes} \
                     {binary_bytes_per_sec} ETA {eta} {msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            let ticking = bar.clone();
            let ticker = tokio::spawn(async move {
                let mut interval = tokio::time::interval(PROGRESS_TICK);
                loop {
                    interval.tick().await;
                    ticking.set_position(progress.bytes_done());
                }
            });
            (Some(bar), Some(ticker))
        } else {
            (None, None)
        };
        Self {
            json: config.json,
            quiet: config.quiet,
            dry_run: config.dry_run,
            bar,
            ticker,
            queued_objects: 0,
            succeeded: 0,
            skipped: 0,
            failed: 0,
            bytes: 0,
            failures: Vec::new(),
        }
    }

    /// Counts an action taken from the stream into the bar's totals.
    fn queued(&mut self, action: &Action) {
        self.queued_objects += 1;
        if let Some(bar) = &self.bar {
            bar.inc_length(action.size());
            self.update_message();
        }
    }

    fn update_message(&self) {
        if let Some(bar) = &self.bar {
            let done = self.succeeded + self.skipped + self.failed;
            bar.set_message(format!("{done}/{} objects", self.queued_objects));
        }
    }

    /// Prints what a dry run would do.
    async fn dry_run(&mut self, action: &Action, out: &mut Printer) -> anyhow::Result<()> {
        self.succeeded += 1;
        self.bytes += action.size();
        let (source, destination) = action.names();
        let line = match (action, destination) {
            (Action::Refuse { reason, .. }, _) => {
                self.succeeded -= 1;
                self.failed += 1;
                self.note_failure(&source);
                eprintln!("s3io: {source}: {reason}");
                return Ok(());
            }
            (_, Some(destination)) => format!("(dryrun) {}: {source} to {destination}", action.verb()),
            (_, None) => format!("(dryrun) {}: {source}", action.verb()),
        };
        out.status(&line).await
    }

    /// Records one finished object: counts, JSON or status line, failure report.
    async fn finished(&mut self, record: Record, out: &mut Printer) -> anyhow::Result<()> {
        match record.status {
            "ok" => {
                self.succeeded += 1;
                self.bytes += record.size;
            }
            "skipped" => self.skipped += 1,
            _ => {
                self.failed += 1;
                self.note_failure(&record.source);
                let error = record.error.as_deref().unwrap_or("failed");
                self.print_error(&format!("s3io: {} {} failed: {error}", record.operation, record.source));
            }
        }
        self.update_message();
        if self.json {
            return out.data(&serde_json::to_string(&record)?).await;
        }
        if self.quiet || record.status == "failed" {
            return Ok(());
        }
        let line = match (&record.destination, record.status) {
            (Some(destination), "skipped") => format!("skip: {} (exists: {destination})", record.source),
            (Some(destination), _) => format!("{}: {} to {destination}", record.operation, record.source),
            (None, _) => format!("{}: {}", record.operation, record.source),
        };
        match &self.bar {
            // Lines would tear the bar when both go to the same terminal.
            Some(bar) if std::io::stdout().is_terminal() => {
                bar.println(line);
                Ok(())
            }
            _ => out.data(&line).await,
        }
    }

    fn note_failure(&mut self, name: &str) {
        if self.failures.len() < FAILURES_SHOWN {
            self.failures.push(name.to_owned());
        }
    }

    fn print_error(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar and prints the summary line.
    fn close(&mut self, summary: &Summary) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if !self.quiet {
            let line = summary_line(summary);
            if self.dry_run {
                eprintln!(
                    "s3io: dry run: {} objects, {}; nothing was done",
                    summary.succeeded,
                    HumanBytes(summary.bytes)
                );
            } else {
                eprintln!("{line}");
            }
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// `s3io: 2000 objects, 125.00 MiB in 1.23 s (101.62 MiB/s), 0 retries[, 2 skipped][, 3 failed]`.
pub(crate) fn summary_line(summary: &Summary) -> String {
    let seconds = summary.elapsed.as_secs_f64();
    let rate = if seconds > 0.0 { (summary.bytes as f64 / seconds) as u64 } else { 0 };
    let mut line = format!(
        "s3io: {} objects, {} in {seconds:.2} s ({}/s), {} retries",
        summary.succeeded,
        HumanBytes(summary.bytes),
        HumanBytes(rate),
        summary.retries
    );
    if summary.skipped > 0 {
        line.push_str(&format!(", {} skipped", summary.skipped));
    }
    if summary.failed > 0 {
        line.push_str(&format!(", {} failed", summary.failed));
    }
    line
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

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

    #[test]
    fn deletes_are_batched_per_bucket_up_to_the_limit() {
        let mut batch = DeleteBatch::default();
        let mut sent = Vec::new();
        for i in 0..2500 {
            sent.extend(batch.push(url("a", &format!("k{i}"))));
        }
        sent.extend(batch.push(url("b", "x")));
        sent.extend(batch.take());
        let sizes: Vec<(String, usize)> = sent.iter().map(|b| (b.bucket.clone(), b.keys.len())).collect();
        assert_eq!(
            sizes,
            [("a".into(), 1000), ("a".into(), 1000), ("a".into(), 500), ("b".into(), 1)] as [(String, usize); 4]
        );
        assert!(batch.take().is_none());
    }

    #[test]
    fn failures_are_capped_in_the_message() {
        let err = BatchFailed { failed: 25, total: 100, shown: vec!["s3://b/a".into(), "s3://b/b".into()] };
        assert_eq!(err.to_string(), "25 of 100 objects failed: s3://b/a, s3://b/b and 23 more");
        let err = BatchFailed { failed: 1, total: 3, shown: vec!["x".into()] };
        assert_eq!(err.to_string(), "1 of 3 objects failed: x");
    }

    #[test]
    fn summary_line_has_the_figures() {
        let summary = Summary {
            succeeded: 2000,
            skipped: 1,
            failed: 2,
            bytes: 2000 * 65536,
            elapsed: Duration::from_secs(2),
            retries: 3,
        };
        assert_eq!(
            summary_line(&summary),
            "s3io: 2000 objects, 125.00 MiB in 2.00 s (62.50 MiB/s), 3 retries, 1 skipped, 2 failed"
        );
    }

    #[test]
    fn records_serialise_as_one_json_line() {
        let record = Record {
            operation: "download",
            source: "s3://b/k".into(),
            destination: Some("d/k".into()),
            size: 5,
            seconds: 0.5,
            checksum: None,
            status: "ok",
            error: None,
        };
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"operation":"download","source":"s3://b/k","destination":"d/k","size":5,"seconds":0.5,"status":"ok"}"#
        );
    }
}
