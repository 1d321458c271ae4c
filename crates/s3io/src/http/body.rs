//! Request bodies: empty, bytes sent again whole on a retry, or one attempt's stream of a
//! [`ReplayablePayload`] (a range of a local file, read again for every attempt). Bytes go to
//! hyper in frames of at most 256 KiB, and [`BodyProgress`] records when hyper took the last frame
//! and when the body ended, for the send-side timeouts of [`super::client`].

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::error::BoxError;

/// A request payload that is read again from its start for every attempt (a range of a local
/// file), so a retry resends the whole body without the payload being held in memory.
pub(crate) trait ReplayablePayload: Send + Sync + 'static {
    /// The payload's length in bytes (sent as Content-Length).
    fn len(&self) -> u64;

    /// A fresh body yielding the whole payload, for one attempt.
    fn open(&self) -> StreamingBody;
}

/// The body one attempt of a [`ReplayablePayload`] streams.
pub(crate) type StreamingBody = Pin<Box<dyn Body<Data = Bytes, Error = BoxError> + Send>>;

/// A request body's bytes go to hyper in frames of at most this many bytes (slices of one
/// `Bytes`, no copy), so hyper asks for the next frame only as the previous ones leave: the body's
/// progress can be watched, and its end means little remains to be written.
const BODY_FRAME: usize = 256 * 1024;

/// How far one attempt's request body has got, for the send-side timeouts: when hyper last took
/// a frame, and when it took the last one. The watcher is woken when the body moves into another
/// phase (its first frame, its end), so each phase's deadline is counted from its start.
#[derive(Debug)]
pub(crate) struct BodyProgress {
    origin: std::time::Instant,
    /// Nanoseconds after `origin` of the last frame handed to hyper.
    last_frame: AtomicU64,
    /// Nanoseconds after `origin` at which the body ended (0: not yet).
    ended: AtomicU64,
    /// Notified at the first frame and at the end.
    phase_changed: tokio::sync::Notify,
}

impl BodyProgress {
    fn new() -> Self {
        Self {
            origin: std::time::Instant::now(),
            last_frame: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            phase_changed: tokio::sync::Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        (self.origin.elapsed().as_nanos() as u64).max(1)
    }

    fn frame(&self) {
        if self.last_frame.swap(self.now(), Ordering::Relaxed) == 0 {
            self.phase_changed.notify_one();
        }
    }

    fn end(&self) {
        if self.ended.compare_exchange(0, self.now(), Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.phase_changed.notify_one();
        }
    }

    /// Resolves when the body moves into another phase (first frame, end); a change made while
    /// nobody waited wakes the next wait at once.
    pub(crate) async fn phase_changed(&self) {
        self.phase_changed.notified().await;
    }

    /// When the last frame was taken, if one was.
    pub(crate) fn last_frame_at(&self) -> Option<std::time::Instant> {
        match self.last_frame.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(self.origin + Duration::from_nanos(nanos)),
        }
    }

    /// When the body ended, if it has.
    pub(crate) fn ended_at(&self) -> Option<std::time::Instant> {
        match self.ended.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(self.origin + Duration::from_nanos(nanos)),
        }
    }
}

/// The body of an outgoing request: empty, bytes that can be sent again on a retry, or one
/// attempt's stream of a [`ReplayablePayload`].
pub(crate) struct RequestBody {
    data: Option<Bytes>,
    stream: Option<StreamingBody>,
    /// How far the body has got; `None` for an empty body (nothing to watch, nothing allocated).
    pub(crate) progress: Option<Arc<BodyProgress>>,
}

impl Default for RequestBody {
    fn default() -> Self {
        Self::bytes(Bytes::new())
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody").field("data", &self.data).field("streaming", &self.stream.is_some()).finish()
    }
}

impl RequestBody {
    pub(crate) fn bytes(data: Bytes) -> Self {
        let data = (!data.is_empty()).then_some(data);
        let progress = data.is_some().then(|| Arc::new(BodyProgress::new()));
        Self { data, stream: None, progress }
    }

    pub(crate) fn stream(payload: &dyn ReplayablePayload) -> Self {
        Self { data: None, stream: Some(payload.open()), progress: Some(Arc::new(BodyProgress::new())) }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let frame = match this.stream.as_mut() {
            Some(stream) => match stream.as_mut().poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(frame) => frame,
            },
            None => this.data.as_mut().map(|data| {
                let frame = if data.len() > BODY_FRAME { data.split_to(BODY_FRAME) } else { std::mem::take(data) };
                Ok(Frame::data(frame))
            }),
        };
        if this.data.as_ref().is_some_and(Bytes::is_empty) {
            this.data = None;
        }
        if let Some(progress) = &this.progress {
            progress.frame();
            if frame.is_none() || this.is_end_stream() {
                progress.end();
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        match &self.stream {
            Some(stream) => stream.is_end_stream(),
            None => self.data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.stream {
            Some(stream) => stream.size_hint(),
            None => SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}
