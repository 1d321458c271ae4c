//! The commands, one module each, and what they share: the dispatcher and the stdout printer.

mod bucket;
mod cat;
mod cp;
mod ls;
mod presign;
mod rm;
mod serve;
mod sync;

use tokio::io::{AsyncWriteExt as _, BufWriter, Stdout};

use crate::args::{Cli, Command};
use crate::settings;

/// Runs the parsed command line.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli { global, command } = cli;
    let mut out = Printer::new(global.quiet);
    let result = match command {
        // The server needs no client.
        Command::Serve(args) => serve::run(args, &mut out).await,
        // The benchmark builds its own client (for the embedded server it starts).
        Command::Bench(args) => crate::bench::run(&global, args, &mut out).await,
        command => {
            let client = settings::client(&global).await?;
            match command {
                Command::Cp(args) => cp::run(&client, args, &mut out).await,
                Command::Sync(args) => sync::run(&client, args, &mut out).await,
                Command::Ls(args) => ls::run(&client, args, &mut out).await,
                Command::Rm(args) => rm::run(&client, args, &mut out).await,
                Command::Mb(args) => bucket::make(&client, args, &mut out).await,
                Command::Rb(args) => bucket::remove(&client, args, &mut out).await,
                Command::Cat(args) => cat::run(&client, args).await,
                Command::Presign(args) => presign::run(&client, args, &mut out).await,
                Command::Serve(_) | Command::Bench(_) => unreachable!("handled above"),
            }
        }
    };
    // Whatever was printed before an error still reaches stdout.
    let flushed = out.flush().await;
    result.and(flushed)
}

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
