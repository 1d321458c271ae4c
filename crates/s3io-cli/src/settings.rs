//! Validated settings built from the raw [`GlobalArgs`]: the client configuration.
//!
//! The endpoint comes from `--endpoint-url`, then `S3IO_ENDPOINT_URL` (both through clap), then
//! the aws CLI's `AWS_ENDPOINT_URL_S3` and `AWS_ENDPOINT_URL`. Credentials come from the
//! library's [`CredentialsSource`]: the standard AWS chain (environment, `~/.aws` files, SSO, web
//! identity, ECS, IMDS), a named `--profile`, or none with `--no-sign-request`. Timeouts and
//! attempts per request (`--connect-timeout`, `--read-timeout`, `--stall-timeout`,
//! `--max-attempts`) keep the library's defaults unless given.
//!
//! The environment and the shared config file (`~/.aws/config`, the `--profile`'s section)
//! fill what the flags leave unset, flags first, then the environment, then the profile, as the
//! AWS CLI reads them ([`Environment`]):
//!
//! | setting | flag | environment | profile key |
//! |---|---|---|---|
//! | CA bundle | `--ca-bundle` | `AWS_CA_BUNDLE` | `ca_bundle` |
//! | attempts per request | `--max-attempts` | `AWS_MAX_ATTEMPTS` | `max_attempts` |
//! | retry mode | | `AWS_RETRY_MODE` | `retry_mode` |
//! | dual-stack endpoints | `--dualstack` | `AWS_USE_DUALSTACK_ENDPOINT` | `use_dualstack_endpoint` |
//! | Transfer Acceleration | `--accelerate` | | `s3.use_accelerate_endpoint` |
//!
//! The retry mode maps onto s3io's one retry policy (exponential backoff with full jitter, a
//! client-wide retry budget, outages waited out together): `standard` and `adaptive` make the
//! default attempts 3, as in the AWS SDKs, `legacy` keeps s3io's 5. `adaptive`'s client-side
//! rate limiting is what s3io's concurrency controller always does (fewer requests in flight
//! on throttling), so it adds nothing more. Dual-stack and acceleration from the environment or
//! the profile are ignored with a custom endpoint (the flags are refused with one). Proxies
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) are read by the library
//! ([`s3io::config::ProxyConfig::FromEnvironment`]).

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

/// How the AWS SDKs retry (`AWS_RETRY_MODE`, the profile's `retry_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryMode {
    Legacy,
    Standard,
    Adaptive,
}

/// The SDKs' default attempts in standard and adaptive modes.
const STANDARD_MAX_ATTEMPTS: u32 = 3;

/// What the environment and the shared config file say, for what the flags leave unset.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Environment {
    pub(crate) ca_bundle: Option<std::path::PathBuf>,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) retry_mode: Option<RetryMode>,
    pub(crate) dualstack: bool,
    pub(crate) accelerate: bool,
}

impl Environment {
    /// Reads the environment, then the profile's settings for what it leaves unset.
    pub(crate) async fn read(global: &GlobalArgs) -> Result<Self, UsageError> {
        const SETTINGS: [(&str, &str); 5] = [
            ("AWS_CA_BUNDLE", "ca_bundle"),
            ("AWS_MAX_ATTEMPTS", "max_attempts"),
            ("AWS_RETRY_MODE", "retry_mode"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"),
            ("", "s3.use_accelerate_endpoint"),
        ];
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let keys = SETTINGS.map(|(_, key)| key);
        let profile = s3io::config::shared_config_values(global.profile.as_deref(), &keys).await;
        let mut values = SETTINGS.iter().zip(profile).map(|(&(variable, key), from_profile)| {
            match var(variable).filter(|_| !variable.is_empty()) {
                Some(value) => Some((variable.to_owned(), value)),
                None => from_profile.map(|value| (format!("the profile's {key}"), value)),
            }
        });
        let mut next = || values.next().flatten();
        let (ca_bundle, max_attempts, retry_mode, dualstack, accelerate) = (next(), next(), next(), next(), next());
        Self::parse(ca_bundle, max_attempts, retry_mode, dualstack, accelerate)
    }

    /// The settings from (source, value) pairs, each value checked and its source named when
    /// it is not one.
    fn parse(
        ca_bundle: Option<(String, String)>,
        max_attempts: Option<(String, String)>,
        retry_mode: Option<(String, String)>,
        dualstack: Option<(String, String)>,
        accelerate: Option<(String, String)>,
    ) -> Result<Self, UsageError> {
        let boolean = |setting: Option<(String, String)>| -> Result<bool, UsageError> {
            match setting {
                None => Ok(false),
                Some((source, value)) => match value.to_ascii_lowercase().as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(UsageError::new(format!("{source}={value:?}: expected true or false"))),
                },
            }
        };
        let max_attempts = match max_attempts {
            None => None,
            Some((source, value)) => match value.parse::<u32>() {
                Ok(n) if n >= 1 => Some(n),
                _ => return Err(UsageError::new(format!("{source}={value:?}: expected a whole number of at least 1"))),
            },
        };
        let retry_mode = match retry_mode {
            None => None,
            Some((source, value)) => Some(match value.to_ascii_lowercase().as_str() {
                "legacy" => RetryMode::Legacy,
                "standard" => RetryMode::Standard,
                "adaptive" => RetryMode::Adaptive,
                _ => return Err(UsageError::new(format!("{source}={value:?}: expected legacy, standard or adaptive"))),
            }),
        };
        Ok(Self {
            ca_bundle: ca_bundle.map(|(_, path)| path.into()),
            max_attempts,
            retry_mode,
            dualstack: boolean(dualstack)?,
            accelerate: boolean(accelerate)?,
        })
    }
}

/// The client configuration the flags ask for, validated.
pub(crate) fn client_config(global: &GlobalArgs) -> Result<ClientConfig, UsageError> {
    client_config_with(global, &Environment::default())
}

/// The client configuration the flags ask for, with `env` for what they leave unset, validated.
pub(crate) fn client_config_with(global: &GlobalArgs, env: &Environment) -> Result<ClientConfig, UsageError> {
    let defaults = TransferConfig::default();
    let part_size = global.part_size.map_or(defaults.part_size, |s| s.bytes());
    let concurrency = global.concurrency.or(defaults.concurrency);
    // An explicit part size above the default memory limit raises the limit to one part per
    // request in flight rather than failing validation.
    let memory_limit = global.memory_limit.map_or(defaults.memory_limit.max(part_size), |s| s.bytes());
    // A stream holds as many parts of an explicit part size as of the default one; an explicit
    // --stream-buffer is the budget of either direction.
    let scaled = |default: u64| default.max(part_size.saturating_mul(default / defaults.part_size));
    let stream_buffer = global.stream_buffer.map_or(scaled(defaults.stream_buffer), |s| s.bytes());
    let upload_stream_buffer = global.stream_buffer.map_or(scaled(defaults.upload_stream_buffer), |s| s.bytes());
    let transfer = defaults
        .with_part_size(part_size)
        .with_pinned_concurrency(concurrency)
        .with_memory_limit(memory_limit)
        .with_stream_buffer(stream_buffer)
        .with_upload_stream_buffer(upload_stream_buffer)
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
    let mode_attempts = match env.retry_mode {
        Some(RetryMode::Standard | RetryMode::Adaptive) => STANDARD_MAX_ATTEMPTS,
        Some(RetryMode::Legacy) | None => client_defaults.retry.max_attempts,
    };
    let retry = client_defaults
        .retry
        .clone()
        .with_max_attempts(global.max_attempts.or(env.max_attempts).unwrap_or(mode_attempts))
        .with_retry_timeout(global.retry_timeout.map_or(client_defaults.retry.retry_timeout, HumanDuration::get));
    let connect_timeout = global.connect_timeout.map_or(client_defaults.connect_timeout, HumanDuration::get);
    let read_timeout = global.read_timeout.map_or(client_defaults.read_timeout, HumanDuration::get);
    let stall_timeout = global.stall_timeout.map_or(client_defaults.stall_timeout, HumanDuration::get);
    let endpoint = endpoint(global);
    // The environment's and the profile's endpoint options name AWS's endpoints: with a custom
    // one they do not apply (the flags are refused by the library's validation).
    let aws = endpoint.is_none();
    let config = client_defaults
        .with_ca_bundle(global.ca_bundle.clone().or_else(|| env.ca_bundle.clone()))
        .with_dualstack(global.dualstack || (aws && env.dualstack))
        .with_accelerate(global.accelerate || (aws && env.accelerate))
        .with_endpoint(endpoint)
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
    let env = Environment::read(global).await?;
    let config = client_config_with(global, &env)?;
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

    fn setting(source: &str, value: &str) -> Option<(String, String)> {
        Some((source.to_owned(), value.to_owned()))
    }

    #[test]
    fn the_environment_fills_what_the_flags_leave_unset() {
        let env = Environment::parse(
            setting("AWS_CA_BUNDLE", "/etc/ca.pem"),
            setting("AWS_MAX_ATTEMPTS", "7"),
            setting("AWS_RETRY_MODE", "adaptive"),
            setting("AWS_USE_DUALSTACK_ENDPOINT", "true"),
            setting("the profile's s3.use_accelerate_endpoint", "TRUE"),
        )
        .unwrap();
        let cli = Cli::try_parse_from(["s3io", "ls"]).unwrap();
        let c = client_config_with(&cli.global, &env).unwrap();
        assert_eq!(c.ca_bundle.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
        assert_eq!(c.retry.max_attempts, 7);
        assert!(c.dualstack && c.accelerate);
        // Flags win.
        let cli = Cli::try_parse_from(["s3io", "--max-attempts", "2", "--ca-bundle", "/x.pem", "ls"]).unwrap();
        let c = client_config_with(&cli.global, &env).unwrap();
        assert_eq!(c.retry.max_attempts, 2);
        assert_eq!(c.ca_bundle.as_deref(), Some(std::path::Path::new("/x.pem")));
        // With a custom endpoint the environment's endpoint options do not apply; the flags are refused.
        let cli = Cli::try_parse_from(["s3io", "--endpoint-url", "http://127.0.0.1:9000", "ls"]).unwrap();
        let c = client_config_with(&cli.global, &env).unwrap();
        assert!(!c.dualstack && !c.accelerate);
        let cli =
            Cli::try_parse_from(["s3io", "--endpoint-url", "http://127.0.0.1:9000", "--dualstack", "ls"]).unwrap();
        let err = client_config_with(&cli.global, &env).unwrap_err();
        assert!(err.to_string().contains("dual-stack"), "{err}");
    }

    #[test]
    fn retry_modes_set_the_default_attempts() {
        let cli = Cli::try_parse_from(["s3io", "ls"]).unwrap();
        for (mode, attempts) in [("standard", 3), ("adaptive", 3), ("legacy", 5), ("Standard", 3)] {
            let env = Environment::parse(None, None, setting("AWS_RETRY_MODE", mode), None, None).unwrap();
            assert_eq!(client_config_with(&cli.global, &env).unwrap().retry.max_attempts, attempts, "{mode}");
        }
        // AWS_MAX_ATTEMPTS wins over the mode's default.
        let env = Environment::parse(
            None,
            setting("AWS_MAX_ATTEMPTS", "9"),
            setting("AWS_RETRY_MODE", "standard"),
            None,
            None,
        )
        .unwrap();
        assert_eq!(client_config_with(&cli.global, &env).unwrap().retry.max_attempts, 9);
    }

    #[test]
    fn bad_environment_values_name_their_source() {
        let err = Environment::parse(None, setting("AWS_MAX_ATTEMPTS", "lots"), None, None, None).unwrap_err();
        assert!(err.to_string().contains("AWS_MAX_ATTEMPTS=\"lots\""), "{err}");
        let err = Environment::parse(None, setting("AWS_MAX_ATTEMPTS", "0"), None, None, None).unwrap_err();
        assert!(err.to_string().contains("at least 1"), "{err}");
        let err = Environment::parse(None, None, setting("the profile's retry_mode", "fast"), None, None).unwrap_err();
        assert!(err.to_string().contains("the profile's retry_mode=\"fast\""), "{err}");
        let err = Environment::parse(None, None, None, setting("AWS_USE_DUALSTACK_ENDPOINT", "yes"), None).unwrap_err();
        assert!(err.to_string().contains("true or false"), "{err}");
    }

    #[test]
    fn large_part_size_raises_the_default_memory_limit() {
        let c = config(&["--part-size", "512MiB"]).unwrap();
        assert_eq!(c.transfer.memory_limit, 512 << 20);
    }

    #[test]
    fn the_stream_buffer_is_six_parts_for_downloads_and_eight_for_uploads_unless_set() {
        assert_eq!(config(&[]).unwrap().transfer.stream_buffer, 48 << 20);
        assert_eq!(config(&["--part-size", "16MiB"]).unwrap().transfer.stream_buffer, 96 << 20);
        assert_eq!(config(&["--stream-buffer", "200MiB"]).unwrap().transfer.stream_buffer, 200 << 20);
        assert_eq!(config(&[]).unwrap().transfer.upload_stream_buffer, 64 << 20);
        assert_eq!(config(&["--part-size", "16MiB"]).unwrap().transfer.upload_stream_buffer, 128 << 20);
        assert_eq!(config(&["--stream-buffer", "200MiB"]).unwrap().transfer.upload_stream_buffer, 200 << 20);
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
