//! The command line as clap sees it: raw flags and arguments, before any validation.
//!
//! Everything here is plain data parsed by clap's derive API. Turning it into validated settings
//! (a [`s3io::config::ClientConfig`], parsed `s3://` locations, byte sizes) happens in
//! [`crate::settings`] and in each command, before any request is sent — the raw-then-validated
//! split ripgrep uses (`lowargs` → `hiargs`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod bench;
mod encryption;
mod global;
mod inspect;
mod object;
mod run;

pub(crate) use bench::{BenchArgs, Scenario};
pub(crate) use encryption::SseCArgs;
pub(crate) use global::{Addressing, GlobalArgs};
pub(crate) use inspect::{DuArgs, HeadArgs};
pub(crate) use object::{ChecksumAlgorithmArg, ChecksumModeArg, CopyProps, MetadataDirective, ObjectArgs, Sse};
pub(crate) use run::{LineCommand, RunArgs, RunLine};

use crate::duration::HumanDuration;

/// The exit codes, as `--help` shows them (the table in [`crate::exit`] says more).
const EXIT_CODES: &str = "Exit codes:
  0    success (also when stdout's reader goes away, as with `s3io cat ... | head`)
  1    an operation failed (one line on stderr says what, where and why)
  2    usage error: bad flags or arguments
  130  interrupted by Ctrl-C (SIGINT), after cleaning up (temporary files, multipart uploads)
  143  terminated by SIGTERM, after cleaning up";

/// `s3io`: move bytes between S3-compatible stores and local files, fast, with bounded memory.
#[derive(Debug, Parser)]
#[command(name = "s3io", version, about, long_about = None, propagate_version = true, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// Flags every command accepts.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Copy a file to S3, an object to a file or stdout (`-`), or an object to another object;
    /// with -r or a wildcard, many objects at once.
    Cp(CpArgs),
    /// Move: copy as `cp` does, then delete each source (file or object) once its copy
    /// succeeded (-r and wildcards too).
    Mv(CpArgs),
    /// Make a prefix or directory hold what another holds, copying only what differs (local to S3,
    /// S3 to local, S3 to S3).
    Sync(SyncArgs),
    /// List buckets, or the objects and prefixes under s3://bucket[/prefix].
    Ls(LsArgs),
    /// Delete an object, every object under a prefix with --recursive, or every object a
    /// wildcard matches.
    Rm(RmArgs),
    /// Create a bucket.
    Mb(BucketArgs),
    /// Delete a bucket (it must be empty unless --force).
    Rb(RbArgs),
    /// Write an object to stdout.
    Cat(CatArgs),
    /// Show what the store keeps about an object: size, ETag, checksums, content headers,
    /// storage class, encryption, version id, metadata (nothing is downloaded).
    #[command(visible_alias = "stat")]
    Head(HeadArgs),
    /// Count the objects and bytes under s3://bucket[/prefix], in all and by storage class.
    Du(DuArgs),
    /// Print a presigned URL for an object.
    Presign(PresignArgs),
    /// List or abort multipart uploads in progress (left by a killed upload, say).
    #[command(subcommand)]
    Mpu(MpuCommand),
    /// Run a file of `cp`, `mv`, `rm` and `sync` commands (one per line; `-`: stdin) in parallel through
    /// one client; each line's objects reported as they finish, with its line number on failure.
    Run(RunArgs),
    /// Run the embedded S3-compatible server over a local directory.
    Serve(ServeArgs),
    /// Benchmark transfers: by default against the embedded server, with a table of throughput,
    /// CPU, memory, allocations and latency.
    Bench(BenchArgs),
}

/// `s3io cp SRC DST`.
#[derive(Debug, Args)]
pub(crate) struct CpArgs {
    /// A local file or (with -r) directory, `-` (stdin), s3://bucket/key, s3://bucket/prefix/
    /// (with -r) or a wildcard such as 's3://bucket/logs/2026-*'.
    pub(crate) source: std::ffi::OsString,
    /// s3://bucket/key (or s3://bucket/prefix/), a local file or directory, or `-` (stdout).
    pub(crate) destination: std::ffi::OsString,
    /// Copy every object under the source prefix, or every file under the source directory.
    #[arg(long, short)]
    pub(crate) recursive: bool,
    /// Never replace what is at the destination: a download whose file exists, and an upload or
    /// copy whose key holds an object, are skipped (the store checks as it writes:
    /// `If-None-Match: *`).
    #[arg(long, short = 'n')]
    pub(crate) no_clobber: bool,
    /// Take `*`, `?` and `[` in the source key literally, not as wildcards.
    #[arg(long)]
    pub(crate) raw: bool,
    /// Download or copy this version of the source object (one object, not with -r or
    /// wildcards); every ranged GET asks for it.
    #[arg(long, value_name = "ID")]
    pub(crate) version_id: Option<String>,
    /// What uploads and copies set on the new objects.
    #[command(flatten)]
    pub(crate) object: ObjectArgs,
    /// Flags of many-object commands, filters included.
    #[command(flatten)]
    pub(crate) batch: BatchArgs,
}

/// `s3io sync SRC DST`.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// A local directory or s3://bucket[/prefix] (a prefix is a directory: `p` means `p/`).
    pub(crate) source: String,
    /// A local directory (created if missing) or s3://bucket[/prefix].
    pub(crate) destination: String,
    /// Delete what is at the destination but not at the source (excluded keys are kept).
    #[arg(long)]
    pub(crate) delete: bool,
    /// Compare contents (full-object checksums, else single-part ETags) when the sizes are equal,
    /// instead of modification times.
    #[arg(long, conflicts_with = "size_only")]
    pub(crate) checksum: bool,
    /// Compare sizes only: equal sizes are taken as equal contents.
    #[arg(long)]
    pub(crate) size_only: bool,
    /// What uploads and copies set on the new objects.
    #[command(flatten)]
    pub(crate) object: ObjectArgs,
    /// Flags of many-object commands, filters included.
    #[command(flatten)]
    pub(crate) batch: BatchArgs,
}

/// `s3io ls [s3://bucket[/prefix]]`.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// s3://bucket[/prefix]; without it, the buckets are listed.
    pub(crate) target: Option<String>,
    /// List every key under the prefix, not one level.
    #[arg(long, short)]
    pub(crate) recursive: bool,
    /// Sizes as KiB, MiB, GiB.
    #[arg(long, short = 'H')]
    pub(crate) human_readable: bool,
    /// End with the number of objects and their total size.
    #[arg(long)]
    pub(crate) summarize: bool,
    /// Show each object's storage class (STANDARD, GLACIER, …) before its size.
    #[arg(long, short = 's')]
    pub(crate) storage_class: bool,
    /// Show each object's ETag after its size.
    #[arg(long, short = 'e')]
    pub(crate) etag: bool,
    /// One JSON object per line: `{"key","size","last_modified","etag","storage_class"}` per
    /// object, `{"prefix"}` per common prefix, `{"name","creation_date"}` per bucket.
    #[arg(long)]
    pub(crate) json: bool,
    /// List every version and delete marker under the prefix (ListObjectVersions), with its
    /// version id, newest first within a key; a store without versioning lists each object
    /// once, as version `null`.
    #[arg(long)]
    pub(crate) all_versions: bool,
}

/// `s3io rm s3://bucket/key`.
#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// s3://bucket/key, s3://bucket/prefix with --recursive, or a wildcard such as
    /// 's3://bucket/logs/2026-*'.
    pub(crate) target: String,
    /// Delete every object under the prefix (in batches of up to 1,000 keys).
    #[arg(long, short)]
    pub(crate) recursive: bool,
    /// Take `*`, `?` and `[` in the key literally, not as wildcards.
    #[arg(long)]
    pub(crate) raw: bool,
    /// Delete this version of the object for good (one object, not with -r or wildcards).
    #[arg(long, value_name = "ID")]
    pub(crate) version_id: Option<String>,
    /// Flags of many-object commands, filters included.
    #[command(flatten)]
    pub(crate) batch: BatchArgs,
}

/// Flags of the commands that act on many objects (`cp -r`, wildcards, `rm`, `sync`).
#[derive(Debug, Clone, Args)]
pub(crate) struct BatchArgs {
    /// Print what would be done, do nothing.
    #[arg(long, help_heading = "Batch")]
    pub(crate) dry_run: bool,
    /// Print one JSON object per finished object on stdout (operation, source, destination,
    /// size, seconds, checksum, status, error) instead of status lines.
    #[arg(long, help_heading = "Batch")]
    pub(crate) json: bool,
    /// Objects transferred at once; the parts of large objects run as many requests as the
    /// adaptive limit allows (or --concurrency each), all within --memory-limit.
    #[arg(long, short = 'j', value_name = "N", default_value_t = DEFAULT_JOBS, value_parser = parse_jobs, help_heading = "Batch")]
    pub(crate) jobs: usize,
    /// Skip symbolic links when walking a local directory (`cp -r`, `mv -r`, `sync` from or to
    /// a directory); by default a link is followed as the file or directory it points to.
    #[arg(long, help_heading = "Batch")]
    pub(crate) no_follow_symlinks: bool,
    /// No progress bar, even on a terminal (status lines and the summary are still printed).
    #[arg(long, help_heading = "Output")]
    pub(crate) no_progress: bool,
    /// `--exclude` / `--include`.
    #[command(flatten)]
    pub(crate) filters: crate::filter::FilterArgs,
}

/// Objects in flight by default. Measured on 2 cores against the embedded server with 2,000 ×
/// 64 KiB objects to a directory: 8 to 128 all finish within the noise of a shared machine
/// (~2 s, bound by the two processes' file creation), so the choice is set by remote stores,
/// where a small object costs a round trip and throughput grows with the objects in flight;
/// 64 keeps a typical 20–50 ms round trip busy without hundreds of connections, and matches
/// the connection pool's [`s3io::config::DEFAULT_MAX_IDLE_PER_HOST`], so every object after the first 64
/// reuses a kept-alive connection instead of opening one.
pub(crate) const DEFAULT_JOBS: usize = 64;

/// `--jobs`: a positive count.
fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// `s3io mb s3://bucket`.
#[derive(Debug, Args)]
pub(crate) struct BucketArgs {
    /// s3://bucket.
    pub(crate) bucket: String,
}

/// `s3io rb s3://bucket`.
#[derive(Debug, Args)]
pub(crate) struct RbArgs {
    /// s3://bucket.
    pub(crate) bucket: String,
    /// Delete every object in the bucket first.
    #[arg(long)]
    pub(crate) force: bool,
}

/// `s3io cat s3://bucket/key`.
#[derive(Debug, Args)]
pub(crate) struct CatArgs {
    /// s3://bucket/key.
    pub(crate) object: String,
    /// Write this version of the object.
    #[arg(long, value_name = "ID")]
    pub(crate) version_id: Option<String>,
    /// The object's SSE-C key.
    #[command(flatten)]
    pub(crate) sse_c: SseCArgs,
}

/// The HTTP method a presigned URL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PresignMethod {
    /// Download the object.
    Get,
    /// Upload the object.
    Put,
}

/// `s3io presign s3://bucket/key`.
#[derive(Debug, Args)]
pub(crate) struct PresignArgs {
    /// s3://bucket/key.
    pub(crate) object: String,
    /// Seconds the URL stays valid (1 to 604800, 7 days).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub(crate) expires_in: u64,
    /// What the URL allows.
    #[arg(long, value_enum, default_value_t = PresignMethod::Get)]
    pub(crate) method: PresignMethod,
}

/// `s3io mpu …`.
#[derive(Debug, Subcommand)]
pub(crate) enum MpuCommand {
    /// List the multipart uploads in progress under s3://bucket[/prefix]: initiated, parts,
    /// bytes stored so far, upload id, key.
    Ls(MpuLsArgs),
    /// Abort multipart uploads: one by --upload-id, every one of a key, or with --all every one
    /// under a prefix (--older-than spares recent ones).
    Abort(MpuAbortArgs),
}

/// `s3io mpu ls s3://bucket[/prefix]`.
#[derive(Debug, Args)]
pub(crate) struct MpuLsArgs {
    /// s3://bucket[/prefix].
    pub(crate) target: String,
    /// One JSON object per upload (bucket, key, upload_id, initiated, parts, bytes).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `s3io mpu abort s3://bucket/key`.
#[derive(Debug, Args)]
pub(crate) struct MpuAbortArgs {
    /// s3://bucket/key (the uploads of that key), or s3://bucket[/prefix] with --all.
    pub(crate) target: String,
    /// Abort only this upload (of the key the URL names).
    #[arg(long, value_name = "ID")]
    pub(crate) upload_id: Option<String>,
    /// Abort every upload under the prefix.
    #[arg(long)]
    pub(crate) all: bool,
    /// Abort only uploads started at least this long ago, e.g. 1h, 7d (implies --all).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub(crate) older_than: Option<HumanDuration>,
    /// Print what would be aborted, abort nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `s3io serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The directory holding the buckets (one subdirectory each); created if missing.
    #[arg(long, value_name = "DIR")]
    pub(crate) root: PathBuf,
    /// Where to listen. Loopback by default: pass 0.0.0.0:PORT deliberately to expose it.
    #[arg(long, default_value = "127.0.0.1:9000", value_name = "HOST:PORT")]
    pub(crate) addr: String,
    /// The access key clients must sign with. By default the server's local-only default.
    #[arg(long, env = "S3IO_ACCESS_KEY", value_name = "KEY")]
    pub(crate) access_key: Option<String>,
    /// The secret key clients must sign with. By default the server's local-only default.
    #[arg(long, env = "S3IO_SECRET_KEY", value_name = "SECRET", hide_env_values = true)]
    pub(crate) secret_key: Option<String>,
    /// Inject faults for testing retry handling: comma-separated NAME=VALUE items.
    ///
    /// Per request, with probabilities (together at most 1) drawn from `seed=N`:
    /// `503=P`, `500=P` (S3 errors, with `retry-after=SECONDS`), `reset=P` (GET bodies after
    /// `reset-after=BYTES`), `stall=P` (for `stall-for=DURATION`, default 2s), `truncate=P`,
    /// `corrupt=P` (one body byte changed), `stop-reading=P` (the request body left unread
    /// after `stop-reading-after=BYTES`, then the connection dropped after `stall-for`);
    /// `methods=GET+PUT` limits them to some methods. Once: `outage=DURATION` from
    /// `outage-at=DURATION` after the start (default 0s) or from request `outage-after=N`, with
    /// `outage-mode=refuse` (connections refused and closed, the default) or `drop` (nothing
    /// answered until it ends). Example: `seed=7,503=0.1,reset=0.05,outage=10s,outage-after=200`.
    /// The full grammar is in the documentation of `s3io_server::fault`.
    #[arg(long, value_name = "SPEC")]
    pub(crate) faults: Option<String>,
    /// Emulate a network on every connection: comma-separated NAME=VALUE items.
    ///
    /// `down=RATE` / `up=RATE` per connection, server to client and client to server (`bw=RATE`
    /// sets both); `rtt=DURATION`: each answer's first byte waits one round trip after its
    /// request, and a new connection one more; `jitter=DURATION` varies each round trip by up
    /// to that much either way, drawn from `seed=N`; `link=RATE` one link all connections
    /// share, each way. Rates like 40MB/s, 100MiB/s, 1Gb/s. Example:
    /// `rtt=20ms,bw=40MB/s,link=1GB/s`. The full grammar is in the documentation of
    /// `s3io_server::network`.
    #[arg(long, value_name = "SPEC")]
    pub(crate) network: Option<String>,
    /// Append a JSON line per request answered to FILE: method, path, query, range, status,
    /// request and response body bytes.
    #[arg(long, value_name = "FILE")]
    pub(crate) log_requests: Option<PathBuf>,
    /// Store no CRC64NVME for uploads that send no checksum. By default the server computes one,
    /// as S3 does for every new object; with this flag such objects carry only their ETag, as in
    /// older stores (downloads then verify them against the ETag's MD5).
    #[arg(long)]
    pub(crate) no_default_checksum: bool,
    /// Place the server in REGION, as an S3 endpoint is in one: buckets created without a
    /// LocationConstraint are in it, and a request signed for another region than its bucket's
    /// is answered 301 PermanentRedirect with `x-amz-bucket-region`, as S3 answers it. By
    /// default no region is checked.
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
