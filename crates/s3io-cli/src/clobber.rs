//! `--no-clobber` for writes to S3 (uploads, copies, moves): an existing object is left as it is
//! and the object reported skipped, never replaced.
//!
//! The write carries the condition itself ([`s3io::Upload::no_overwrite`],
//! [`s3io::ServerCopy::no_overwrite`]: `If-None-Match: *` on PutObject, CopyObject and
//! CompleteMultipartUpload), so the check and the write are one step at the store and a writer
//! racing in between cannot be overwritten; a 412 PreconditionFailed answer means "exists,
//! skipped". A multipart transfer HEADs the key first so that no part is sent for nothing, and a
//! multipart upload refused at completion is aborted by the library.
//!
//! **Stores without conditional writes.** One that refuses the header (501 NotImplemented) makes
//! the whole process fall back, from that object on, to a HeadObject before each write: present
//! means skipped, absent means written without the condition (a writer racing between the HEAD and
//! the write can then be overwritten, as with s5cmd's `--no-clobber`). A store that ignores the
//! header overwrites: only the store's documentation can tell.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use s3io::Client;

use crate::location::S3Url;

/// Set once the store refused `If-None-Match` (501): every later write HEADs first.
static CONDITION_REFUSED: AtomicBool = AtomicBool::new(false);

/// The destination exists and `--no-clobber` keeps it: the object is skipped, not failed.
#[derive(Debug, thiserror::Error)]
#[error("{destination} exists and --no-clobber keeps it")]
pub(crate) struct Exists {
    /// The object left as it was.
    pub(crate) destination: String,
}

/// Runs `write` (whose argument says whether to send the condition) so that, with `no_clobber`,
/// an object already at `destination` is never replaced: [`Exists`] is returned instead.
pub(crate) async fn write<T, F, Fut>(
    client: &Client,
    destination: &S3Url,
    no_clobber: bool,
    write: F,
) -> anyhow::Result<T>
where
    F: Fn(bool) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    if !no_clobber {
        return write(false).await;
    }
    let exists = || anyhow::Error::new(Exists { destination: destination.to_string() });
    if !CONDITION_REFUSED.load(Ordering::Relaxed) {
        let error = match write(true).await {
            Ok(output) => return Ok(output),
            Err(error) => error,
        };
        match error.downcast_ref::<s3io::Error>() {
            Some(e) if e.is_precondition_failed() => return Err(exists()),
            Some(e) if refuses_condition(e) => {
                if !CONDITION_REFUSED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "the store refuses If-None-Match ({e}): --no-clobber checks each key with a HEAD first"
                    );
                }
            }
            _ => return Err(error),
        }
    }
    match client.head_object(&destination.bucket, &destination.key).await {
        Ok(_) => Err(exists()),
        Err(e) if e.status() == Some(404) => write(false).await,
        Err(e) => Err(e.into()),
    }
}

/// Whether the store refused the conditional header itself, rather than the write.
fn refuses_condition(error: &s3io::Error) -> bool {
    error.status() == Some(501) || error.code() == Some("NotImplemented")
}

/// Whether `error` is an [`Exists`]: the object was skipped.
pub(crate) fn is_exists(error: &anyhow::Error) -> bool {
    error.downcast_ref::<Exists>().is_some()
}
