//! Finding and aborting stale multipart uploads.
//!
//! A multipart upload whose client died before completing or aborting it keeps its parts stored
//! (and billed) until someone aborts it. [`Client::stale_uploads`] lists the uploads under a
//! prefix started longer ago than a given age, following every page of ListMultipartUploads;
//! [`Client::abort_stale_uploads`] aborts them.

use std::time::{Duration, SystemTime};

use crate::client::Client;
use crate::error::Result;
use crate::s3::multipart::MultipartUploadInfo;

impl Client {
    /// The multipart uploads in progress under `prefix` (all of the bucket's for `""`) started
    /// at least `older_than` ago. Uploads whose start time the store did not report count as
    /// stale only when `older_than` is zero.
    pub async fn stale_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        older_than: Duration,
    ) -> Result<Vec<MultipartUploadInfo>> {
        let cutoff = SystemTime::now().checked_sub(older_than);
        let prefix = (!prefix.is_empty()).then_some(prefix);
        let mut stale = Vec::new();
        let mut marker: Option<(String, String)> = None;
        loop {
            let page = self
                .list_multipart_uploads(bucket, prefix, marker.as_ref().map(|(k, u)| (k.as_str(), u.as_str())))
                .await?;
            stale.extend(page.uploads.into_iter().filter(|upload| match (upload.initiated, cutoff) {
                _ if older_than.is_zero() => true,
                (Some(initiated), Some(cutoff)) => initiated <= cutoff,
                _ => false,
            }));
            match page.next_marker {
                Some(next) if Some(&next) != marker.as_ref() => marker = Some(next),
                _ => return Ok(stale),
            }
        }
    }

    /// Aborts the multipart uploads [`Client::stale_uploads`] finds, and returns them. The first
    /// abort that fails stops the sweep with its error (an upload that vanished meanwhile, 404
    /// NoSuchUpload, is not a failure).
    pub async fn abort_stale_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        older_than: Duration,
    ) -> Result<Vec<MultipartUploadInfo>> {
        let stale = self.stale_uploads(bucket, prefix, older_than).await?;
        for upload in &stale {
            match self.abort_multipart_upload(bucket, &upload.key, &upload.upload_id).await {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        Ok(stale)
    }
}
