//! [`ShapedStream`]: an accepted TCP connection whose reads and writes wait
//! for the emulated network (see [`crate::network`] for the semantics).
//!
//! It sits directly on the socket, under hyper and under [`SpliceIo`]
//! (`crate::splice`), so request heads and bodies, answers' heads and bodies,
//! copied or spliced, are all paced by the same buckets: copied bytes through
//! its `AsyncWrite`, spliced ones by `SpliceIo` asking
//! [`ShapedStream::poll_send_allowance`] before each splice and reporting what
//! went with [`ShapedStream::sent`]. Waiting is a tokio timer per direction,
//! made once per connection and reset, never a busy loop; bytes are never
//! copied here.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::bucket::TokenBucket;
use super::Network;

/// Index of the server → client bucket in [`Network::link`] and [`Shape::buckets`].
const DOWN: usize = 0;
/// Index of the client → server bucket.
const UP: usize = 1;

/// A TCP connection, shaped when the server emulates a network.
#[derive(Debug)]
pub(crate) struct ShapedStream {
    stream: TcpStream,
    /// `None` without a network (then every call goes straight to the socket).
    shape: Option<Box<Shape>>,
}

/// One connection's share of the network.
#[derive(Debug)]
struct Shape {
    network: Arc<Network>,
    /// The connection's number, in accept order.
    number: u64,
    /// Round trips drawn so far (numbers the jitter's draws).
    waits: u64,
    /// This connection's buckets, down and up (`None`: that direction is unlimited).
    buckets: [Option<TokenBucket>; 2],
    /// Reads wait until then: the connect's round trip.
    read_from: Option<Instant>,
    /// When the last request bytes read, if none was written since, have
    /// crossed the emulated link (read, and the receiving buckets' debt paid
    /// off): the next write (an answer) waits a round trip from then.
    last_read: Option<Instant>,
    /// The answer being held back, until then.
    answer_at: Option<Instant>,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Pin<Box<Sleep>>,
}

impl From<TcpStream> for ShapedStream {
    /// An unshaped stream.
    fn from(stream: TcpStream) -> Self {
        Self { stream, shape: None }
    }
}

impl ShapedStream {
    /// `stream`, accepted just now, shaped by `network` (if given and shaping anything).
    /// Must be called inside a tokio runtime.
    pub(crate) fn new(stream: TcpStream, network: Option<&Arc<Network>>) -> Self {
        let Some(network) = network.filter(|n| !n.spec.is_unshaped()) else { return stream.into() };
        let now = Instant::now();
        let number = network.number();
        let connect = network.round_trip(number, 0);
        let spec = &network.spec;
        let shape = Shape {
            number,
            waits: 1,
            buckets: [spec.down.map(|r| TokenBucket::new(r, now)), spec.up.map(|r| TokenBucket::new(r, now))],
            read_from: (!connect.is_zero()).then(|| now + connect),
            last_read: None,
            answer_at: None,
            read_timer: Box::pin(tokio::time::sleep_until(now)),
            write_timer: Box::pin(tokio::time::sleep_until(now)),
            network: network.clone(),
        };
        Self { stream, shape: Some(Box::new(shape)) }
    }

    /// The socket.
    pub(crate) fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    /// Waits until bytes may be sent — an answer's first byte a round trip after
    /// its request, then tokens in the connection's and the link's buckets — and
    /// returns how many of `want` may go now (at least one when `want` > 0).
    /// Report what actually went with [`ShapedStream::sent`].
    pub(crate) fn poll_send_allowance(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<usize> {
        let Some(shape) = self.shape.as_deref_mut() else { return Poll::Ready(want) };
        loop {
            let now = Instant::now();
            if let Some(read) = shape.last_read.take() {
                let rtt = shape.network.round_trip(shape.number, shape.waits);
                shape.waits += 1;
                shape.answer_at = Some(read + rtt);
            }
            if let Some(at) = shape.answer_at {
                if now < at {
                    ready!(wait(&mut shape.write_timer, cx, at));
                    continue;
                }
                shape.answer_at = None;
            }
            match allowance(shape.buckets[DOWN].as_mut(), shape.network.link(DOWN), now) {
                Ok(allowed) => return Poll::Ready(want.min(allowed)),
                Err(until) => ready!(wait(&mut shape.write_timer, cx, until)),
            }
        }
    }

    /// Spends `bytes` sent from the buckets.
    pub(crate) fn sent(&mut self, bytes: usize) {
        if let Some(shape) = self.shape.as_deref_mut() {
            spend(shape.buckets[DOWN].as_mut(), shape.network.link(DOWN), bytes);
        }
    }

    /// Waits until bytes may be received: after the connect's round trip, and
    /// while neither the connection nor the link is in debt.
    fn poll_receive_allowance(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(shape) = self.shape.as_deref_mut() else { return Poll::Ready(()) };
        loop {
            let now = Instant::now();
            if let Some(from) = shape.read_from {
                if now < from {
                    ready!(wait(&mut shape.read_timer, cx, from));
                    continue;
                }
                shape.read_from = None;
            }
            match allowance(shape.buckets[UP].as_mut(), shape.network.link(UP), now) {
                Ok(_) => return Poll::Ready(()),
                Err(until) => ready!(wait(&mut shape.read_timer, cx, until)),
            }
        }
    }

    /// Spends `bytes` received and notes when they will have crossed the link.
    fn received(&mut self, bytes: usize) {
        if let Some(shape) = self.shape.as_deref_mut() {
            if bytes > 0 {
                let link = shape.network.link(UP);
                spend(shape.buckets[UP].as_mut(), link, bytes);
                let now = Instant::now();
                let own = shape.buckets[UP].as_mut().map_or(now, |b| b.paid_at(now));
                let shared = link.map_or(now, |l| lock(l).paid_at(now));
                shape.last_read = Some(own.max(shared));
            }
        }
    }
}

impl Network {
    /// The link's bucket of `direction`, if there is a link.
    fn link(&self, direction: usize) -> Option<&Mutex<TokenBucket>> {
        self.link.as_ref().map(|link| &link[direction])
    }
}

/// What the connection's `bucket` and the `link` allow now: the smaller grant,
/// or the later time either is out of debt.
fn allowance(
    bucket: Option<&mut TokenBucket>,
    link: Option<&Mutex<TokenBucket>>,
    now: Instant,
) -> Result<usize, Instant> {
    let own = bucket.map_or(Ok(usize::MAX), |b| b.grant(now));
    let shared =
        link.map_or(Ok(usize::MAX), |l| l.lock().unwrap_or_else(std::sync::PoisonError::into_inner).grant(now));
    match (own, shared) {
        (Ok(a), Ok(b)) => Ok(a.min(b)),
        (Err(a), Err(b)) => Err(a.max(b)),
        (Err(until), Ok(_)) | (Ok(_), Err(until)) => Err(until),
    }
}

fn spend(bucket: Option<&mut TokenBucket>, link: Option<&Mutex<TokenBucket>>, bytes: usize) {
    if let Some(bucket) = bucket {
        bucket.take(bytes);
    }
    if let Some(link) = link {
        lock(link).take(bytes);
    }
}

/// The link's bucket (a panic elsewhere cannot leave it inconsistent: every
/// update is one assignment).
fn lock(link: &Mutex<TokenBucket>) -> std::sync::MutexGuard<'_, TokenBucket> {
    link.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Polls `timer` set to `until`.
fn wait(timer: &mut Pin<Box<Sleep>>, cx: &mut Context<'_>, until: Instant) -> Poll<()> {
    if timer.deadline() != until {
        timer.as_mut().reset(until);
    }
    timer.as_mut().poll(cx)
}

impl AsyncRead for ShapedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_receive_allowance(cx));
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        this.received(buf.filled().len() - before);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ShapedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let allowed = ready!(this.poll_send_allowance(cx, buf.len()));
        let written = ready!(Pin::new(&mut this.stream).poll_write(cx, &buf[..allowed]))?;
        this.sent(written);
        Poll::Ready(Ok(written))
    }

    /// Writes the leading buffers that fit the allowance in one `writev`, or
    /// the allowed start of the first one.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let total = bufs.iter().map(|b| b.len()).sum();
        let allowed = ready!(this.poll_send_allowance(cx, total));
        let stream = Pin::new(&mut this.stream);
        let written = if allowed >= total {
            ready!(stream.poll_write_vectored(cx, bufs))?
        } else {
            let mut fit = 0;
            let mut len = 0;
            while fit < bufs.len() && len + bufs[fit].len() <= allowed {
                len += bufs[fit].len();
                fit += 1;
            }
            match fit {
                0 => ready!(stream.poll_write(cx, &bufs[0][..allowed]))?,
                fit => ready!(stream.poll_write_vectored(cx, &bufs[..fit]))?,
            }
        };
        this.sent(written);
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
