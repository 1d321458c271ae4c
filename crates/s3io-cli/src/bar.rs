//! The progress bar of one object's transfer (`cp FILE s3://…`, `cp s3://… FILE`): bytes, rate
//! and ETA on stderr, redrawn every [`TICK`] from the transfer's [`Progress`] counter (which the
//! library's engines update as bytes move; the bar never touches the data path).
//!
//! Shown only where a bar makes sense: stderr is a terminal, and neither `--quiet`, `--json`,
//! `--dry-run` nor `--no-progress` was given ([`wanted`]). Many-object commands draw their own bar
//! of the whole job (`crate::batch`). Dropping the bar stops its ticker and clears it.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use s3io::Progress;

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// Whether a single transfer shows a bar: stderr is a terminal and nothing asked for quiet.
pub(crate) fn wanted(quiet: bool, json: bool, dry_run: bool, no_progress: bool) -> bool {
    !(quiet || json || dry_run || no_progress) && std::io::stderr().is_terminal()
}

/// A bar drawn while it lives.
pub(crate) struct TransferBar {
    bar: ProgressBar,
    ticker: tokio::task::JoinHandle<()>,
}

impl TransferBar {
    /// Starts drawing `progress` (its total is set by the engine once the size is known).
    pub(crate) fn start(progress: Arc<Progress>) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{wide_bar}] {binary_bytes}/{binary_total_bytes} \
                 {binary_bytes_per_sec} ETA {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        let ticking = bar.clone();
        let ticker = tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            loop {
                interval.tick().await;
                if let Some(total) = progress.bytes_total() {
                    ticking.set_length(total);
                }
                ticking.set_position(progress.bytes_done());
            }
        });
        Self { bar, ticker }
    }
}

impl Drop for TransferBar {
    fn drop(&mut self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}
