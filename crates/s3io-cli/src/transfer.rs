//! The transfers behind `cp` and `cat`, one function per direction.
//!
//! These are the only places the CLI moves object bytes, so that swapping in the library's
//! engines is one function each: [`download_to_file`] and [`download_to_writer`] become
//! `client.download(bucket, key).to_file(path)` / `.to_writer(writer)` (parallel ranged GETs
//! through pooled buffers), and [`upload_file`] / [`upload_reader`] become `client.upload(…)`
//! (multipart above the threshold). Until then they are single requests: one streamed GetObject,
//! one PutObject of the whole body (so uploads are limited to S3's 5 GiB PutObject maximum).
//!
//! A download to a file never leaves a partial file under the final name: bytes go to a
//! [`PartialFile`] created beside the destination, renamed into place only once every byte is
//! written, and removed when the transfer fails or is cancelled (dropped).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bytes::Bytes;
use s3io::{Client, GetObjectOptions, PutObjectOptions};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufWriter};

use crate::location::S3Url;

/// Largest object one PutObject may carry: 5 GiB.
const MAX_PUT_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// Write buffer between the response body and the local file: 1 MiB, so that each hop to the
/// blocking pool writes a large block instead of one network chunk (typically 8–16 KiB).
const FILE_WRITE_BUFFER: usize = 1024 * 1024;

/// A file being written beside its destination, under a hidden temporary name.
///
/// Dropping it before [`PartialFile::persist`] removes the temporary file, so an error or a
/// Ctrl-C (which drops the transfer's future) leaves nothing behind.
pub(crate) struct PartialFile {
    file: tokio::fs::File,
    temp: tempfile::TempPath,
}

impl PartialFile {
    /// Creates `.NAME.s3io-XXXXXX` in the destination's directory (same filesystem, so the final
    /// rename is atomic).
    pub(crate) async fn beside(destination: &Path) -> anyhow::Result<Self> {
        let dir = match destination.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = destination.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let prefix = format!(".{name}.s3io-");
        let (file, temp) = tokio::task::spawn_blocking(move || {
            tempfile::Builder::new()
                .prefix(&prefix)
                .tempfile_in(&dir)
                .with_context(|| format!("creating a temporary file in {}", dir.display()))
        })
        .await??
        .into_parts();
        Ok(Self { file: tokio::fs::File::from_std(file), temp })
    }

    /// Flushes the file, gives it ordinary permissions (the destination's own if it exists,
    /// 0644 otherwise, instead of the temporary file's 0600) and renames it into place.
    pub(crate) async fn persist(self, destination: &Path) -> anyhow::Result<()> {
        let Self { mut file, temp } = self;
        file.flush().await.with_context(|| format!("writing {}", destination.display()))?;
        drop(file);
        let destination = destination.to_owned();
        tokio::task::spawn_blocking(move || {
            set_permissions_like(&temp, &destination)?;
            temp.persist(&destination)
                .map_err(|e| anyhow::Error::new(e.error))
                .with_context(|| format!("renaming into place as {}", destination.display()))
        })
        .await?
    }
}

#[cfg(unix)]
fn set_permissions_like(temp: &Path, destination: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let permissions = match std::fs::metadata(destination) {
        Ok(existing) => existing.permissions(),
        Err(_) => std::fs::Permissions::from_mode(0o644),
    };
    std::fs::set_permissions(temp, permissions).with_context(|| format!("setting permissions on {}", temp.display()))
}

#[cfg(not(unix))]
fn set_permissions_like(_temp: &Path, _destination: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Downloads `source` into the file `destination` (replacing it only on success); returns the
/// bytes written.
pub(crate) async fn download_to_file(client: &Client, source: &S3Url, destination: &Path) -> anyhow::Result<u64> {
    let mut object = client.get_object(&source.bucket, &source.key, &GetObjectOptions::default()).await?;
    let partial = PartialFile::beside(destination).await?;
    let mut writer = BufWriter::with_capacity(FILE_WRITE_BUFFER, partial.file);
    let mut written = 0u64;
    while let Some(chunk) = object.body.next_chunk().await? {
        writer.write_all(&chunk).await.with_context(|| format!("writing {}", destination.display()))?;
        written += chunk.len() as u64;
    }
    writer.flush().await.with_context(|| format!("writing {}", destination.display()))?;
    let partial = PartialFile { file: writer.into_inner(), temp: partial.temp };
    partial.persist(destination).await?;
    Ok(written)
}

/// Downloads `source` into `writer` (stdout for `cp s3://… -` and `cat`), in order; returns the
/// bytes written.
pub(crate) async fn download_to_writer<W>(client: &Client, source: &S3Url, writer: &mut W) -> anyhow::Result<u64>
where
    W: AsyncWrite + Unpin,
{
    let mut object = client.get_object(&source.bucket, &source.key, &GetObjectOptions::default()).await?;
    let mut written = 0u64;
    while let Some(chunk) = object.body.next_chunk().await? {
        writer.write_all(&chunk).await.context("writing to stdout")?;
        written += chunk.len() as u64;
    }
    writer.flush().await.context("writing to stdout")?;
    Ok(written)
}

/// Uploads the local file `source` as `destination`; returns the bytes sent.
pub(crate) async fn upload_file(client: &Client, source: &Path, destination: &S3Url) -> anyhow::Result<u64> {
    let metadata = tokio::fs::metadata(source).await.with_context(|| format!("reading {}", source.display()))?;
    if !metadata.is_file() {
        anyhow::bail!("{} is not a file", source.display());
    }
    check_put_size(metadata.len(), destination)?;
    let body = tokio::fs::read(source).await.with_context(|| format!("reading {}", source.display()))?;
    put(client, Bytes::from(body), destination).await
}

/// Uploads everything `reader` yields (stdin for `cp - s3://…`) as `destination`.
pub(crate) async fn upload_reader<R>(client: &Client, reader: &mut R, destination: &S3Url) -> anyhow::Result<u64>
where
    R: AsyncRead + Unpin,
{
    let mut body = Vec::new();
    // One byte past the limit tells "exactly 5 GiB" from "more".
    reader.take(MAX_PUT_OBJECT_SIZE + 1).read_to_end(&mut body).await.context("reading stdin")?;
    check_put_size(body.len() as u64, destination)?;
    put(client, Bytes::from(body), destination).await
}

fn check_put_size(size: u64, destination: &S3Url) -> anyhow::Result<()> {
    if size > MAX_PUT_OBJECT_SIZE {
        anyhow::bail!(
            "upload to {destination}: objects above 5 GiB need a multipart upload, which s3io cp does not do yet"
        );
    }
    Ok(())
}

async fn put(client: &Client, body: Bytes, destination: &S3Url) -> anyhow::Result<u64> {
    let size = body.len() as u64;
    client.put_object(&destination.bucket, &destination.key, body, &PutObjectOptions::default()).await?;
    Ok(size)
}
