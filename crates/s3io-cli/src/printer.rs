//! The stdout printer every command writes through: buffered lines written by tokio (never
//! blocking a runtime thread), data lines (listings, URLs, JSON records) apart from status lines
//! (which `--quiet` drops and which are flushed as they happen, to report progress).

use tokio::io::{AsyncWriteExt as _, BufWriter, Stdout};

/// Buffered lines to stdout through tokio (never blocking a runtime thread), with `--quiet`
/// applied to status lines.
pub(crate) struct Printer {
    stdout: BufWriter<Stdout>,
    quiet: bool,
}

impl Printer {
    /// A printer to stdout; `quiet` drops status lines.
    pub(crate) fn new(quiet: bool) -> Self {
        Self { stdout: BufWriter::new(tokio::io::stdout()), quiet }
    }

    /// Prints a line of the data the command was asked for (listings, URLs); `--quiet` keeps it.
    pub(crate) async fn data(&mut self, line: &str) -> anyhow::Result<()> {
        self.stdout.write_all(line.as_bytes()).await?;
        self.stdout.write_all(b"\n").await?;
        Ok(())
    }

    /// Prints a status line ("upload: a to s3://b/a"), unless `--quiet`.
    pub(crate) async fn status(&mut self, line: &str) -> anyhow::Result<()> {
        if self.quiet {
            return Ok(());
        }
        self.data(line).await?;
        // Status lines report progress as it happens.
        self.flush().await
    }

    /// Whether `--quiet` was given.
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Writes out what is buffered.
    pub(crate) async fn flush(&mut self) -> anyhow::Result<()> {
        self.stdout.flush().await?;
        Ok(())
    }
}
