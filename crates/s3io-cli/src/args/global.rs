//! The flags every command accepts ([`GlobalArgs`]), before or after the command name: where
//! the store is and how to reach it (connection), how transfers are cut up (transfer), how long
//! requests wait and retry (retries and timeouts), and what is printed (output). `--help` shows
//! them under those headings.
//!
//! They are raw values; [`crate::settings`] turns them into an [`s3io::config::ClientConfig`],
//! adding what the environment and the shared AWS config files say.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::duration::HumanDuration;
use crate::size::ByteSize;

/// How the bucket goes into request URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Addressing {
    /// Virtual-hosted on AWS, path-style for custom endpoints.
    Auto,
    /// `https://endpoint/bucket/key`.
    Path,
    /// `https://bucket.endpoint/key`.
    Virtual,
}

/// Flags shared by every command (they may appear before or after the command name).
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// The S3 endpoint, e.g. http://127.0.0.1:9000. Falls back to AWS_ENDPOINT_URL_S3, then
    /// AWS_ENDPOINT_URL; by default AWS S3 in the region.
    #[arg(long, global = true, env = "S3IO_ENDPOINT_URL", value_name = "URL", help_heading = "Connection")]
    pub(crate) endpoint_url: Option<String>,

    /// The signing region. By default AWS_REGION, AWS_DEFAULT_REGION, then us-east-1.
    #[arg(long, global = true, value_name = "REGION", help_heading = "Connection")]
    pub(crate) region: Option<String>,

    /// A named profile of ~/.aws/credentials and ~/.aws/config. By default AWS_PROFILE or
    /// `default`, through the standard credentials chain.
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub(crate) profile: Option<String>,

    /// Send unsigned requests (public buckets).
    #[arg(long, global = true, conflicts_with = "profile", help_heading = "Connection")]
    pub(crate) no_sign_request: bool,

    /// Accept any TLS certificate (self-signed test endpoints only).
    #[arg(long, global = true, conflicts_with = "ca_bundle", help_heading = "Connection")]
    pub(crate) no_verify_ssl: bool,

    /// Trust the CA certificates of this PEM file instead of the system's. By default
    /// AWS_CA_BUNDLE, then the profile's `ca_bundle`, then the system's roots.
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub(crate) ca_bundle: Option<PathBuf>,

    /// AWS's dual-stack (IPv4 and IPv6) endpoints. By default AWS_USE_DUALSTACK_ENDPOINT, then
    /// the profile's `use_dualstack_endpoint` (both ignored with a custom endpoint).
    #[arg(long, global = true, help_heading = "Connection")]
    pub(crate) dualstack: bool,

    /// S3 Transfer Acceleration (BUCKET.s3-accelerate.amazonaws.com). By default the profile's
    /// `s3.use_accelerate_endpoint` (ignored with a custom endpoint).
    #[arg(long, global = true, help_heading = "Connection")]
    pub(crate) accelerate: bool,

    /// Use path-style URLs (https://endpoint/bucket/key); same as `--addressing-style path`.
    #[arg(long, global = true, conflicts_with = "addressing_style", help_heading = "Connection")]
    pub(crate) path_style: bool,

    /// How the bucket goes into request URLs.
    #[arg(long, global = true, value_enum, default_value_t = Addressing::Auto, help_heading = "Connection")]
    pub(crate) addressing_style: Addressing,

    /// Bytes per ranged GET or uploaded part, e.g. 8MiB. By default 8 MiB.
    #[arg(long, global = true, value_name = "SIZE", help_heading = "Transfer")]
    pub(crate) part_size: Option<ByteSize>,

    /// Pins the requests in flight per transfer at N. By default the client adapts them to the
    /// network: from 16, growing (up to 64) while more requests move more bytes per second.
    #[arg(long, global = true, value_name = "N", help_heading = "Transfer")]
    pub(crate) concurrency: Option<usize>,

    /// Cap on payload bytes held in memory at once, e.g. 256MiB. By default 256 MiB.
    #[arg(long, global = true, value_name = "SIZE", help_heading = "Transfer")]
    pub(crate) memory_limit: Option<ByteSize>,

    /// Payload bytes one stream (`cp s3://… -`, `cat`, `cp - s3://…`) holds at once: its
    /// in-order window or read-ahead, and so its requests in flight (this many bytes in whole
    /// parts). By default 48 MiB (six parts) for a download to stdout and 64 MiB (eight) for an
    /// upload from stdin, scaled with a larger --part-size, within --memory-limit.
    #[arg(long, global = true, value_name = "SIZE", help_heading = "Transfer")]
    pub(crate) stream_buffer: Option<ByteSize>,

    /// Start every transfer from zero. By default a download to a file resumes from the
    /// partial file and journal (`.NAME.s3io-partial.*`) an interrupted run left, if the object
    /// is unchanged, and a multipart upload from a file reuses the verified parts of the key's
    /// unfinished upload.
    #[arg(long, global = true, help_heading = "Transfer")]
    pub(crate) no_resume: bool,

    /// Sync each downloaded file and its directory to disk before reporting it done.
    #[arg(long, global = true, help_heading = "Transfer")]
    pub(crate) fsync: bool,

    /// Pay for the requests and downloads of a requester-pays bucket: sends
    /// `x-amz-request-payer: requester` with every request.
    #[arg(long, global = true, value_name = "PAYER", value_parser = ["requester"], help_heading = "Connection")]
    pub(crate) request_payer: Option<String>,

    /// Attempts per request, the first included (1 disables retries). By default
    /// AWS_MAX_ATTEMPTS, then the profile's `max_attempts`, then 3 when AWS_RETRY_MODE (or the
    /// profile's `retry_mode`) is standard or adaptive, as in the AWS SDKs, else 5.
    #[arg(long, global = true, value_name = "N", help_heading = "Retries and timeouts")]
    pub(crate) max_attempts: Option<u32>,

    /// Longest time one request keeps retrying after its first failure, and longest an
    /// unreachable endpoint (connections refused or dropped) is waited for before the transfer
    /// fails; waiting out an outage spends no attempts. A reachable endpoint that never answers
    /// fails after --max-attempts waits of a sixth of --read-timeout (about 25s by default). By
    /// default 60s.
    #[arg(long, global = true, value_name = "DURATION", help_heading = "Retries and timeouts")]
    pub(crate) retry_timeout: Option<HumanDuration>,

    /// Longest wait for a TCP connection, e.g. 500ms, 2s, or seconds. By default 10s.
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        allow_hyphen_values = true,
        help_heading = "Retries and timeouts"
    )]
    pub(crate) connect_timeout: Option<HumanDuration>,

    /// Longest wait for response headers: server-side copies and completing a multipart upload
    /// wait all of it; other requests wait a sixth of it until latencies are known (5s by
    /// default), then 10 x the recent p90, at least 2s. With --max-attempts and --retry-timeout,
    /// bounds how long a silent endpoint takes to fail. By default 30s.
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        allow_hyphen_values = true,
        help_heading = "Retries and timeouts"
    )]
    pub(crate) read_timeout: Option<HumanDuration>,

    /// A response body that delivers no bytes for this long is abandoned and its request retried,
    /// resuming where it stopped; so is a request body the server stops taking. By default 10s.
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        allow_hyphen_values = true,
        help_heading = "Retries and timeouts"
    )]
    pub(crate) stall_timeout: Option<HumanDuration>,

    /// Print nothing but errors (and the data asked for: listings, `cat`, presigned URLs).
    #[arg(long, short, global = true, help_heading = "Output")]
    pub(crate) quiet: bool,

    /// Log to stderr: -v info, -vv debug, -vvv trace (S3IO_LOG overrides, e.g. `s3io=debug`).
    #[arg(long, short, global = true, action = clap::ArgAction::Count, help_heading = "Output")]
    pub(crate) verbose: u8,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::args::Cli;
    use clap::Parser as _;

    #[test]
    fn global_flags_go_after_the_command() {
        let cli =
            Cli::try_parse_from(["s3io", "ls", "--endpoint-url", "http://x:1", "--path-style", "--part-size", "16MiB"])
                .unwrap();
        assert_eq!(cli.global.endpoint_url.as_deref(), Some("http://x:1"));
        assert!(cli.global.path_style);
        assert_eq!(cli.global.part_size.map(|s| s.bytes()), Some(16 << 20));
    }

    #[test]
    fn retry_and_timeout_flags_parse_anywhere() {
        let cli = Cli::try_parse_from([
            "s3io",
            "--max-attempts",
            "8",
            "ls",
            "--connect-timeout",
            "500ms",
            "--read-timeout",
            "2m",
            "--stall-timeout",
            "3",
        ])
        .unwrap();
        assert_eq!(cli.global.max_attempts, Some(8));
        assert_eq!(cli.global.connect_timeout.map(HumanDuration::get), Some(Duration::from_millis(500)));
        assert_eq!(cli.global.read_timeout.map(HumanDuration::get), Some(Duration::from_secs(120)));
        assert_eq!(cli.global.stall_timeout.map(HumanDuration::get), Some(Duration::from_secs(3)));
    }

    #[test]
    fn bad_duration_or_attempts_is_a_usage_error() {
        for args in [["--stall-timeout", "soon"], ["--read-timeout", "-1s"], ["--max-attempts", "-1"]] {
            let err = Cli::try_parse_from(["s3io"].into_iter().chain(args).chain(["ls"])).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn bad_size_is_a_usage_error() {
        let err = Cli::try_parse_from(["s3io", "--memory-limit", "lots", "ls"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
