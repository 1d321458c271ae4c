//! The process around a command: logging, the tokio runtime, Ctrl-C and the exit code.
//!
//! Ctrl-C during a command drops the command's future: every request in flight is abandoned and
//! every temporary download file is removed by its owner's `Drop`, then the process exits with
//! 130. `s3io serve` handles Ctrl-C itself, as its normal way to stop (exit 0).

use std::process::ExitCode;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command};
use crate::{cmd, exit};

/// How long blocking work (a pending stdin read, a file write) may hold up the exit.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs the command line and returns the exit code.
pub(crate) fn main(cli: Cli) -> ExitCode {
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return exit::report(&anyhow::Error::new(e).context("starting the tokio runtime")),
    };
    let code = runtime.block_on(run(cli));
    runtime.shutdown_timeout(SHUTDOWN_TIMEOUT);
    code
}

async fn run(cli: Cli) -> ExitCode {
    let interruptible = !matches!(cli.command, Command::Serve(_));
    let outcome = if interruptible {
        tokio::select! {
            outcome = cmd::run(cli) => outcome,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("s3io: interrupted");
                return ExitCode::from(exit::INTERRUPTED);
            }
        }
    } else {
        cmd::run(cli).await
    };
    match outcome {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(err) => exit::report(&err),
    }
}

/// Logs to stderr: nothing by default (errors are reported once, by [`exit::report`]), `-v`
/// info, `-vv` debug, `-vvv` trace; `S3IO_LOG` (an `EnvFilter` directive) overrides.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "off",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("S3IO_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
