//! The benchmark's default target: the embedded server in a child process.
//!
//! The server runs as `s3io serve` in its own process, on a temporary root removed afterwards,
//! so the benchmark's CPU time and peak RSS figures are the client's alone. With `--faults` it
//! injects the given faults (503s, resets, stalls, …) into every request, the set-up uploads
//! included; with `--network` it shapes every connection (`s3io serve --network`).

use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use s3io_server::{FaultSpec, NetworkSpec};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// How long the server may take to print its endpoint.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `s3io serve` child, killed when dropped.
pub(crate) struct EmbeddedServer {
    /// `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
    _child: Child,
    _root: tempfile::TempDir,
}

impl EmbeddedServer {
    /// Starts `s3io serve` on 127.0.0.1 with an OS-chosen port, injecting `faults` and emulating
    /// `network` if given, and waits for its endpoint line.
    pub(crate) async fn start(faults: Option<&FaultSpec>, network: Option<&NetworkSpec>) -> anyhow::Result<Self> {
        let root = tempfile::Builder::new().prefix("s3io-bench-").tempdir().context("creating the server's root")?;
        let exe = std::env::current_exe().context("finding the s3io binary")?;
        let mut command = Command::new(exe);
        command.args(["serve", "--addr", "127.0.0.1:0", "--root"]).arg(root.path());
        if let Some(faults) = faults {
            // The spec's canonical form, which parses back to the same spec.
            command.arg("--faults").arg(faults.to_string());
        }
        if let Some(network) = network {
            // Likewise canonical.
            command.arg("--network").arg(network.to_string());
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting the embedded server (s3io serve)")?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let endpoint = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(at) = line.find("http://") {
                    return Ok(line[at..].split_whitespace().next().unwrap_or_default().to_owned());
                }
            }
            bail!("the embedded server exited before printing its endpoint")
        })
        .await
        .context("waiting for the embedded server")??;
        // Keep draining its stdout so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { endpoint, _child: child, _root: root })
    }
}
