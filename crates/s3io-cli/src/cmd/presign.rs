//! `s3io presign s3://bucket/key`: print a presigned URL.

use std::time::Duration;

use s3io::Client;

use crate::args::{PresignArgs, PresignMethod};
use crate::exit::UsageError;
use crate::location::S3Url;
use crate::printer::Printer;

/// Runs `s3io presign`.
pub(crate) async fn run(client: &Client, args: PresignArgs, out: &mut Printer) -> anyhow::Result<()> {
    let object = S3Url::parse_object(&args.object)?;
    let expires_in = Duration::from_secs(args.expires_in);
    if expires_in.is_zero() || expires_in > s3io::config::MAX_PRESIGN_EXPIRY {
        return Err(UsageError::new(format!(
            "--expires-in {} is out of range: 1 to {} seconds (7 days)",
            args.expires_in,
            s3io::config::MAX_PRESIGN_EXPIRY.as_secs()
        ))
        .into());
    }
    let url = match args.method {
        PresignMethod::Get => client.presign_get(&object.bucket, &object.key, expires_in).await?,
        PresignMethod::Put => client.presign_put(&object.bucket, &object.key, expires_in).await?,
    };
    out.data(&url).await
}
