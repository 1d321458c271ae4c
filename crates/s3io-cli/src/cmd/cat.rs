//! `s3io cat s3://bucket/key`: an object to stdout.

use s3io::Client;

use crate::args::CatArgs;
use crate::location::S3Url;
use crate::transfer;

/// Runs `s3io cat`.
pub(crate) async fn run(client: &Client, args: CatArgs) -> anyhow::Result<()> {
    let source = S3Url::parse_object(&args.object)?;
    transfer::download_to_writer(client, &source, &mut tokio::io::stdout()).await?;
    Ok(())
}
