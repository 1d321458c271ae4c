//! [`FaultBody`]: a response body with its fault applied — reset after some bytes, held back
//! before the first byte, ended early, or one byte inverted — and paused while a `drop` outage
//! lasts.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use s3s::{Body, StdError};

use super::outage::OutageClock;
use super::service::InjectedReset;

/// What happens to a response body.
pub(super) enum BodyFault {
    None,
    /// Fail after this many bytes.
    ResetAfter(u64),
    /// Wait before the first byte.
    Stall(Pin<Box<tokio::time::Sleep>>),
    /// End cleanly after this many bytes.
    TruncateAt(u64),
    /// Invert the byte at this offset.
    CorruptAt(u64),
}

/// A response body with an optional fault applied, paused while a `drop` outage lasts.
pub(crate) struct FaultBody {
    inner: Body,
    fault: BodyFault,
    sent: u64,
    done: bool,
    /// A `drop` outage to pause for, and the pause under way.
    outage: Option<(Arc<OutageClock>, Option<Pause>)>,
}

/// A body paused until an outage ends.
type Pause = Pin<Box<tokio::time::Sleep>>;

impl FaultBody {
    pub(super) fn new(inner: Body, fault: BodyFault, outage: Option<Arc<OutageClock>>) -> Self {
        Self { inner, fault, sent: 0, done: false, outage: outage.map(|o| (o, None)) }
    }
}

impl http_body::Body for FaultBody {
    type Data = Bytes;
    type Error = StdError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, StdError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Some((clock, pause)) = &mut this.outage {
            if pause.is_none() {
                *pause = clock.ends_if_active().map(|ends| Box::pin(tokio::time::sleep_until(ends)));
            }
            if let Some(sleep) = pause {
                ready!(sleep.as_mut().poll(cx));
                *pause = None;
            }
        }
        if let BodyFault::Stall(sleep) = &mut this.fault {
            ready!(sleep.as_mut().poll(cx));
            this.fault = BodyFault::None;
        }
        if let BodyFault::CorruptAt(at) = this.fault {
            let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
            let Some(Ok(frame)) = frame else { return Poll::Ready(frame) };
            return Poll::Ready(Some(Ok(match frame.into_data() {
                Ok(data) => {
                    let start = this.sent;
                    this.sent += data.len() as u64;
                    if (start..this.sent).contains(&at) {
                        this.fault = BodyFault::None;
                        let mut changed = BytesMut::from(&data[..]);
                        changed[usize::try_from(at - start).unwrap_or(usize::MAX)] ^= 0xFF;
                        Frame::data(changed.freeze())
                    } else {
                        Frame::data(data)
                    }
                }
                Err(frame) => frame,
            })));
        }
        let limit = match this.fault {
            BodyFault::ResetAfter(n) | BodyFault::TruncateAt(n) => n,
            _ => return Pin::new(&mut this.inner).poll_frame(cx),
        };
        if this.sent >= limit {
            this.done = true;
            return Poll::Ready(match this.fault {
                BodyFault::ResetAfter(_) => Some(Err(Box::new(InjectedReset))),
                _ => None,
            });
        }
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(mut data) => {
                    let room = limit - this.sent;
                    if data.len() as u64 > room {
                        data.truncate(usize::try_from(room).unwrap_or(usize::MAX));
                    }
                    this.sent += data.len() as u64;
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            Some(Err(e)) => Poll::Ready(Some(Err(e))),
            None => {
                this.done = true;
                Poll::Ready(match this.fault {
                    BodyFault::ResetAfter(_) => Some(Err(Box::new(InjectedReset))),
                    _ => None,
                })
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || (matches!(self.fault, BodyFault::None) && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn body_faults() {
        use http_body_util::BodyExt as _;
        let body = || Body::from(Bytes::from(vec![1u8; 100]));
        let truncated = FaultBody::new(body(), BodyFault::TruncateAt(50), None).collect().await.unwrap().to_bytes();
        assert_eq!(truncated.len(), 50);
        let reset = FaultBody::new(body(), BodyFault::ResetAfter(10), None).collect().await;
        assert!(reset.is_err());
        let reset_at_end = FaultBody::new(body(), BodyFault::ResetAfter(1000), None).collect().await;
        assert!(reset_at_end.is_err());
        let t0 = tokio::time::Instant::now();
        let stalled =
            FaultBody::new(body(), BodyFault::Stall(Box::pin(tokio::time::sleep(Duration::from_millis(50)))), None)
                .collect()
                .await
                .unwrap()
                .to_bytes();
        assert_eq!(stalled.len(), 100);
        assert!(t0.elapsed() >= Duration::from_millis(50));
        let original = vec![7u8; 100];
        let corrupted = FaultBody::new(Body::from(Bytes::from(original.clone())), BodyFault::CorruptAt(50), None)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(corrupted.len(), 100, "a corrupted body keeps its length");
        let changed: Vec<usize> = (0..100).filter(|&i| corrupted[i] != original[i]).collect();
        assert_eq!(changed, [50], "exactly the middle byte changes");
    }
}
