//! The request log: one [`RequestRecord`] per request the server answered, with the bytes its
//! body and its answer's body carried, for tests and measurements ("which ranges were fetched,
//! which parts sent, how many bytes").
//!
//! Off by default. [`ServerConfig::with_request_log`](crate::ServerConfig::with_request_log)
//! keeps the records in memory ([`RunningServer::request_log`](crate::RunningServer::request_log));
//! [`ServerConfig::with_request_log_file`](crate::ServerConfig::with_request_log_file) appends
//! them to a file as JSON lines (`s3io serve --log-requests FILE`), written by a thread of its
//! own so that no runtime thread blocks on the file.
//!
//! A record is complete when the answer's body is: the response body is wrapped in a
//! [`LoggedBody`] that counts the body bytes handed to hyper and emits the record when it is
//! dropped — at its end, or when the connection closes mid-body (then `response_bytes` is what
//! was handed over before the cut: at most what the client received plus hyper's buffer). The
//! request body's bytes are what its headers announce (`x-amz-decoded-content-length` for
//! aws-chunked bodies, else `Content-Length`).

use std::io::Write as _;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Buf as _;
use http_body::{Body, Frame, SizeHint};

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: String,
    /// The request path (`/bucket/key`, percent-encoded as sent).
    pub path: String,
    /// The query string, empty if none.
    pub query: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
    /// The answer's status code.
    pub status: u16,
    /// Bytes of the request body (as its headers announce it).
    pub request_bytes: u64,
    /// Bytes of the answer's body handed to the connection.
    pub response_bytes: u64,
    /// The `x-amz-request-payer` header (`requester` for requester-pays buckets), if any. The
    /// server accepts it on every request and charges nobody.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_payer: Option<String>,
}

/// Where records go.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    memory: Option<Mutex<Vec<RequestRecord>>>,
    file: Option<Mutex<std::sync::mpsc::Sender<RequestRecord>>>,
}

impl RequestLog {
    /// A log keeping records in memory if `memory`, and appending them to `file` if given.
    pub(crate) fn new(memory: bool, file: Option<&Path>) -> std::io::Result<Option<Arc<Self>>> {
        if !memory && file.is_none() {
            return Ok(None);
        }
        let file = match file {
            None => None,
            Some(path) => {
                let mut out =
                    std::io::BufWriter::new(std::fs::OpenOptions::new().create(true).append(true).open(path)?);
                let (sender, receiver) = std::sync::mpsc::channel::<RequestRecord>();
                std::thread::Builder::new().name("s3io-request-log".into()).spawn(move || {
                    let mut next = receiver.recv().ok();
                    while let Some(record) = next {
                        if let Err(e) = write_line(&mut out, &record) {
                            tracing::error!(error = %e, "cannot write the request log: it stops");
                            return;
                        }
                        // Flushed whenever the log is idle, so a reader sees whole lines soon.
                        next = match receiver.try_recv() {
                            Ok(record) => Some(record),
                            Err(std::sync::mpsc::TryRecvError::Empty) => {
                                if out.flush().is_err() {
                                    return;
                                }
                                receiver.recv().ok()
                            }
                            Err(std::sync::mpsc::TryRecvError::Disconnected) => None,
                        };
                    }
                    let _ = out.flush();
                })?;
                Some(Mutex::new(sender))
            }
        };
        Ok(Some(Arc::new(Self { memory: memory.then(Mutex::default), file })))
    }

    fn push(&self, record: RequestRecord) {
        if let Some(file) = &self.file {
            let _ = file.lock().unwrap_or_else(|p| p.into_inner()).send(record.clone());
        }
        if let Some(memory) = &self.memory {
            memory.lock().unwrap_or_else(|p| p.into_inner()).push(record);
        }
    }

    /// The records kept in memory so far.
    pub(crate) fn records(&self) -> Vec<RequestRecord> {
        self.memory.as_ref().map(|m| m.lock().unwrap_or_else(|p| p.into_inner()).clone()).unwrap_or_default()
    }
}

fn write_line(out: &mut impl std::io::Write, record: &RequestRecord) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, record).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// What a request says of itself, before its answer.
pub(crate) fn begin<B>(request: &http::Request<B>) -> RequestRecord {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let request_bytes = header("x-amz-decoded-content-length")
        .or_else(|| header("content-length"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    RequestRecord {
        method: request.method().as_str().to_owned(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or_default().to_owned(),
        range: header("range").map(str::to_owned),
        status: 0,
        request_bytes,
        response_bytes: 0,
        request_payer: header("x-amz-request-payer").map(str::to_owned),
    }
}

/// A response body that counts its bytes and logs the request when dropped.
pub(crate) struct LoggedBody<B> {
    inner: B,
    /// The record and its log, while logging.
    record: Option<(RequestRecord, Arc<RequestLog>)>,
}

impl<B> LoggedBody<B> {
    /// `inner`, logged as `record` (with the answer's `status`) into `log` if given.
    pub(crate) fn new(inner: B, log: Option<(RequestRecord, Arc<RequestLog>)>, status: u16) -> Self {
        let record = log.map(|(mut record, log)| {
            record.status = status;
            (record, log)
        });
        Self { inner, record }
    }
}

impl<B> Drop for LoggedBody<B> {
    fn drop(&mut self) {
        if let Some((record, log)) = self.record.take() {
            log.push(record);
        }
    }
}

impl<B: Body + Unpin> Body for LoggedBody<B>
where
    B::Data: bytes::Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let (Some(data), Some((record, _))) = (frame.data_ref(), self.record.as_mut()) {
                record.response_bytes += data.remaining() as u64;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
