//! Measures one upload from a file (or stdin) with the upload engine, for benchmarks under
//! `/usr/bin/time -v`, so the client's CPU time and peak RSS are measured apart from the server.
//!
//! ```text
//! upload_file serve ROOT PORT                  # run the embedded server until killed
//! upload_file upload ENDPOINT BUCKET KEY FILE  # FILE `-` reads stdin
//! ```
//!
//! `S3IO_PART_SIZE` (MiB), `S3IO_CONCURRENCY` and `S3IO_CHECKSUM=when-required` override the
//! defaults.

use std::time::Instant;

use s3io::config::{AddressingStyle, TransferConfig, MIB};
use s3io::{Client, CredentialsSource};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["serve", root, port] => {
            let addr = format!("127.0.0.1:{port}").parse()?;
            let server = s3io_server::start(s3io_server::ServerConfig::new(root).with_addr(addr)).await?;
            println!("{}", server.endpoint_url());
            tokio::signal::ctrl_c().await?;
            server.shutdown().await;
        }
        ["upload", endpoint, bucket, key, file] => {
            let mut transfer = TransferConfig::default();
            if let Some(part) = env_u64("S3IO_PART_SIZE") {
                transfer.part_size = part * MIB;
            }
            if let Some(concurrency) = env_u64("S3IO_CONCURRENCY") {
                transfer.concurrency = Some(concurrency as usize);
            }
            if std::env::var("S3IO_CHECKSUM").as_deref() == Ok("when-required") {
                transfer.checksum_mode = s3io::config::ChecksumMode::WhenRequired;
            }
            let client = Client::builder()
                .endpoint(endpoint)
                .region("us-east-1")
                .addressing_style(AddressingStyle::Path)
                .credentials(CredentialsSource::static_keys(
                    s3io_server::DEFAULT_ACCESS_KEY,
                    s3io_server::DEFAULT_SECRET_KEY,
                ))
                .transfer(transfer)
                .build()
                .await?;
            if client.head_bucket(bucket).await.is_err() {
                client.create_bucket(bucket).await?;
            }
            let started = Instant::now();
            let output = if file == "-" {
                client.upload(bucket, key).from_reader(tokio::io::stdin()).await?
            } else {
                client.upload(bucket, key).from_file(file).await?
            };
            let seconds = started.elapsed().as_secs_f64();
            let pool = client.buffer_pool().stats();
            println!(
                "{} bytes in {} parts, {seconds:.2} s, {:.0} MiB/s; pool high water {} MiB, reuse {:.3}; {:?}",
                output.size,
                output.parts,
                output.size as f64 / MIB as f64 / seconds,
                pool.high_water_bytes / MIB,
                pool.reuse_rate(),
                output.checksum.map(|c| c.value),
            );
        }
        _ => {
            eprintln!("usage: upload_file serve ROOT PORT | upload_file upload ENDPOINT BUCKET KEY FILE|-");
            std::process::exit(2);
        }
    }
    Ok(())
}
