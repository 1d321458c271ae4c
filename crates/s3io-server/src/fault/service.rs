//! [`FaultService`]: the S3 service wrapped so that each request gets the fault its number
//! draws — an S3 XML error answered instead of the operation, a connection dropped, a request
//! body left unread, or a body fault handed to [`FaultBody`] — and waits out or is refused by
//! an outage under way; see "What each fault does" in the [module documentation](super).

use std::sync::Arc;

use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use s3s::service::S3Service;
use s3s::{Body, HttpError};

use super::body::{BodyFault, FaultBody};
use super::decision::Fault;
use super::outage::{OutageClock, OutageMode};
use super::spec::FaultSpec;
use super::stats::FaultCounters;

/// The S3 service with faults injected per [`FaultSpec`] (none without a spec).
#[derive(Clone)]
pub(crate) struct FaultService {
    inner: S3Service,
    spec: Option<Arc<FaultSpec>>,
    counters: Arc<FaultCounters>,
    outage: Option<Arc<OutageClock>>,
}

impl FaultService {
    /// The service; an outage in `spec` is timed from `epoch`, the server's start.
    pub(crate) fn new(
        inner: S3Service,
        spec: Option<FaultSpec>,
        counters: Arc<FaultCounters>,
        epoch: tokio::time::Instant,
    ) -> Self {
        let outage = spec.as_ref().and_then(|s| s.outage).map(|o| Arc::new(OutageClock::new(o, epoch)));
        Self { inner, spec: spec.map(Arc::new), counters, outage }
    }

    /// The spec's outage, which the accept loop also acts on.
    pub(crate) fn outage(&self) -> Option<Arc<OutageClock>> {
        self.outage.clone()
    }
}

/// The error hyper gets to abort a connection.
#[derive(Debug, thiserror::Error)]
#[error("injected connection reset")]
pub(super) struct InjectedReset;

/// The error hyper gets to drop a connection during an outage.
#[derive(Debug, thiserror::Error)]
#[error("injected outage: connection closed")]
struct InjectedOutage;

impl hyper::service::Service<Request<Incoming>> for FaultService {
    type Response = Response<FaultBody>;
    type Error = HttpError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let n = self.counters.next_request();
        let outage_ends = self.outage.as_ref().and_then(|o| o.on_request(n));
        let fault = self.spec.as_ref().map_or(Fault::Pass, |s| s.decide(n, req.method()));
        if outage_ends.is_some() {
            // Counted here: a `refuse` outage may close the connection before the future runs.
            self.counters.count_outage();
        }
        let this = self.clone();
        Box::pin(async move {
            if let Some(ends) = outage_ends {
                match this.outage.as_ref().map(|o| o.mode()) {
                    Some(OutageMode::Drop) => tokio::time::sleep_until(ends).await,
                    _ => return Err(HttpError::new(Box::new(InjectedOutage))),
                }
            }
            this.serve(req, fault, n).await
        })
    }
}

impl FaultService {
    async fn serve(self, mut req: Request<Incoming>, fault: Fault, n: u64) -> Result<Response<FaultBody>, HttpError> {
        let spec = self.spec.clone().unwrap_or_default();
        let is_get = req.method() == Method::GET;
        match fault {
            Fault::SlowDown | Fault::InternalError => {
                self.counters.count(fault);
                let (_, mut body) = req.into_parts();
                while let Some(frame) = body.frame().await {
                    if frame.is_err() {
                        break;
                    }
                }
                let resp = error_response(fault, n, spec.retry_after);
                return Ok(resp.map(|b| FaultBody::new(b, BodyFault::None, None)));
            }
            Fault::Reset if !is_get => {
                self.counters.count(fault);
                return Err(HttpError::new(Box::new(InjectedReset)));
            }
            Fault::StopReading => {
                self.counters.count(fault);
                let (_, mut body) = req.into_parts();
                let mut read = 0;
                while read < spec.stop_reading_after {
                    match body.frame().await {
                        Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len() as u64),
                        _ => break,
                    }
                }
                // The fault under test: the body is left unread for this long.
                tokio::time::sleep(spec.stall_for).await;
                return Err(HttpError::new(Box::new(InjectedReset)));
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Fault::Corrupt => {
                // A spliced body never passes through user memory: serve this one by copying.
                req.extensions_mut().remove::<crate::splice::SpliceLink>();
            }
            _ => {}
        }
        let _ = &mut req;
        let resp = match req.body().size_hint().exact() {
            // A small body goes through a handle this service keeps, so that what the S3 service
            // left unread is read before the answer goes out (see `KeptBody`).
            Some(len) if len > 0 && len <= KEPT_BODY_MAX => {
                let (parts, body) = req.into_parts();
                let kept = KeptBody(Arc::new(std::sync::Mutex::new(body)));
                let resp = self.inner.call(Request::from_parts(parts, Body::http_body(kept.clone()))).await?;
                let _ = tokio::time::timeout(KEPT_BODY_WAIT, kept.collect()).await;
                resp
            }
            _ => hyper::service::Service::call(&self.inner, req).await?,
        };
        if let Some(ends) = self.dropping_until() {
            tokio::time::sleep_until(ends).await;
        }
        let len = resp.body().size_hint().exact();
        let body_fault = match fault {
            Fault::Reset => match len {
                Some(0) => {
                    self.counters.count(fault);
                    return Err(HttpError::new(Box::new(InjectedReset)));
                }
                _ => BodyFault::ResetAfter(spec.reset_after.min(len.map_or(u64::MAX, |l| l - 1))),
            },
            Fault::Stall if len == Some(0) => {
                self.counters.count(fault);
                tokio::time::sleep(spec.stall_for).await;
                BodyFault::None
            }
            Fault::Stall => BodyFault::Stall(Box::pin(tokio::time::sleep(spec.stall_for))),
            Fault::Truncate => match len {
                Some(l) if l > 0 => BodyFault::TruncateAt(l / 2),
                _ => BodyFault::None,
            },
            Fault::Corrupt => match len {
                Some(0) => BodyFault::None,
                _ => BodyFault::CorruptAt(len.map_or(0, |l| l / 2)),
            },
            _ => BodyFault::None,
        };
        if !matches!(body_fault, BodyFault::None) {
            self.counters.count(fault);
        }
        let outage = self.outage.filter(|o| o.mode() == OutageMode::Drop);
        Ok(resp.map(|b| FaultBody::new(b, body_fault, outage)))
    }

    /// When a `drop` outage under way ends.
    fn dropping_until(&self) -> Option<tokio::time::Instant> {
        self.outage.as_ref().filter(|o| o.mode() == OutageMode::Drop).and_then(|o| o.ends_if_active())
    }
}

fn error_response(fault: Fault, n: u64, retry_after: Option<u64>) -> Response<Body> {
    let (status, code, message) = match fault {
        Fault::SlowDown => (StatusCode::SERVICE_UNAVAILABLE, "SlowDown", "Please reduce your request rate."),
        _ => {
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "We encountered an internal error. Please try again.")
        }
    };
    let request_id = format!("S3IOFAULT{n:016X}");
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    );
    let mut resp = Response::new(Body::from(xml));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/xml"));
    if let Ok(v) = http::HeaderValue::from_str(&request_id) {
        headers.insert("x-amz-request-id", v);
    }
    if let Some(seconds) = retry_after {
        headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_is_s3_xml() {
        let resp = error_response(Fault::SlowDown, 3, Some(2));
        assert_eq!(resp.headers()[http::header::RETRY_AFTER], "2");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(resp.headers().contains_key("x-amz-request-id"));
    }
}

/// Request bodies up to this size are read to their end before the answer goes out, whether the
/// S3 service read them or answered first.
const KEPT_BODY_MAX: u64 = 1024 * 1024;

/// How long the rest of such a body may take to arrive.
const KEPT_BODY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A small request body the S3 service reads through a shared handle, which this service keeps:
/// whatever the S3 service left unread (it answers some requests before their body, as the
/// region check does with 301) is read before the answer is sent. A server that closes a
/// connection with request bytes unread makes the kernel answer them with a reset, and a reset
/// can take the answer with it: the client then sees the connection die and sends the request
/// again (two 301s for one PUT, now and then, on a loaded machine). Larger bodies are not worth
/// reading for nothing: their connection closes, as the client's drain-or-close rule does.
#[derive(Clone)]
struct KeptBody(Arc<std::sync::Mutex<Incoming>>);

impl http_body::Body for KeptBody {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let mut body = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::pin::Pin::new(&mut *body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).size_hint()
    }
}
