//! `s3io serve`: the embedded S3-compatible server over a local directory.

use super::Printer;
use crate::args::ServeArgs;

/// Runs the server until Ctrl-C.
pub(crate) async fn run(_args: ServeArgs, _out: &mut Printer) -> anyhow::Result<()> {
    anyhow::bail!("s3io serve: the embedded server is not available yet")
}
