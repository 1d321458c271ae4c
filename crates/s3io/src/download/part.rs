//! Fetching one part: the ranged GET (with `If-Match` on the plan's ETag), streaming its body into
//! a [`PartWriter`], resuming a body that breaks off from its last byte.
//!
//! The whole part — request, body, resumes — is one operation of the crate's attempt loop
//! ([`Client::with_retries`]): an attempt asks for the bytes still missing and reads them, a body
//! cut mid-way fails the attempt, and the next attempt resumes after the last byte written (the
//! bytes already written are kept). The part's [`RetryContext`] starts with its first request —
//! for part 0 the plan's first request — so a part costs at most `max_attempts` requests in all.

use std::sync::Arc;

use super::sink::PartWriter;
use super::Plan;
use crate::checksum::Hasher;
use crate::client::Client;
use crate::error::{Error, Operation, Result, ServiceError};
use crate::progress::Progress;
use crate::retry::{Failure, RetryContext};
use crate::s3::object::{ByteRange, GetObjectOptions, GetObjectOutput};

/// The plan's first answer (a part's headers, its body unread), with the retry context its
/// request started.
pub(crate) struct FirstAnswer {
    pub(crate) answer: GetObjectOutput,
    pub(crate) retry: RetryContext,
    /// The part it answers: 0, or the first one missing when resuming.
    pub(crate) index: u64,
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

/// What survives from one attempt at a part to the next.
struct PartState<'w, W> {
    /// Bytes of the part written so far.
    received: u64,
    /// An answer whose body is still to be read (the plan's first answer).
    response: Option<GetObjectOutput>,
    writer: &'w mut W,
    hasher: Option<&'w mut Hasher>,
}

/// Fetches part `index` into `writer`, starting from `first` when the part's answer is already
/// there. Feeds `hasher` with the part's bytes in order and `progress` with their count.
pub(crate) async fn fetch_part<W: PartWriter>(
    client: &Client,
    plan: &Plan,
    index: u64,
    first: Option<FirstAnswer>,
    writer: &mut W,
    hasher: Option<&mut Hasher>,
    progress: Option<&Arc<Progress>>,
) -> Result<()> {
    let (response, mut retry) = match first {
        Some(first) => (Some(first.answer), first.retry),
        None => (None, RetryContext::new()),
    };
    let state = PartState { received: 0, response, writer, hasher };
    let (state, fetched) = client
        .with_retries_carrying(&mut retry, state, |mut state| async move {
            let outcome = attempt(client, plan, index, &mut state, progress).await;
            (state, outcome)
        })
        .await;
    // Written or not, the writer's batches in flight finish before the part is reported.
    let flushed = state.writer.flush().await;
    fetched?;
    flushed
}

/// One attempt: asks for the part's bytes still missing (unless an answer is there) and reads
/// them into the writer. A body cut mid-way fails the attempt, keeping what was written.
async fn attempt<W: PartWriter>(
    client: &Client,
    plan: &Plan,
    index: u64,
    state: &mut PartState<'_, W>,
    progress: Option<&Arc<Progress>>,
) -> std::result::Result<(), Failure> {
    let (start, end) = plan.part_range(index);
    let position = start + state.received;
    let mut answer = match state.response.take() {
        Some(answer) => answer,
        None => {
            if state.received > 0 {
                tracing::debug!(part = index, received = state.received, "resuming part");
            }
            let options = GetObjectOptions {
                range: Some(ByteRange::inclusive(position, end - 1)),
                if_match: plan.etag.clone(),
                checksum_mode: false,
                sse_customer_key: plan.sse_customer_key.clone(),
                version_id: plan.version_id.clone(),
            };
            client
                .get_object_once(&plan.context.with_operation(Operation::GetObject), &options)
                .await
                .map_err(|(e, retry_after)| (explain_changed(e, plan), retry_after))?
        }
    };
    let answer_start = answer.content_range.map_or(0, |r| r.start);
    if answer_start != position || answer.object_size() != plan.size {
        let detail = format!(
            "asked for bytes from {position} of a {}-byte object, got bytes from {answer_start} of {}",
            plan.size,
            answer.object_size()
        );
        return Err((Error::invalid_response(plan.context.clone(), detail), None));
    }
    // Empty objects: nothing to read.
    while start + state.received < end {
        let mut chunk = match answer.body.next_chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                let detail = format!("body ended at byte {} of part {index} (expected {end})", start + state.received);
                return Err((Error::transport(plan.context.clone(), "reading part body", detail), None));
            }
            Err(e) => return Err((e, None)),
        };
        let wanted = end - (start + state.received);
        if chunk.len() as u64 > wanted {
            chunk.truncate(wanted as usize);
        }
        let len = chunk.len() as u64;
        if let Some(hasher) = state.hasher.as_deref_mut() {
            hasher.update(&chunk);
        }
        state.writer.write(start + state.received, chunk).await.map_err(|e| (e, None))?;
        state.received += len;
        if let Some(progress) = progress {
            progress.add(len);
        }
    }
    Ok(())
}
