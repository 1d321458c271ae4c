//! Zero-copy GET bodies: object bytes go from the page cache to the socket
//! through a pipe (`splice(2)`), never through user memory.
//!
//! A plain body costs two copies per byte on the server: `pread` from the page
//! cache into a buffer, then `write` from the buffer into the socket. nginx's
//! `sendfile` makes neither. This module does what `sendfile` does, in two
//! halves that keep disk reads off the async threads:
//!
//! 1. [`SplicedFile`], the response body, splices the object's bytes from
//!    the file into the connection's pipe, one chunk at a time on the
//!    blocking pool (the pipe then holds references to page-cache pages; a
//!    page-cache miss blocks that task, not the reactor). A fill only takes
//!    the room the pipe has, so no thread waits for a slow client: with the
//!    pipe full the body waits, as a future, until [`SpliceIo`] drains it.
//! 2. For each announced chunk the body yields a *placeholder*: a slice of the
//!    static [`PLACEHOLDER`] as long as the chunk. hyper queues it like any
//!    body bytes (Content-Length framing, no copy: [`SpliceIo`] asks for
//!    vectored writes, so hyper never flattens bodies into its own buffer).
//! 3. [`SpliceIo`], the connection's I/O, recognises a placeholder by its
//!    address and, instead of writing its (zero) bytes, splices as many bytes
//!    out of the pipe into the socket — non-blocking, waiting on the socket's
//!    readiness like any write.
//!
//! The pipe is first-in first-out and so is hyper's write queue, so bytes leave
//! in the order they were announced. An HTTP/1 connection sends one response
//! at a time, and a body announces a chunk only after its bytes are in the
//! pipe, so the pipe always holds at least what the queued placeholders stand
//! for; [`SpliceIo`] checks that count (`in_pipe`) and fails the connection
//! rather than ever send a placeholder's zeros.
//!
//! Only connections served through [`SpliceIo`] carry a [`SpliceLink`] in
//! their requests' extensions, and only a request with one gets a
//! [`SplicedFile`] body; anything else (another transport, another OS) gets
//! the copying body. A file system that cannot splice turns the path off for
//! the rest of the process after its first failure.

use std::fs::File;
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures::task::AtomicWaker;
use futures::Stream;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::rt::TokioIo;
use rustix::fd::OwnedFd;
use rustix::pipe::SpliceFlags;
use s3s::stream::{ByteStream, RemainingLength};
use s3s::StdError;
use tokio::io::Interest;
use tokio::task::JoinHandle;

use crate::network::ShapedStream;

/// The most bytes one announced chunk stands for (and so the placeholder's size).
const MAX_CHUNK: usize = 512 * 1024;

/// The pipe capacity asked for: two chunks, so one can be filled while the
/// other drains. Linux lets an unprivileged process have 1 MiB
/// (`/proc/sys/fs/pipe-max-size`); when refused the default (64 KiB) is used.
const PIPE_CAPACITY: usize = 2 * MAX_CHUNK;

/// A connection whose pipe cannot be made at least this large copies instead:
/// with a small pipe the hand-offs per byte would cost more than the copy.
/// (Linux gives an unprivileged user's pipes 1 MiB until their total passes
/// `/proc/sys/fs/pipe-user-pages-soft`, 64 MiB by default, then one page each.)
const MIN_PIPE_CAPACITY: usize = 256 * 1024;

/// The page size fills align to (a pipe slot holds at most one page).
const PAGE: usize = 4096;

/// Bodies shorter than this are read into memory as usual: for them the
/// blocking task and the pipe cost more than the copy they save.
pub(crate) const MIN_SPLICE_LEN: u64 = 256 * 1024;

/// What a placeholder points into. Its bytes are never read: [`SpliceIo`]
/// sends pipe contents in their place.
static PLACEHOLDER: [u8; MAX_CHUNK] = [0; MAX_CHUNK];

/// Cleared after a file system refused to splice, so later bodies copy instead.
static SPLICE_WORKS: AtomicBool = AtomicBool::new(true);

/// Whether `bytes` is (part of) a placeholder.
fn is_placeholder(bytes: &[u8]) -> bool {
    let start = PLACEHOLDER.as_ptr() as usize;
    let at = bytes.as_ptr() as usize;
    !bytes.is_empty() && at >= start && at < start + PLACEHOLDER.len()
}

/// One connection's pipe, made on its first spliced body and kept for the
/// connection's life.
struct Pipe {
    /// Drained into the socket by [`SpliceIo`]; owned only here.
    read: OwnedFd,
    /// Filled by the bodies' blocking tasks, never waiting for room.
    write: Arc<OwnedFd>,
    /// The pipe's capacity in bytes.
    capacity: usize,
    /// Bytes in the pipe: added by a fill task after its splice in, taken by
    /// [`SpliceIo`] after a splice out.
    in_pipe: Arc<AtomicUsize>,
    /// Splices out so far; a fill that found the pipe full retries when this moved.
    drained: AtomicU64,
    /// The body waiting for room in the pipe; woken after each splice out.
    room: AtomicWaker,
    /// Set when a body was dropped before all its bytes went through the pipe:
    /// what is left in it belongs to no response, so the connection must end.
    poisoned: AtomicBool,
}

impl Pipe {
    /// A pipe of [`PIPE_CAPACITY`] (or what Linux allows), `None` when that
    /// is under [`MIN_PIPE_CAPACITY`].
    fn new() -> io::Result<Option<Self>> {
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        let capacity = match rustix::pipe::fcntl_setpipe_size(&write, PIPE_CAPACITY) {
            Ok(capacity) => capacity,
            Err(_) => rustix::pipe::fcntl_getpipe_size(&write)?,
        };
        if capacity < MIN_PIPE_CAPACITY {
            return Ok(None);
        }
        Ok(Some(Self {
            read,
            write: Arc::new(write),
            capacity,
            in_pipe: Arc::new(AtomicUsize::new(0)),
            drained: AtomicU64::new(0),
            room: AtomicWaker::new(),
            poisoned: AtomicBool::new(false),
        }))
    }

    /// Bytes per fill: half the pipe, so one fill can run while the other
    /// half drains.
    fn chunk(&self) -> usize {
        (self.capacity / 2).clamp(PAGE, MAX_CHUNK)
    }

    /// Bytes the pipe can take now (fewer when its slots hold partial pages).
    fn room(&self) -> usize {
        self.capacity.saturating_sub(self.in_pipe.load(Ordering::Acquire))
    }
}

/// The link between a connection served through [`SpliceIo`] and the bodies
/// of its responses; put into each request's extensions.
#[derive(Clone, Default)]
pub(crate) struct SpliceLink(Arc<OnceLock<Option<Pipe>>>);

impl SpliceLink {
    /// The connection's pipe, made on first use; `None` when none could be
    /// made (the connection's bodies are copied then).
    fn pipe(&self) -> Option<&Pipe> {
        self.0
            .get_or_init(|| {
                Pipe::new().unwrap_or_else(|e| {
                    tracing::debug!(error = %e, "no pipe for spliced bodies; copying");
                    None
                })
            })
            .as_ref()
    }

    /// The pipe, if one was made.
    fn made(&self) -> Option<&Pipe> {
        self.0.get().and_then(Option::as_ref)
    }

    /// The pipe of a link a [`SplicedFile`] was started on.
    fn made_pipe(&self) -> &Pipe {
        self.made().expect("made by SplicedFile::start")
    }
}

impl std::fmt::Debug for SpliceLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpliceLink").field("pipe", &self.made().is_some()).finish()
    }
}

/// A connection's I/O: a TCP stream that sends placeholders' pipe bytes.
///
/// Under an emulated network the stream is shaped, and spliced bytes wait for
/// its allowance like copied ones (see [`crate::network`]).
pub(crate) struct SpliceIo {
    io: TokioIo<ShapedStream>,
    link: SpliceLink,
}

impl SpliceIo {
    /// Wraps `stream`; the returned link goes into every request of the connection.
    pub(crate) fn new(stream: impl Into<ShapedStream>) -> (Self, SpliceLink) {
        let link = SpliceLink::default();
        (Self { io: TokioIo::new(stream.into()), link: link.clone() }, link)
    }

    /// Splices up to `len` bytes from the pipe into the socket (fewer when the
    /// emulated network allows fewer now).
    fn poll_splice_out(&mut self, cx: &mut Context<'_>, len: usize) -> Poll<io::Result<usize>> {
        let pipe = self.link.made().ok_or_else(|| io::Error::other("spliced body chunk but no pipe"))?;
        if pipe.poisoned.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::Error::other("a spliced body ended early; closing the connection")));
        }
        let available = pipe.in_pipe.load(Ordering::Acquire);
        if available == 0 {
            // Never send the placeholder's zeros; and an empty pipe would make
            // the splice below fail with EAGAIN as if the socket were full.
            return Poll::Ready(Err(io::Error::other("spliced body chunk with an empty pipe")));
        }
        let shaped = self.io.inner_mut();
        let len = ready!(shaped.poll_send_allowance(cx, len.min(available)));
        let stream = shaped.get_ref();
        loop {
            ready!(stream.poll_write_ready(cx))?;
            let spliced = stream.try_io(Interest::WRITABLE, || {
                rustix::pipe::splice(&pipe.read, None, stream, None, len, SpliceFlags::NONBLOCK)
                    .map_err(io::Error::from)
            });
            match spliced {
                Ok(n) => {
                    shaped.sent(n);
                    pipe.in_pipe.fetch_sub(n, Ordering::AcqRel);
                    pipe.drained.fetch_add(1, Ordering::AcqRel);
                    pipe.room.wake();
                    return Poll::Ready(Ok(n));
                }
                // `try_io` cleared the write readiness: wait for the next.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl Read for SpliceIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl Write for SpliceIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if is_placeholder(buf) {
            return this.poll_splice_out(cx, buf.len());
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    /// Writes the leading run of ordinary buffers with one `writev`, or, when
    /// the first buffer is a placeholder, splices its bytes.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match bufs.iter().position(|b| is_placeholder(b)) {
            Some(0) => this.poll_splice_out(cx, bufs[0].len()),
            Some(k) => Pin::new(&mut this.io).poll_write_vectored(cx, &bufs[..k]),
            None => Pin::new(&mut this.io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        // Also what keeps hyper from copying bodies (placeholders) into its buffer.
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A response body of `len` bytes of a file from `offset`, spliced through the
/// connection's pipe; see the module documentation.
///
/// One fill at a time runs on the blocking pool, and only into room the pipe
/// has, so no thread ever waits on a slow client: when the pipe is full the
/// body waits (as a future) for [`SpliceIo`] to drain it.
pub(crate) struct SplicedFile {
    link: SpliceLink,
    /// The file, here between fills and in the fill task during one.
    file: Option<File>,
    /// Where the next fill starts.
    offset: u64,
    /// Bytes not yet announced.
    remaining: u64,
    fill: Option<JoinHandle<(File, io::Result<usize>)>>,
    /// The pipe's drain count when the fill in flight started.
    drained_at_fill: u64,
    /// Whether a fill ever ran (so bytes of ours may be in the pipe).
    started: bool,
}

impl SplicedFile {
    /// Starts splicing, or gives the file back when this connection or file
    /// system cannot splice (the caller then copies). Must be called inside a
    /// tokio runtime.
    pub(crate) fn start(link: &SpliceLink, file: File, offset: u64, len: u64) -> Result<Self, File> {
        if !SPLICE_WORKS.load(Ordering::Relaxed) || len == 0 {
            return Err(file);
        }
        if link.pipe().is_none() {
            return Err(file);
        }
        Ok(Self {
            link: link.clone(),
            file: Some(file),
            offset,
            remaining: len,
            fill: None,
            drained_at_fill: 0,
            started: false,
        })
    }
}

/// Splices up to `len` bytes of `file` from `offset` into the pipe without
/// waiting for room (0 when the pipe was full). Blocking: the file read may
/// wait for the disk.
fn fill_pipe(file: &File, offset: u64, len: usize, pipe: &OwnedFd, in_pipe: &AtomicUsize) -> io::Result<usize> {
    let mut at = offset;
    loop {
        return match rustix::pipe::splice(file, Some(&mut at), pipe, None, len, SpliceFlags::NONBLOCK) {
            Ok(0) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "object file is shorter than its recorded size")),
            Ok(n) => {
                in_pipe.fetch_add(n, Ordering::AcqRel);
                Ok(n)
            }
            Err(rustix::io::Errno::AGAIN) => Ok(0),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                if matches!(e, rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) {
                    SPLICE_WORKS.store(false, Ordering::Relaxed);
                    tracing::warn!(error = %e, "this file system cannot splice; GET bodies are copied from now on");
                }
                Err(e.into())
            }
        };
    }
}

impl Stream for SplicedFile {
    type Item = Result<Bytes, StdError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(fill) = this.fill.as_mut() {
                let joined = ready!(Pin::new(fill).poll(cx));
                this.fill = None;
                let (file, moved) = match joined {
                    Ok((file, moved)) => (file, moved),
                    Err(e) => return Poll::Ready(Some(Err(Box::new(e)))),
                };
                this.file = Some(file);
                match moved {
                    Ok(0) => {
                        // The pipe had no free slot after all: wait for a drain.
                        let pipe = this.link.made_pipe();
                        pipe.room.register(cx.waker());
                        if pipe.drained.load(Ordering::Acquire) == this.drained_at_fill {
                            if pipe.in_pipe.load(Ordering::Acquire) == 0 {
                                // Nothing would ever drain it: fail rather than hang.
                                let e = io::Error::other("an empty pipe refused a splice");
                                return Poll::Ready(Some(Err(Box::new(e))));
                            }
                            return Poll::Pending;
                        }
                    }
                    Ok(n) => {
                        this.offset += n as u64;
                        this.remaining -= n as u64;
                        return Poll::Ready(Some(Ok(Bytes::from_static(&PLACEHOLDER[..n]))));
                    }
                    Err(e) => return Poll::Ready(Some(Err(Box::new(e)))),
                }
            }
            if this.remaining == 0 {
                return Poll::Ready(None);
            }
            let pipe = this.link.made_pipe();
            // A fill that is not the last ends on a page boundary, so the
            // pipe's slots (one page each) hold whole pages after the first.
            let want = match usize::try_from(this.remaining) {
                Ok(left) if left <= pipe.chunk() => left,
                _ => pipe.chunk() - (this.offset % PAGE as u64) as usize,
            };
            let drained = pipe.drained.load(Ordering::Acquire);
            if pipe.room() < want {
                pipe.room.register(cx.waker());
                if pipe.room() < want {
                    return Poll::Pending;
                }
            }
            this.drained_at_fill = drained;
            this.started = true;
            let (write, in_pipe) = (pipe.write.clone(), pipe.in_pipe.clone());
            let file = this.file.take().expect("the file is here between fills");
            let offset = this.offset;
            this.fill = Some(tokio::task::spawn_blocking(move || {
                let moved = fill_pipe(&file, offset, want, &write, &in_pipe);
                (file, moved)
            }));
        }
    }
}

impl Drop for SplicedFile {
    fn drop(&mut self) {
        // Unsent bytes of ours in the pipe (or on their way) would go out as
        // the next response's.
        if self.remaining > 0 && self.started {
            if let Some(pipe) = self.link.made() {
                pipe.poisoned.store(true, Ordering::Release);
            }
        }
    }
}

impl ByteStream for SplicedFile {
    fn remaining_length(&self) -> RemainingLength {
        RemainingLength::new_exact(usize::try_from(self.remaining).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt as _;
    use http_body_util::StreamBody;
    use hyper::body::Frame;
    use std::io::Write as _;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::{TcpListener, TcpStream};

    /// A file of `len` bytes, none of them zero (a placeholder's zeros would show).
    fn object(len: usize) -> (std::fs::File, Vec<u8>) {
        let data: Vec<u8> = (0..len).map(|i| (i % 251 + 1) as u8).collect();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&data).unwrap();
        (file, data)
    }

    /// Serves one connection with hyper over [`SpliceIo`]: `GET /<offset>/<len>`
    /// answers that span of `file` as a [`SplicedFile`].
    async fn serve_one(listener: TcpListener, file: Arc<std::fs::File>) {
        let (socket, _) = listener.accept().await.unwrap();
        let (io, link) = SpliceIo::new(socket);
        let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let mut parts = req.uri().path().trim_start_matches('/').split('/');
            let offset: u64 = parts.next().unwrap().parse().unwrap();
            let len: u64 = parts.next().unwrap().parse().unwrap();
            let file = file.try_clone().unwrap();
            let body = match SplicedFile::start(&link, file, offset, len) {
                Ok(body) => body,
                Err(_) => panic!("splice refused"),
            };
            let body = StreamBody::new(body.map_ok(Frame::data));
            async move {
                http::Response::builder().header("content-length", len.to_string()).body(body).map_err(io::Error::other)
            }
        });
        hyper::server::conn::http1::Builder::new().writev(true).serve_connection(io, service).await.unwrap();
    }

    /// Starts [`serve_one`] on `file` and connects to it.
    async fn serve_and_connect(file: std::fs::File) -> (tokio::task::JoinHandle<()>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve_one(listener, Arc::new(file)));
        (server, TcpStream::connect(addr).await.unwrap())
    }

    /// Reads one response with a Content-Length body from `stream`, after `buf`'s leftovers.
    async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Vec<u8> {
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed inside a response head");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .unwrap();
        buf.drain(..head_end);
        while buf.len() < len {
            let mut chunk = vec![0u8; 1 << 16];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed inside a body");
            buf.extend_from_slice(&chunk[..n]);
        }
        buf.drain(..len).collect()
    }

    #[tokio::test]
    async fn pipelined_spliced_bodies_arrive_whole_and_in_order() {
        let (file, data) = object(3 * MAX_CHUNK + 12_345);
        let (server, mut client) = serve_and_connect(file).await;
        // Unaligned spans; several chunks each; both requests sent before
        // either answer, so the second body's bytes queue behind the first's.
        let spans = [(7u64, 2 * MAX_CHUNK as u64 + 999), (4097, MAX_CHUNK as u64 * 3)];
        let mut requests = String::new();
        for (offset, len) in spans {
            requests.push_str(&format!("GET /{offset}/{len} HTTP/1.1\r\nhost: t\r\n\r\n"));
        }
        client.write_all(requests.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        for (offset, len) in spans {
            let body = read_response(&mut client, &mut buf).await;
            assert_eq!(body.len() as u64, len);
            assert!(body == data[offset as usize..(offset + len) as usize], "span {offset}+{len} differs");
        }
        drop(client);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_client_that_reads_slowly_gets_every_byte() {
        let (file, data) = object(4 * MAX_CHUNK + 1);
        let (server, mut client) = serve_and_connect(file).await;
        let len = data.len() - 1;
        client.write_all(format!("GET /1/{len} HTTP/1.1\r\nhost: t\r\n\r\n").as_bytes()).await.unwrap();
        // The socket buffers and the pipe fill up; the body waits for room.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let body = read_response(&mut client, &mut Vec::new()).await;
        assert!(body == data[1..], "body differs");
        drop(client);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_body_dropped_early_poisons_its_connection() {
        let (file, _) = object(2 * MAX_CHUNK);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (socket, _) = listener.accept().await.unwrap();
        let (mut io, link) = SpliceIo::new(socket);
        let Ok(mut body) = SplicedFile::start(&link, file, 0, 2 * MAX_CHUNK as u64) else { panic!("splice refused") };
        let first = body.try_next().await.unwrap().unwrap();
        assert!(is_placeholder(&first));
        drop(body);
        // Its bytes are in the pipe but belong to no response any more.
        let sent = futures::future::poll_fn(|cx| Pin::new(&mut io).poll_write(cx, &first)).await;
        assert!(sent.is_err());
        drop(client);
    }

    #[tokio::test]
    async fn a_placeholder_without_pipe_bytes_fails_the_write() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (socket, _) = listener.accept().await.unwrap();
        let (mut io, link) = SpliceIo::new(socket);
        async fn write(io: &mut SpliceIo, buf: &[u8]) -> io::Result<usize> {
            futures::future::poll_fn(|cx| Pin::new(&mut *io).poll_write(cx, buf)).await
        }
        // No pipe yet, then a pipe holding nothing: both refuse rather than send zeros.
        assert!(write(&mut io, &PLACEHOLDER[..100]).await.is_err());
        assert!(link.pipe().is_some());
        assert!(write(&mut io, &PLACEHOLDER[..100]).await.is_err());
        // Ordinary bytes still go out.
        assert_eq!(write(&mut io, b"abc").await.unwrap(), 3);
        drop(client);
    }

    #[test]
    fn placeholders_are_told_by_address() {
        assert!(is_placeholder(&PLACEHOLDER[..1]));
        assert!(is_placeholder(&PLACEHOLDER[MAX_CHUNK - 1..]));
        assert!(!is_placeholder(&PLACEHOLDER[..0]));
        assert!(!is_placeholder(&[0u8; 16]));
        assert!(!is_placeholder(b"not a placeholder"));
    }
}
