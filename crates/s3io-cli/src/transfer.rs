//! The transfers behind `cp` and `cat`, one function per direction.
//!
//! These are the only places the CLI moves object bytes; each is one call into the library's
//! engines, which do the parallel work within the client's part size, concurrency and memory
//! limit.
//!
//! - Downloads (`client.download(…)`): parallel ranged GETs pinned to the first answer's ETag. A
//!   file is written beside its destination and renamed into place only when complete and
//!   verified; it is removed when the download fails or its future is dropped (Ctrl-C), so a
//!   failed download never leaves a partial file under the final name.
//! - Uploads (`client.upload(…)`): one PutObject up to the multipart threshold, a multipart
//!   upload with per-part checksums above it, aborted if it fails or is dropped, so no multipart
//!   upload is orphaned.

use std::path::Path;

use anyhow::Context as _;
use s3io::Client;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use crate::location::S3Url;

/// Downloads `source` into the file `destination` with the library's parallel download engine
/// (replacing the file only on success); returns the object's size.
pub(crate) async fn download_to_file(client: &Client, source: &S3Url, destination: &Path) -> anyhow::Result<u64> {
    let output = client.download(&source.bucket, &source.key).to_file(destination).await?;
    Ok(output.size)
}

/// Downloads `source` into `writer` in order (stdout for `cp s3://… -` and `cat`) with the
/// library's download engine; returns the object's size.
pub(crate) async fn download_to_writer<W>(client: &Client, source: &S3Url, writer: &mut W) -> anyhow::Result<u64>
where
    W: AsyncWrite + Unpin + Send,
{
    let output = client.download(&source.bucket, &source.key).to_writer(&mut *writer).await?;
    writer.flush().await.context("writing to stdout")?;
    Ok(output.size)
}

/// Uploads the local file `source` as `destination` with the library's upload engine (one
/// PutObject up to the multipart threshold, parallel parts above it); returns the bytes sent.
pub(crate) async fn upload_file(client: &Client, source: &Path, destination: &S3Url) -> anyhow::Result<u64> {
    let output = client.upload(&destination.bucket, &destination.key).from_file(source).await?;
    Ok(output.size)
}

/// Uploads everything `reader` yields (stdin for `cp - s3://…`) as `destination`, part by part
/// within the memory limit; returns the bytes sent.
pub(crate) async fn upload_reader<R>(client: &Client, reader: R, destination: &S3Url) -> anyhow::Result<u64>
where
    R: AsyncRead + Unpin + Send,
{
    let output = client.upload(&destination.bucket, &destination.key).from_reader(reader).await?;
    Ok(output.size)
}
