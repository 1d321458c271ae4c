//! What a batch reports: one [`Record`] per finished object (a status line, or a JSON line with
//! `--json`), failures on stderr as they happen, the progress bar on a terminal, and at the end
//! the [`Summary`] line and the [`BatchFailed`] error naming the first [`FAILURES_SHOWN`] failed
//! objects.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use s3io::Progress;
use serde::Serialize;

use super::action::Action;
use super::BatchConfig;
use crate::printer::Printer;

/// Failed objects named in the final error; the rest are counted.
pub(crate) const FAILURES_SHOWN: usize = 20;

/// How often the progress bar is redrawn.
const PROGRESS_TICK: Duration = Duration::from_millis(100);

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
    /// Downloads whose bytes were checked, by the checksum checked (`CRC64NVME`, `MD5`, …).
    pub(crate) verified: BTreeMap<String, u64>,
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

/// How one object went, as printed in `--json` records (`ok`, `skipped`, `failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    /// Done.
    Ok,
    /// Left alone: the destination exists and `--no-clobber` keeps it.
    Skipped,
    /// Failed; the record's `error` says why.
    Failed,
}

/// One finished object, as printed with `--json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Record {
    /// The line of `s3io run` the object comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<u64>,
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
    /// How it went.
    pub(crate) status: Status,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// The client's concurrency and connections when the object finished.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub(crate) client: Option<ClientFigures>,
}

/// Client-wide figures a `--json` record carries: what the client's concurrency controller
/// chose and the connections it opened, as they stood when the object finished (they cover
/// every transfer of the run so far, not this object alone).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub(crate) struct ClientFigures {
    /// The client's limit on requests in flight (the controller's choice, or the throttled
    /// maximum with a pinned `--concurrency`).
    pub(crate) concurrency: usize,
    /// The highest that limit has been.
    pub(crate) concurrency_max: usize,
    /// The most requests that were in flight at once.
    pub(crate) peak_in_flight: usize,
    /// Connections the client has opened.
    pub(crate) connections_opened: u64,
}

impl ClientFigures {
    /// The figures of `client` now.
    pub(crate) fn of(client: &s3io::Client) -> Self {
        let throttle = client.throttle();
        Self {
            concurrency: throttle.limit(),
            concurrency_max: throttle.max_limit_reached(),
            peak_in_flight: throttle.peak_in_flight(),
            connections_opened: client.connection_metrics().opened(),
        }
    }
}

/// The record of an action refused by its planner.
pub(super) fn refused(object: String, reason: String) -> Record {
    Record {
        line: None,
        operation: "refuse",
        source: object,
        destination: None,
        size: 0,
        seconds: 0.0,
        checksum: None,
        status: Status::Failed,
        error: Some(reason),
        client: None,
    }
}

/// The record of a task that panicked (its object is unknown by then).
pub(super) fn panicked(error: tokio::task::JoinError) -> Record {
    refused("(unknown object)".into(), format!("the transfer task failed: {error}"))
}

/// Counts, prints and draws the job's progress.
pub(super) struct Reporter {
    json: bool,
    quiet: bool,
    dry_run: bool,
    moving: bool,
    bar: Option<ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
    queued_objects: u64,
    pub(super) succeeded: u64,
    pub(super) skipped: u64,
    pub(super) failed: u64,
    pub(super) bytes: u64,
    pub(super) failures: Vec<String>,
    pub(super) verified: BTreeMap<String, u64>,
}

impl Reporter {
    pub(super) fn new(config: &BatchConfig, progress: Arc<Progress>) -> Self {
        let show_bar = !config.quiet && !config.dry_run && !config.no_progress && std::io::stderr().is_terminal();
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
                    // Objects whose size the plan did not know (the single downloads and copies
                    // of `s3io run`) add it once they start.
                    if let Some(total) = progress.bytes_total().filter(|&t| t > ticking.length().unwrap_or(0)) {
                        ticking.set_length(total);
                    }
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
            moving: config.move_sources,
            bar,
            ticker,
            queued_objects: 0,
            succeeded: 0,
            skipped: 0,
            failed: 0,
            bytes: 0,
            failures: Vec::new(),
            verified: BTreeMap::new(),
        }
    }

    /// Counts an action taken from the stream into the bar's totals.
    pub(super) fn queued(&mut self, action: &Action) {
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

    /// Prints what a dry run would do (`line`: of `s3io run`).
    pub(super) async fn dry_run(
        &mut self,
        action: &Action,
        line: Option<u64>,
        out: &mut Printer,
    ) -> anyhow::Result<()> {
        self.succeeded += 1;
        self.bytes += action.size();
        let (source, destination) = action.names();
        let line = match (action, destination) {
            (Action::Refuse { reason, .. }, _) => {
                self.succeeded -= 1;
                self.failed += 1;
                match line {
                    Some(line) => {
                        self.note_failure(&format!("line {line} ({source})"));
                        eprintln!("s3io: line {line}: {source}: {reason}");
                    }
                    None => {
                        self.note_failure(&source);
                        eprintln!("s3io: {source}: {reason}");
                    }
                }
                return Ok(());
            }
            (_, Some(destination)) => {
                let verb = if self.moving && action.is_transfer() { "move" } else { action.verb() };
                format!("(dryrun) {verb}: {source} to {destination}")
            }
            (_, None) => format!("(dryrun) {}: {source}", action.verb()),
        };
        out.status(&line).await
    }

    /// Records one finished object: counts, JSON or status line, failure report.
    pub(super) async fn finished(&mut self, record: Record, out: &mut Printer) -> anyhow::Result<()> {
        match record.status {
            Status::Ok => {
                self.succeeded += 1;
                self.bytes += record.size;
                if let Some(algorithm) = verified_algorithm(&record) {
                    *self.verified.entry(algorithm.to_owned()).or_default() += 1;
                }
            }
            Status::Skipped => self.skipped += 1,
            Status::Failed => {
                self.failed += 1;
                match record.line {
                    Some(line) => self.note_failure(&format!("line {line} ({})", record.source)),
                    None => self.note_failure(&record.source),
                }
                self.print_error(&failure_line(&record));
            }
        }
        self.update_message();
        if self.json {
            return out.data(&serde_json::to_string(&record)?).await;
        }
        if self.quiet || record.status == Status::Failed {
            return Ok(());
        }
        let line = match (&record.destination, record.status) {
            (Some(destination), Status::Skipped) => format!("skip: {} (exists: {destination})", record.source),
            (Some(destination), _) => match verified_algorithm(&record) {
                Some(algorithm) => {
                    format!("{}: {} to {destination} ({algorithm} verified)", record.operation, record.source)
                }
                None => format!("{}: {} to {destination}", record.operation, record.source),
            },
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
    pub(super) fn close(&mut self, summary: &Summary) {
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

/// The stderr line of a failed object. An error that already names the object (every library
/// error does: "GetObject s3://b/k failed: …", "download s3://b/k failed: …") is printed as it
/// is, not behind a second "download s3://b/k failed:".
fn failure_line(record: &Record) -> String {
    let error = record.error.as_deref().unwrap_or("failed");
    let line = record.line.map(|line| format!("line {line}: ")).unwrap_or_default();
    if record.operation == "refuse" {
        // A key, file or `run` line refused before any request: what, then why.
        format!("s3io: {line}{}: {error}", record.source)
    } else if error.contains(&record.source) {
        format!("s3io: {line}{error}")
    } else {
        format!("s3io: {line}{} {} failed: {error}", record.operation, record.source)
    }
}

/// The algorithm of the checksum a finished download (or move from S3 to a file) verified: its
/// record's `ALGORITHM:VALUE`.
pub(crate) fn verified_algorithm(record: &Record) -> Option<&str> {
    let to_file =
        record.source.starts_with("s3://") && record.destination.as_deref().is_some_and(|d| !d.starts_with("s3://"));
    if !to_file || record.status != Status::Ok {
        return None;
    }
    record.checksum.as_deref().and_then(|c| c.split_once(':')).map(|(algorithm, _)| algorithm)
}

/// `s3io: 2000 objects, 125.00 MiB in 1.23 s (101.62 MiB/s), 0 retries[, 2 skipped][, 3 failed]
/// [, verified: 1990 CRC64NVME, 10 MD5]`.
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
    if !summary.verified.is_empty() {
        let counts: Vec<String> = summary.verified.iter().map(|(name, n)| format!("{n} {name}")).collect();
        line.push_str(&format!(", verified: {}", counts.join(", ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_naming_its_object_is_not_prefixed_twice() {
        let mut record = refused("s3://b/k".into(), "download s3://b/k failed: CRC64NVME checksum mismatch".into());
        record.operation = "download";
        assert_eq!(failure_line(&record), "s3io: download s3://b/k failed: CRC64NVME checksum mismatch");
        record.error = Some("disk full".into());
        assert_eq!(failure_line(&record), "s3io: download s3://b/k failed: disk full");
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
            verified: BTreeMap::new(),
        };
        assert_eq!(
            summary_line(&summary),
            "s3io: 2000 objects, 125.00 MiB in 2.00 s (62.50 MiB/s), 3 retries, 1 skipped, 2 failed"
        );
        let verified =
            Summary { verified: BTreeMap::from([("CRC64NVME".to_owned(), 1990), ("MD5".to_owned(), 10)]), ..summary };
        assert!(summary_line(&verified).ends_with(", 2 failed, verified: 1990 CRC64NVME, 10 MD5"));
    }

    #[test]
    fn records_serialise_as_one_json_line() {
        let record = Record {
            line: None,
            operation: "download",
            source: "s3://b/k".into(),
            destination: Some("d/k".into()),
            size: 5,
            seconds: 0.5,
            checksum: None,
            status: Status::Ok,
            error: None,
            client: None,
        };
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"operation":"download","source":"s3://b/k","destination":"d/k","size":5,"seconds":0.5,"status":"ok"}"#
        );
        let figures =
            ClientFigures { concurrency: 16, concurrency_max: 32, peak_in_flight: 30, connections_opened: 31 };
        let record = Record { client: Some(figures), ..record };
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"operation":"download","source":"s3://b/k","destination":"d/k","size":5,"seconds":0.5,"status":"ok","concurrency":16,"concurrency_max":32,"peak_in_flight":30,"connections_opened":31}"#
        );
    }
}
