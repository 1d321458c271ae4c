//! `s3io mb` and `s3io rb`: create and delete buckets.

use s3io::Client;

use super::rm;
use crate::args::{BucketArgs, RbArgs};
use crate::location::S3Url;
use crate::printer::Printer;

/// `s3io mb s3://bucket`.
pub(crate) async fn make(client: &Client, args: BucketArgs, out: &mut Printer) -> anyhow::Result<()> {
    let bucket = S3Url::parse_bucket(&args.bucket)?;
    client.create_bucket(&bucket).await?;
    out.status(&format!("make_bucket: {bucket}")).await
}

/// `s3io rb s3://bucket [--force]`.
pub(crate) async fn remove(client: &Client, args: RbArgs, out: &mut Printer) -> anyhow::Result<()> {
    let bucket = S3Url::parse_bucket(&args.bucket)?;
    if args.force {
        rm::delete_all(client, &bucket, out).await?;
    }
    client.delete_bucket(&bucket).await?;
    out.status(&format!("remove_bucket: {bucket}")).await
}
