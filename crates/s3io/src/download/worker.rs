//! Fetching one part: the ranged GET, streaming its body into a [`PartWriter`], resuming a body
//! that breaks off.
//!
//! The first request of a download is made here too ([`first_request`]): a ranged GET of the first
//! part that learns the object's size and ETag.

use std::sync::Arc;

use bytes::Bytes;

use super::{Download, Plan};
use crate::checksum::Hasher;
use crate::client::Client;
use crate::error::{Error, Result, ServiceError};
use crate::progress::Progress;
use crate::retry::{classify, Backoff};
use crate::s3::object::{ByteRange, GetObjectOptions, GetObjectOutput};

/// Where a part's bytes go, chunk by chunk, at their offset in the object.
pub(crate) trait PartWriter {
    /// Takes `chunk`, whose first byte is at `offset` in the object.
    async fn write(&mut self, offset: u64, chunk: Bytes) -> Result<()>;
    /// Makes every byte taken so far durable in the sink (written to the file, for files).
    async fn flush(&mut self) -> Result<()>;
}

/// Makes the first request: a ranged GET of the first part. Returns the plan and the answer,
/// whose body is still to be read.
pub(crate) async fn first_request(download: &Download) -> Result<(Plan, GetObjectOutput)> {
    let client = &download.client;
    let part_size = download.transfer.part_size;
    let mut options =
        GetObjectOptions { range: Some(ByteRange::inclusive(0, part_size - 1)), if_match: None, checksum_mode: false };
    let response = match client.get_object(&download.bucket, &download.key, &options).await {
        // S3 answers a range on an empty object with 416: ask for the whole (empty) object.
        Err(e) if e.status() == Some(416) => {
            options.range = None;
            client.get_object(&download.bucket, &download.key, &options).await?
        }
        other => other?,
    };
    let plan = Plan {
        bucket: download.bucket.clone(),
        key: download.key.clone(),
        size: response.object_size(),
        part_size,
        etag: response.info.etag.clone(),
        last_modified: response.info.last_modified,
        context: download.context(),
    };
    if let Some(progress) = &download.progress {
        progress.add_total(plan.size);
    }
    Ok((plan, response))
}

/// Turns a 412 on a pinned part into an error that says the object changed.
fn explain_changed(error: Error, plan: &Plan) -> Error {
    if error.status() != Some(412) {
        return error;
    }
    Error::service(
        plan.context.clone(),
        ServiceError {
            status: 412,
            code: "PreconditionFailed".into(),
            message: Some(format!(
                "the object changed during the download (its ETag is no longer {})",
                plan.etag.as_deref().unwrap_or("the one first seen")
            )),
            request_id: error.service_error().and_then(|e| e.request_id.clone()),
        },
    )
}

/// Fetches part `index` into `writer`, starting from `first` when the part's answer is already
/// there. Feeds `hasher` with the part's bytes in order and `progress` with their count.
pub(crate) async fn fetch_part<W: PartWriter>(
    client: &Client,
    plan: &Plan,
    index: u64,
    first: Option<GetObjectOutput>,
    writer: &mut W,
    mut hasher: Option<&mut Hasher>,
    progress: Option<&Arc<Progress>>,
) -> Result<()> {
    let (start, end) = plan.part_range(index);
    let mut received = 0u64;
    let mut response = first;
    let mut resumes = 0u32;
    let policy = &client.config().retry;
    let backoff = Backoff::new(policy);
    loop {
        let position = start + received;
        let mut answer = match response.take() {
            Some(answer) => answer,
            None => {
                let options = GetObjectOptions {
                    range: Some(ByteRange::inclusive(position, end - 1)),
                    if_match: plan.etag.clone(),
                    checksum_mode: false,
                };
                client.get_object(&plan.bucket, &plan.key, &options).await.map_err(|e| explain_changed(e, plan))?
            }
        };
        let answer_start = answer.content_range.map_or(0, |r| r.start);
        if answer_start != position || answer.object_size() != plan.size {
            return Err(Error::invalid_response(
                plan.context.clone(),
                format!(
                    "asked for bytes from {position} of a {}-byte object, got bytes from {answer_start} of {}",
                    plan.size,
                    answer.object_size()
                ),
            ));
        }
        let failure = loop {
            if start + received == end {
                // Empty objects: nothing to read.
                break None;
            }
            match answer.body.next_chunk().await {
                Ok(Some(mut chunk)) => {
                    let wanted = end - (start + received);
                    if chunk.len() as u64 > wanted {
                        chunk.truncate(wanted as usize);
                    }
                    let len = chunk.len() as u64;
                    if let Some(hasher) = hasher.as_deref_mut() {
                        hasher.update(&chunk);
                    }
                    writer.write(start + received, chunk).await?;
                    received += len;
                    if let Some(progress) = progress {
                        progress.add(len);
                    }
                }
                Ok(None) => {
                    break Some(Error::transport(
                        plan.context.clone(),
                        "reading part body",
                        format!("body ended at byte {} of part {index} (expected {end})", start + received),
                    ))
                }
                Err(e) => break Some(e),
            }
        };
        let Some(error) = failure else {
            return writer.flush().await;
        };
        // Keep what arrived; ask only for the rest.
        let reason = classify(&error);
        resumes += 1;
        let allowed = reason.is_some_and(|r| resumes < policy.max_attempts && client.retry_budget().try_acquire(r));
        if !allowed {
            writer.flush().await?;
            return Err(error);
        }
        if let Some(reason) = reason {
            client.retry_counters().record(reason);
        }
        tracing::debug!(%error, part = index, received, "resuming part");
        tokio::time::sleep(backoff.random_delay(resumes - 1)).await;
    }
}
