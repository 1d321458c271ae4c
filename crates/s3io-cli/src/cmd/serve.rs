//! `s3io serve`: the embedded S3-compatible server over a local directory, until Ctrl-C.
//!
//! It binds to loopback unless `--addr` says otherwise, accepts one access key (by default the
//! server crate's documented local-only pair, [`s3io_server::DEFAULT_ACCESS_KEY`] /
//! [`s3io_server::DEFAULT_SECRET_KEY`]), and prints the endpoint and the environment a client
//! needs. With `--faults` it injects deterministic failures (503s, resets, stalls, truncated
//! bodies) for testing retry handling; the grammar is [`s3io_server::fault`]'s. With `--network`
//! it shapes every connection like one over a real network (bandwidth, round trips, a shared
//! link, jitter); the grammar is [`s3io_server::network`]'s.

use std::net::SocketAddr;

use anyhow::Context as _;
use s3io_server::{FaultSpec, NetworkSpec, ServerConfig, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

use crate::args::ServeArgs;
use crate::exit::UsageError;
use crate::printer::Printer;

/// Runs the server until Ctrl-C, then stops it gracefully.
pub(crate) async fn run(args: ServeArgs, out: &mut Printer) -> anyhow::Result<()> {
    let addr = resolve(&args.addr).await?;
    let mut config = ServerConfig::new(&args.root).with_addr(addr).with_default_checksum(!args.no_default_checksum);
    if let Some(path) = &args.log_requests {
        config = config.with_request_log_file(path);
    }
    if let Some(region) = &args.region {
        config = config.with_region(region);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config = config.with_tls(cert, key);
    }
    let access_key = args.access_key.unwrap_or_else(|| DEFAULT_ACCESS_KEY.to_owned());
    let custom_secret = args.secret_key.is_some();
    let secret_key = args.secret_key.unwrap_or_else(|| DEFAULT_SECRET_KEY.to_owned());
    config = config.with_credentials(access_key.clone(), secret_key);
    if let Some(spec) = &args.faults {
        let faults: FaultSpec = spec.parse().map_err(|e| UsageError::new(format!("--faults {spec:?}: {e}")))?;
        config = config.with_faults(faults);
    }
    let network = match &args.network {
        Some(spec) => {
            let network: NetworkSpec = spec.parse().map_err(|e| UsageError::new(format!("--network {spec:?}: {e}")))?;
            config = config.with_network(network.clone());
            Some(network)
        }
        None => None,
    };
    if !addr.ip().is_loopback() && !custom_secret {
        eprintln!(
            "s3io serve: warning: listening on {addr} beyond this machine with the well-known default \
             credentials; pass --access-key and --secret-key"
        );
    }

    let server = s3io_server::start(config).await.context("s3io serve")?;
    let endpoint = server.endpoint_url();
    let secret_shown = if custom_secret { "<the --secret-key you gave>" } else { DEFAULT_SECRET_KEY };
    out.data(&format!("s3io serve: serving {} at {endpoint}", args.root.display())).await?;
    if let Some(network) = &network {
        out.data(&format!("  emulated network: {network}")).await?;
    }
    out.data(&format!("  access key: {access_key}")).await?;
    out.data(&format!("  secret key: {secret_shown}")).await?;
    out.data("  clients use it with:").await?;
    out.data(&format!(
        "    export S3IO_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID={access_key} AWS_SECRET_ACCESS_KEY={secret_shown}"
    ))
    .await?;
    out.data("Press Ctrl-C to stop.").await?;
    out.flush().await?;

    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    let stats = server.fault_stats();
    server.shutdown().await;
    if args.faults.is_some() {
        out.status(&format!("s3io serve: stopped; {stats:?}")).await
    } else {
        out.status(&format!("s3io serve: stopped after {} requests", stats.requests)).await
    }
}

/// `HOST:PORT` to a socket address (`localhost:9000` resolves; the first address wins).
async fn resolve(addr: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = addr.parse() {
        return Ok(addr);
    }
    let mut addrs = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| UsageError::new(format!("--addr {addr:?}: expected HOST:PORT ({e})")))?;
    addrs.next().ok_or_else(|| UsageError::new(format!("--addr {addr:?} resolves to no address")).into())
}
