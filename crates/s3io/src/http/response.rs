//! Response bodies, read frame by frame ([`ResponseBody::next_chunk`]) with a per-read timeout, so
//! a stalled body is noticed. A body holds its request's slot of the client's limit on requests
//! in flight until it ends or is dropped, or sends nothing for [`SLOT_STALL`]. A body dropped before its end follows the drain-or-close rule: when
//! at most [`DRAIN_THRESHOLD`] bytes remain it is read to the end in the background, so its
//! connection goes back to the pool; when more remain, the connection is closed (dropping hyper's
//! body does that), because reading megabytes nobody wants costs more than a new handshake.

use std::time::Duration;

use bytes::Bytes;
use http_body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::reuse::Claim;
use crate::error::{Error, ErrorContext};
use crate::throttle::ThrottlePermit;

/// A dropped response body with at most this many bytes left is drained so its connection can be
/// reused; with more left, its connection is closed. 256 KiB takes well under a millisecond to
/// read on a fast link, less than a new TCP (and TLS) handshake costs.
pub(crate) const DRAIN_THRESHOLD: u64 = 256 * 1024;

/// A body that sends nothing for this long gives back its request's slot of the client's limit
/// on requests in flight: 1 s, hundreds of times a frame's usual wait, so only a stalled
/// request (a store sitting on an answer, a dying connection) lets another one start beside it.
pub(crate) const SLOT_STALL: Duration = Duration::from_secs(1);

/// A streaming response body with a per-read timeout and the drain-or-close rule on drop.
pub struct ResponseBody {
    body: Option<Incoming>,
    remaining: Option<u64>,
    read_timeout: Duration,
    /// Shared with the request (copied only into an error).
    context: ErrorContext,
    /// The request's slot of the client's limit on requests in flight, given back when the body
    /// ends or is dropped; it also counts the body's bytes into the client's metrics.
    slot: Option<ThrottlePermit>,
    /// The request's claim on its connection, given up when the body ends or is dropped (or
    /// drained in the background): its connection is then on its way back to the pool.
    claim: Option<Claim>,
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody").field("remaining", &self.remaining).finish_non_exhaustive()
    }
}

impl ResponseBody {
    pub(crate) fn new(
        body: Incoming,
        read_timeout: Duration,
        context: ErrorContext,
        slot: Option<ThrottlePermit>,
        claim: Option<Claim>,
    ) -> Self {
        let remaining = body.size_hint().exact();
        // A body that is already at its end holds its connection no longer.
        let claim = claim.filter(|_| !body.is_end_stream());
        Self { body: Some(body), remaining, read_timeout, context, slot, claim }
    }

    /// Gives the request's slot back before the body is read (a body the caller may hold for
    /// long, or one whose reader first waits for memory).
    pub(crate) fn release_slot(&mut self) {
        if let Some(slot) = self.slot.as_mut() {
            slot.release();
        }
    }

    /// The body ended (or failed: dropping hyper's body then closes its connection): its slot
    /// and its claim on the connection are given back.
    fn end(&mut self) {
        self.body = None;
        self.claim = None;
        self.release_slot();
    }

    /// Bytes still to come, when the response said (Content-Length).
    pub fn remaining(&self) -> Option<u64> {
        self.remaining
    }

    /// The next chunk of the body, `None` at its end. A body that ends before its Content-Length,
    /// a reset, or no bytes within the read timeout is an error.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let Some(body) = self.body.as_mut() else { return Ok(None) };
        loop {
            let waited = match self.slot.as_ref().is_some_and(ThrottlePermit::is_held) {
                // A body that sends nothing for a while gives its slot back: a stalled request
                // must not keep the client's other requests waiting (it goes on without one).
                true if SLOT_STALL < self.read_timeout => match tokio::time::timeout(SLOT_STALL, body.frame()).await {
                    Ok(frame) => Ok(frame),
                    Err(_) => {
                        if let Some(slot) = self.slot.as_mut() {
                            slot.release();
                        }
                        tokio::time::timeout(self.read_timeout - SLOT_STALL, body.frame()).await
                    }
                },
                _ => tokio::time::timeout(self.read_timeout, body.frame()).await,
            };
            let frame = match waited {
                Err(_) => {
                    // The connection is in an unknown state: close it.
                    self.end();
                    return Err(Error::Timeout {
                        context: Box::new(ErrorContext::clone(&self.context)),
                        what: "waiting for body bytes",
                        after: self.read_timeout,
                    });
                }
                Ok(None) => {
                    self.end();
                    return match self.remaining {
                        Some(left) if left > 0 => Err(Error::transport(
                            ErrorContext::clone(&self.context),
                            "reading the response body",
                            format!("body ended {left} bytes early"),
                        )),
                        _ => Ok(None),
                    };
                }
                Ok(Some(Err(e))) => {
                    self.end();
                    return Err(Error::transport(ErrorContext::clone(&self.context), "reading the response body", e));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            if let Ok(data) = frame.into_data() {
                if let Some(left) = self.remaining.as_mut() {
                    *left = left.saturating_sub(data.len() as u64);
                }
                if let Some(slot) = &self.slot {
                    slot.count_received(data.len() as u64);
                }
                if !data.is_empty() {
                    return Ok(Some(data));
                }
            }
        }
    }

    /// Reads the whole body into one buffer (for small XML answers).
    pub(crate) async fn collect(mut self, limit: usize) -> Result<Bytes, Error> {
        let mut out = bytes::BytesMut::with_capacity(self.remaining.unwrap_or(0).min(limit as u64) as usize);
        while let Some(chunk) = self.next_chunk().await? {
            if out.len() + chunk.len() > limit {
                return Err(Error::invalid_response(
                    ErrorContext::clone(&self.context),
                    format!("response body larger than {limit} bytes"),
                ));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        let Some(mut body) = self.body.take() else { return };
        if body.is_end_stream() {
            return;
        }
        let small = self.remaining.is_some_and(|left| left <= DRAIN_THRESHOLD);
        if !small {
            // Dropping an unfinished hyper body closes its connection.
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let timeout = self.read_timeout;
        // The connection stays claimed until it is drained.
        let claim = self.claim.take();
        runtime.spawn(async move {
            let _claim = claim;
            let drain = async { while let Some(Ok(_)) = body.frame().await {} };
            let _ = tokio::time::timeout(timeout, drain).await;
        });
    }
}
