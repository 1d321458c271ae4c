//! Validated settings built from the raw [`GlobalArgs`]: the client configuration.
//!
//! The endpoint comes from `--endpoint-url`, then `S3IO_ENDPOINT_URL` (both through clap), then
//! the aws CLI's `AWS_ENDPOINT_URL_S3` and `AWS_ENDPOINT_URL`. Credentials come from the
//! library's [`CredentialsSource`]: the standard AWS chain (environment, `~/.aws` files, SSO, web
//! identity, ECS, IMDS), a named `--profile`, or none with `--no-sign-request`. Timeouts and
//! attempts per request (`--connect-timeout`, `--read-timeout`, `--stall-timeout`,
//! `--max-attempts`) keep the library's defaults unless given.

use s3io::config::{AddressingStyle, ClientConfig, TransferConfig};
use s3io::{Client, CredentialsSource};

use crate::args::{Addressing, GlobalArgs};
use crate::duration::HumanDuration;
use crate::exit::UsageError;

/// The endpoint URL: the flag or `S3IO_ENDPOINT_URL`, else the aws CLI's variables.
fn endpoint(global: &GlobalArgs) -> Option<String> {
    global
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|url| !url.is_empty())
}

/// The client configuration the flags ask for, validated.
pub(crate) fn client_config(global: &GlobalArgs) -> Result<ClientConfig, UsageError> {
    let defaults = TransferConfig::default();
    let part_size = global.part_size.map_or(defaults.part_size, |s| s.bytes());
    let concurrency = global.concurrency.or(defaults.concurrency);
    // An explicit part size above the default memory limit raises the limit to one part per
    // request in flight rather than failing validation.
    let memory_limit = global.memory_limit.map_or(defaults.memory_limit.max(part_size), |s| s.bytes());
    // A stream holds as many parts of an explicit part size as of the default one.
    let stream_parts = defaults.stream_buffer / defaults.part_size;
    let stream_buffer =
        global.stream_buffer.map_or(defaults.stream_buffer.max(part_size.saturating_mul(stream_parts)), |s| s.bytes());
    let transfer = defaults
        .with_part_size(part_size)
        .with_pinned_concurrency(concurrency)
        .with_memory_limit(memory_limit)
        .with_stream_buffer(stream_buffer)
        .with_resume(!global.no_resume)
        .with_fsync(global.fsync);
    let credentials = match (&global.profile, global.no_sign_request) {
        (_, true) => CredentialsSource::Anonymous,
        (Some(profile), false) => CredentialsSource::Profile(profile.clone()),
        (None, false) => CredentialsSource::DefaultChain,
    };
    let addressing_style = match (global.path_style, global.addressing_style) {
        (true, _) | (false, Addressing::Path) => AddressingStyle::Path,
        (false, Addressing::Virtual) => AddressingStyle::VirtualHosted,
        (false, Addressing::Auto) => AddressingStyle::Auto,
    };
    let client_defaults = ClientConfig::default();
    let retry = client_defaults
        .retry
        .clone()
        .with_max_attempts(global.max_attempts.unwrap_or(client_defaults.retry.max_attempts))
        .with_retry_timeout(global.retry_timeout.map_or(client_defaults.retry.retry_timeout, HumanDuration::get));
    let connect_timeout = global.connect_timeout.map_or(client_defaults.connect_timeout, HumanDuration::get);
    let read_timeout = global.read_timeout.map_or(client_defaults.read_timeout, HumanDuration::get);
    let stall_timeout = global.stall_timeout.map_or(client_defaults.stall_timeout, HumanDuration::get);
    let config = client_defaults
        .with_endpoint(endpoint(global))
        .with_region(global.region.clone())
        .with_addressing_style(addressing_style)
        .with_credentials(credentials)
        .with_connect_timeout(connect_timeout)
        .with_read_timeout(read_timeout)
        .with_stall_timeout(stall_timeout)
        .with_accept_invalid_certs(global.no_verify_ssl)
        .with_transfer(transfer)
        .with_retry(retry)
        .with_request_payer(global.request_payer.is_some());
    config.validate().map_err(|e| UsageError::new(e.to_string()))?;
    Ok(config)
}

/// A client for the flags' store.
pub(crate) async fn client(global: &GlobalArgs) -> anyhow::Result<Client> {
    let config = client_config(global)?;
    Ok(Client::from_config(config).await?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser as _;
    use s3io::config::RetryConfig;

    use super::*;
    use crate::args::Cli;

    fn config(args: &[&str]) -> Result<ClientConfig, UsageError> {
        let cli = Cli::try_parse_from(["s3io"].iter().chain(args).chain(&["ls"])).unwrap();
        client_config(&cli.global)
    }

    #[test]
    fn flags_reach_the_config() {
        let c = config(&[
            "--endpoint-url",
            "http://127.0.0.1:9000",
            "--region",
            "eu-west-1",
            "--path-style",
            "--part-size",
            "16MiB",
            "--concurrency",
            "4",
            "--memory-limit",
            "64M",
            "--profile",
            "dev",
        ])
        .unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.addressing_style, AddressingStyle::Path);
        assert_eq!(c.transfer.part_size, 16 << 20);
        assert_eq!(c.transfer.concurrency, Some(4));
        assert_eq!(c.transfer.memory_limit, 64 << 20);
        assert!(matches!(c.credentials, CredentialsSource::Profile(ref p) if p == "dev"));
    }

    #[test]
    fn retry_and_timeout_flags_reach_the_config() {
        let c = config(&[
            "--max-attempts",
            "8",
            "--connect-timeout",
            "2s",
            "--read-timeout",
            "45",
            "--stall-timeout",
            "1s",
            "--retry-timeout",
            "90s",
        ])
        .unwrap();
        assert_eq!(c.retry.max_attempts, 8);
        assert_eq!(c.retry.retry_timeout, Duration::from_secs(90));
        assert_eq!(c.connect_timeout, Duration::from_secs(2));
        assert_eq!(c.read_timeout, Duration::from_secs(45));
        assert_eq!(c.stall_timeout, Duration::from_secs(1));
        let defaults = config(&[]).unwrap();
        assert_eq!(defaults.retry, RetryConfig::default());
        assert_eq!(defaults.stall_timeout, s3io::config::DEFAULT_STALL_TIMEOUT);
        assert_eq!(defaults.retry.retry_timeout, s3io::config::DEFAULT_RETRY_TIMEOUT);
    }

    #[test]
    fn large_part_size_raises_the_default_memory_limit() {
        let c = config(&["--part-size", "512MiB"]).unwrap();
        assert_eq!(c.transfer.memory_limit, 512 << 20);
    }

    #[test]
    fn the_stream_buffer_is_six_parts_unless_set() {
        assert_eq!(config(&[]).unwrap().transfer.stream_buffer, 48 << 20);
        assert_eq!(config(&["--part-size", "16MiB"]).unwrap().transfer.stream_buffer, 96 << 20);
        assert_eq!(config(&["--stream-buffer", "200MiB"]).unwrap().transfer.stream_buffer, 200 << 20);
    }

    #[test]
    fn invalid_settings_are_usage_errors() {
        assert!(config(&["--concurrency", "0"]).is_err());
        assert!(config(&["--part-size", "64M", "--memory-limit", "8M"]).is_err());
        assert!(config(&["--endpoint-url", "ftp://x"]).is_err());
        assert!(config(&["--max-attempts", "0"]).is_err());
        assert!(config(&["--stall-timeout", "0s"]).is_err());
    }
}
