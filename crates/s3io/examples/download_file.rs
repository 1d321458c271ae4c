//! Measures one download with the download engine, for benchmarks under `/usr/bin/time -v`, so
//! the client's CPU time and peak RSS are measured apart from the server.
//!
//! ```text
//! download_file ENDPOINT BUCKET KEY FILE   # FILE `-` writes to stdout
//! ```
//!
//! `S3IO_PART_SIZE` (MiB), `S3IO_CONCURRENCY` and `S3IO_MEMORY_LIMIT` (MiB) override the defaults.

use std::time::Instant;

use s3io::config::{AddressingStyle, TransferConfig, MIB};
use s3io::{Client, CredentialsSource};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, bucket, key, file] = &args[..] else {
        return Err("usage: download_file ENDPOINT BUCKET KEY FILE".into());
    };
    let mut transfer = TransferConfig::default();
    if let Some(mib) = env_u64("S3IO_PART_SIZE") {
        transfer.part_size = mib * MIB;
    }
    if let Some(n) = env_u64("S3IO_CONCURRENCY") {
        transfer.concurrency = Some(n as usize);
    }
    if let Some(mib) = env_u64("S3IO_MEMORY_LIMIT") {
        transfer.memory_limit = mib * MIB;
    }
    let client = Client::builder()
        .endpoint(endpoint.as_str())
        .addressing_style(AddressingStyle::Path)
        .credentials(CredentialsSource::static_keys(s3io_server::DEFAULT_ACCESS_KEY, s3io_server::DEFAULT_SECRET_KEY))
        .transfer(transfer)
        .build()
        .await?;
    let started = Instant::now();
    let output = if file == "-" {
        client.download(bucket.as_str(), key.as_str()).to_writer(tokio::io::stdout()).await?
    } else {
        client.download(bucket.as_str(), key.as_str()).to_file(file).await?
    };
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} bytes in {seconds:.3} s: {:.0} MiB/s, {} parts, pool {:?}, connections {}",
        output.size,
        output.size as f64 / MIB as f64 / seconds,
        output.parts,
        client.buffer_pool().stats(),
        client.connection_metrics().opened()
    );
    Ok(())
}
