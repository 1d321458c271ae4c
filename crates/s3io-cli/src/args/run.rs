//! `s3io run FILE`: the flags of the whole run, and the parser of each of its lines.

use clap::{Args, Parser, Subcommand};

use super::{parse_jobs, CpArgs, RmArgs, SyncArgs};

/// Commands in flight at once by default (as objects for a many-object command): the same
/// default, for the same reasons (see [`super::DEFAULT_JOBS`]).
pub(crate) const DEFAULT_RUN_JOBS: usize = super::DEFAULT_JOBS;

/// `s3io run FILE`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// A file of commands, one per line, or `-` for stdin: `cp SRC DST`, `mv SRC DST`,
    /// `rm TARGET` and `sync SRC DST` with their flags (`-r`, wildcards, `--no-clobber`, object flags, filters),
    /// quoted as in a shell. Blank lines and lines starting with `#` are skipped. Lines run in
    /// parallel, in no particular order: a line that needs another's result belongs in a later
    /// run.
    pub(crate) file: std::ffi::OsString,
    /// Print what each line would do, do nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print one JSON object per finished object on stdout, carrying its line number (`line`).
    #[arg(long)]
    pub(crate) json: bool,
    /// Objects in flight at once, across all lines (all through one client: one connection
    /// pool, one concurrency controller, one memory limit).
    #[arg(long, short = 'j', value_name = "N", default_value_t = DEFAULT_RUN_JOBS, value_parser = parse_jobs)]
    pub(crate) jobs: usize,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub(crate) no_progress: bool,
}

/// One line of a `run` file, as clap parses it (no binary name).
#[derive(Debug, Parser)]
#[command(name = "s3io run", no_binary_name = true, disable_help_subcommand = true)]
pub(crate) struct RunLine {
    /// The line's command.
    #[command(subcommand)]
    pub(crate) command: LineCommand,
}

/// The commands a `run` line may hold.
#[derive(Debug, Subcommand)]
pub(crate) enum LineCommand {
    /// `cp SRC DST`.
    Cp(CpArgs),
    /// `mv SRC DST`.
    Mv(CpArgs),
    /// `rm TARGET`.
    Rm(RmArgs),
    /// `sync SRC DST`.
    Sync(SyncArgs),
}
