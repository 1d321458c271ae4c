//! The process around a command: logging, the tokio runtime, signals and the exit code.
//!
//! SIGINT (Ctrl-C) or SIGTERM during a command drops the command's future (a many-object
//! command first reports every object that finished, see [`signal`]): every request in
//! flight is abandoned, every temporary download file is removed by its owner's `Drop`, and
//! every multipart upload in progress is aborted; the process waits for that clean-up to finish
//! ([`signal::finish_cleanup`]) and exits with 130 or 143. A second signal exits at once, saying
//! what was left behind. `s3io serve` handles Ctrl-C itself, as its normal way to stop (exit 0).

use std::process::ExitCode;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command};
use crate::signal::{self, Signals};
use crate::{cmd, exit};

/// How long blocking work (a pending stdin read, a file write) may hold up the exit.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs the command line and returns the exit code.
pub(crate) fn main(cli: Cli) -> ExitCode {
    init_logging(cli.global.verbose);
    one_malloc_arena();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return exit::report(&anyhow::Error::new(e).context("starting the tokio runtime")),
    };
    let code = runtime.block_on(run(cli));
    runtime.shutdown_timeout(SHUTDOWN_TIMEOUT);
    code
}

/// Has glibc's malloc keep one arena for all threads (`M_ARENA_MAX` = 1) instead of up to eight
/// per core. Each arena keeps the memory its threads freed, so with per-thread arenas a buffer
/// freed on one runtime thread is resident but unusable by the others; s3io allocates little (its
/// payload buffers are pooled, a few tens of allocations per request), so one arena costs no
/// lock contention worth measuring. `s3io bench` (all scenarios, 2-core machine, 3 runs each,
/// medians) with one arena against glibc's default: peak RSS of `small downloads` 39.0 vs 46.5
/// MiB, `large download (file)` 28.6 vs 34.5, `large upload (stream)` 81.1 vs 83.9, at the same
/// or higher throughput and no more CPU per GiB. `MALLOC_ARENA_MAX` in the environment still
/// applies where glibc reads it (an explicit `mallopt` overrides it, so it is only set here when
/// the variable is absent). No-op on other C libraries.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; it is called before the runtime
        // starts any thread, and glibc synchronises it with allocations in any case.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

async fn run(cli: Cli) -> ExitCode {
    if matches!(cli.command, Command::Serve(_)) {
        return finish(cmd::run(cli).await);
    }
    let mut signals = match Signals::listen() {
        Ok(signals) => signals,
        Err(e) => return exit::report(&anyhow::Error::new(e).context("listening for SIGINT and SIGTERM")),
    };
    // Boxed, to be dropped before the clean-up is awaited.
    let mut command = Box::pin(cmd::run(cli));
    let stop = tokio::select! {
        outcome = &mut command => return finish(outcome),
        stop = signals.recv() => stop,
    };
    eprintln!("s3io: {}: cancelling and cleaning up (send it again to exit at once)", stop.name());
    // A many-object command reports what finished and cancels the rest itself; any other is
    // dropped here: its transfers are cancelled and start cleaning up.
    let stopped = signal::stop_command(command.as_mut(), &mut signals).await;
    drop(command);
    if !stopped || !signal::finish_cleanup(&mut signals).await {
        eprintln!("s3io: exiting before the clean-up finished: {}", signal::left_behind());
    }
    ExitCode::from(stop.exit_code())
}

/// The exit code of a command that ran to its end.
fn finish(outcome: anyhow::Result<()>) -> ExitCode {
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
