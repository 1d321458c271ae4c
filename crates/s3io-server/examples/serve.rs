//! Serves a directory over S3 until Ctrl-C: `cargo run --release -p s3io-server --example serve -- ROOT [ADDR] [FAULTS]`.
//!
//! ADDR defaults to `127.0.0.1:9000`; FAULTS is a fault spec (see `s3io_server::fault`).
//! Credentials are `s3io_server::DEFAULT_ACCESS_KEY` / `DEFAULT_SECRET_KEY`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(root) = args.next() else {
        eprintln!("usage: serve ROOT [ADDR] [FAULTS]");
        return ExitCode::from(2);
    };
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9000".to_owned());
    let Ok(addr) = addr.parse() else {
        eprintln!("serve: invalid address {addr:?}");
        return ExitCode::from(2);
    };
    let mut config = s3io_server::ServerConfig::new(root).with_addr(addr);
    if let Some(spec) = args.next() {
        match spec.parse() {
            Ok(faults) => config = config.with_faults(faults),
            Err(e) => {
                eprintln!("serve: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let server = match s3io_server::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{} pid {}", server.endpoint_url(), std::process::id());
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("{:?}", server.fault_stats());
    server.shutdown().await;
    ExitCode::SUCCESS
}
