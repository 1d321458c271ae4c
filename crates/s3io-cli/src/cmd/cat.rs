//! `s3io cat s3://bucket/key`: an object to stdout.

use s3io::Client;

use crate::args::CatArgs;
use crate::location::S3Url;
use crate::object::ObjectSettings;
use crate::transfer;

/// Runs `s3io cat`.
pub(crate) async fn run(client: &Client, args: CatArgs) -> anyhow::Result<()> {
    let source = S3Url::parse_object(&args.object)?;
    let object = ObjectSettings::for_reading(&args.sse_c, args.version_id.as_deref())?;
    transfer::download_to_stdout(client, &source, &object).await?;
    Ok(())
}
