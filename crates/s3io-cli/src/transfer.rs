//! The transfers behind `cp` and `cat`, one function per direction.
//!
//! These are the only places the CLI moves object bytes; each is one call into the library's
//! engines, which do the parallel work within the client's part size, concurrency and memory
//! limit.
//!
//! - Downloads (`client.download(…)`): parallel ranged GETs pinned to the first answer's ETag. A
//!   file is written beside its destination and renamed into place only when complete and
//!   verified; it is removed when the download fails or its future is dropped (Ctrl-C), so a
//!   failed download never leaves a partial file under the final name. The file then takes
//!   the object's time (as `aws s3 cp` does): its `Last-Modified`, or the listing's for `sync`.
//! - Uploads (`client.upload(…)`), with the object flags ([`ObjectSettings`]): one PutObject up to the multipart threshold, a multipart
//!   upload with per-part checksums above it, aborted if it fails or is dropped, so no multipart
//!   upload is orphaned.
//! - `no_overwrite` (`--no-clobber`): the write never replaces an object (see [`crate::clobber`]).
//! - Server-side copies ([`copy_object`], `client.copy(…)`): one CopyObject up to 5 GiB, a
//!   multipart copy pinned to the source's ETag above it, aborted if it fails or is dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use s3io::{Client, DownloadOutput, Progress, UploadOutput};
use tokio::io::AsyncRead;

use crate::location::S3Url;
use crate::object::ObjectSettings;

/// Downloads `source` into the file `destination` with the library's parallel download engine
/// (replacing the file only on success), counting bytes into `progress` if given. The file's
/// modification time becomes `modified`, or else the object's `Last-Modified`.
pub(crate) async fn download_to_file(
    client: &Client,
    source: &S3Url,
    object: &ObjectSettings,
    destination: &Path,
    progress: Option<&Arc<Progress>>,
    modified: Option<SystemTime>,
    cancel: Option<&tokio_util::sync::CancellationToken>,
) -> anyhow::Result<DownloadOutput> {
    let mut download = object.download(client, &source.bucket, &source.key);
    if let Some(progress) = progress {
        download = download.progress(Arc::clone(progress));
    }
    if let Some(token) = cancel {
        // Cancelled before its rename into place, or not at all (see `Download::to_file`).
        download = download.cancel_token(token.clone());
    }
    let output = download.to_file(destination).await?;
    if let Some(modified) = modified.or(output.last_modified) {
        set_modified(destination.to_owned(), modified).await?;
    }
    Ok(output)
}

/// Sets `file`'s modification time, on the blocking pool.
async fn set_modified(file: PathBuf, modified: SystemTime) -> anyhow::Result<()> {
    let task = tokio::task::spawn_blocking(move || {
        // futimens needs ownership of the file, not write access: a read-only handle will do.
        std::fs::File::open(&file)
            .and_then(|handle| handle.set_modified(modified))
            .map_err(|e| anyhow::anyhow!("setting the modification time of {}: {e}", crate::escape::path(&file)))
    });
    task.await?
}

/// Downloads `source` to stdout in order (`cp s3://… -` and `cat`) with the library's download
/// engine, written straight from the pooled part buffers on a thread of the blocking pool
/// ([`s3io::Download::to_blocking_writer`]); returns the object's size.
pub(crate) async fn download_to_stdout(
    client: &Client,
    source: &S3Url,
    object: &ObjectSettings,
) -> anyhow::Result<u64> {
    let output = object.download(client, &source.bucket, &source.key).to_blocking_writer(std::io::stdout()).await?;
    Ok(output.size)
}

/// Uploads the local file `source` as `destination` with the library's upload engine (one
/// PutObject up to the multipart threshold, parallel parts above it), counting bytes into
/// `progress` if given.
pub(crate) async fn upload_file(
    client: &Client,
    source: &Path,
    destination: &S3Url,
    object: &ObjectSettings,
    progress: Option<&Arc<Progress>>,
    no_overwrite: bool,
) -> anyhow::Result<UploadOutput> {
    let mut upload = object.apply(client.upload(&destination.bucket, &destination.key), &destination.key);
    upload = upload.no_overwrite(no_overwrite);
    if let Some(progress) = progress {
        upload = upload.progress(Arc::clone(progress));
    }
    Ok(upload.from_file(source).await?)
}

/// Uploads everything `reader` yields (stdin for `cp - s3://…`) as `destination`, part by part
/// within the memory limit; returns the bytes sent.
pub(crate) async fn upload_reader<R>(
    client: &Client,
    reader: R,
    destination: &S3Url,
    object: &ObjectSettings,
    no_overwrite: bool,
) -> anyhow::Result<u64>
where
    R: AsyncRead + Unpin + Send,
{
    let upload = object.apply(client.upload(&destination.bucket, &destination.key), &destination.key);
    let upload = upload.no_overwrite(no_overwrite);
    let output = upload.from_reader(reader).await?;
    Ok(output.size)
}

/// Copies `source` to `destination` inside the store (no bytes through this machine) with the
/// library's copy engine (one CopyObject up to 5 GiB, a multipart copy above), setting what the
/// object flags ask for ([`ObjectSettings::copy_properties`]); returns the new object's ETag.
pub(crate) async fn copy_object(
    client: &Client,
    source: &S3Url,
    destination: &S3Url,
    object: &ObjectSettings,
    no_overwrite: bool,
) -> anyhow::Result<Option<String>> {
    let copy = object.copy(client, (&source.bucket, &source.key), (&destination.bucket, &destination.key));
    let copy = copy.no_overwrite(no_overwrite);
    Ok(copy.await?.etag)
}
