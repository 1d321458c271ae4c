//! Fault injection: deterministic, seeded failures wrapped around the S3 service.
//!
//! A [`FaultSpec`] is parsed from a comma-separated list of `name=value` items:
//!
//! ```text
//! spec        = item *( "," item )
//! item        = "seed=" u64                 ; default 0
//!             / "503=" probability          ; answer 503 SlowDown
//!             / "500=" probability          ; answer 500 InternalError
//!             / "reset=" probability        ; drop the connection
//!             / "reset-after=" bytes        ; GET bodies: reset after this many bytes (default 0)
//!             / "stall=" probability        ; delay the response body
//!             / "stall-for=" duration       ; how long (default 2s)
//!             / "truncate=" probability     ; end the body before its Content-Length
//!             / "methods=" method *( "+" method )   ; only these HTTP methods (default all)
//! probability = decimal in [0, 1]; all probabilities together at most 1
//! bytes       = u64 [ "k" / "KiB" / "m" / "MiB" / "g" / "GiB" ]   ; binary multiples
//! duration    = decimal ( "ms" / "s" / "m" )
//! method      = "GET" / "PUT" / "POST" / "DELETE" / "HEAD"
//! ```
//!
//! Example: `seed=42,503=0.10,500=0.02,reset=0.05,reset-after=65536,stall=0.02,stall-for=5s,truncate=0.01,methods=GET+PUT`.
//!
//! **Determinism.** Requests are numbered in arrival order (0, 1, …); the
//! decision for request `n` is a pure function of `(seed, n)` (a SplitMix64
//! hash mapped to `[0, 1)` and compared against the cumulative probabilities
//! in the order 503, 500, reset, stall, truncate), so the same seed gives the
//! same faults to the same sequence of requests. At most one fault hits a
//! request. Requests whose method `methods=` excludes are numbered but never faulted.
//!
//! **What each fault does** (`FaultService`):
//! - `503` / `500`: an S3 XML error (`SlowDown` / `InternalError`, with Code,
//!   Message and RequestId) *instead of* running the operation, so it has no
//!   side effect; the request body is drained first so the client reads the answer.
//! - `reset`: for GET, the operation runs and the response body fails after
//!   `reset-after` bytes (never reaching its end), which makes hyper abort the
//!   connection mid-body; for other methods the connection is dropped before any
//!   response, without running the operation.
//! - `stall`: the operation runs; the first body byte is held back for
//!   `stall-for` (a response without a body is held back instead).
//! - `truncate`: the operation runs; the body ends cleanly at half its length,
//!   short of its Content-Length, so hyper closes the connection and the client
//!   sees an early EOF. Responses without a body are left alone.
//!
//! Every request and every fault actually injected is counted in [`FaultStats`].

use std::fmt;
use std::future::Future as _;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use s3s::service::S3Service;
use s3s::{Body, HttpError, StdError};

/// Default `stall-for`.
const DEFAULT_STALL: Duration = Duration::from_secs(2);

/// A parsed fault specification; see the module documentation for the grammar.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Seed of the per-request decisions.
    pub seed: u64,
    /// Probability of a 503 SlowDown.
    pub slow_down: f64,
    /// Probability of a 500 InternalError.
    pub internal_error: f64,
    /// Probability of a connection reset.
    pub reset: f64,
    /// Body bytes sent before a GET's reset.
    pub reset_after: u64,
    /// Probability of a stall.
    pub stall: f64,
    /// Length of a stall.
    pub stall_for: Duration,
    /// Probability of a truncated body.
    pub truncate: f64,
    /// Methods faults apply to; empty means all.
    pub methods: Vec<Method>,
}

impl Default for FaultSpec {
    fn default() -> Self {
        Self {
            seed: 0,
            slow_down: 0.0,
            internal_error: 0.0,
            reset: 0.0,
            reset_after: 0,
            stall: 0.0,
            stall_for: DEFAULT_STALL,
            truncate: 0.0,
            methods: Vec::new(),
        }
    }
}

/// Why a fault specification did not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultSpecError {
    /// An item is not `name=value`.
    #[error("fault spec item {item:?} is not of the form name=value")]
    NotAnItem {
        /// The item.
        item: String,
    },
    /// An unknown name.
    #[error(
        "unknown fault spec name {name:?} (known: seed, 503, 500, reset, reset-after, stall, stall-for, truncate, methods)"
    )]
    UnknownName {
        /// The name.
        name: String,
    },
    /// A name given twice.
    #[error("fault spec name {name:?} is given twice")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// A value that does not parse.
    #[error("invalid value {value:?} for fault spec {name:?}: {reason}")]
    InvalidValue {
        /// The name.
        name: String,
        /// The value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The probabilities add up to more than 1.
    #[error("fault probabilities add up to {sum}, more than 1")]
    ProbabilitiesAboveOne {
        /// Their sum.
        sum: f64,
    },
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec::default();
        let mut seen: Vec<&str> = Vec::new();
        for item in s.split(',').map(str::trim) {
            let (name, value) = item
                .split_once('=')
                .map(|(n, v)| (n.trim(), v.trim()))
                .ok_or_else(|| FaultSpecError::NotAnItem { item: item.to_owned() })?;
            if seen.contains(&name) {
                return Err(FaultSpecError::Duplicate { name: name.to_owned() });
            }
            let invalid =
                |reason| FaultSpecError::InvalidValue { name: name.to_owned(), value: value.to_owned(), reason };
            match name {
                "seed" => spec.seed = value.parse().map_err(|_| invalid("expected an unsigned integer"))?,
                "503" => {
                    spec.slow_down =
                        parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "500" => {
                    spec.internal_error =
                        parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?;
                }
                "reset" => {
                    spec.reset = parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "reset-after" => {
                    spec.reset_after =
                        parse_bytes(value).ok_or_else(|| invalid("expected a byte count like 65536 or 64KiB"))?
                }
                "stall" => {
                    spec.stall = parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "stall-for" => {
                    spec.stall_for =
                        parse_duration(value).ok_or_else(|| invalid("expected a duration like 5s or 250ms"))?
                }
                "truncate" => {
                    spec.truncate =
                        parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "methods" => {
                    spec.methods = value
                        .split('+')
                        .map(|m| match m.trim().to_ascii_uppercase().as_str() {
                            "GET" => Ok(Method::GET),
                            "PUT" => Ok(Method::PUT),
                            "POST" => Ok(Method::POST),
                            "DELETE" => Ok(Method::DELETE),
                            "HEAD" => Ok(Method::HEAD),
                            _ => Err(invalid("expected methods among GET, PUT, POST, DELETE, HEAD joined by '+'")),
                        })
                        .collect::<Result<_, _>>()?;
                }
                _ => return Err(FaultSpecError::UnknownName { name: name.to_owned() }),
            }
            seen.push(name);
        }
        let sum = spec.slow_down + spec.internal_error + spec.reset + spec.stall + spec.truncate;
        if sum > 1.0 + 1e-9 {
            return Err(FaultSpecError::ProbabilitiesAboveOne { sum });
        }
        Ok(spec)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed={},503={},500={},reset={},reset-after={},stall={},stall-for={}ms,truncate={}",
            self.seed,
            self.slow_down,
            self.internal_error,
            self.reset,
            self.reset_after,
            self.stall,
            self.stall_for.as_millis(),
            self.truncate
        )?;
        if !self.methods.is_empty() {
            let methods: Vec<&str> = self.methods.iter().map(Method::as_str).collect();
            write!(f, ",methods={}", methods.join("+"))?;
        }
        Ok(())
    }
}

fn parse_probability(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|p| (0.0..=1.0).contains(p))
}

fn parse_bytes(s: &str) -> Option<u64> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(digits);
    let n: u64 = n.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn parse_duration(s: &str) -> Option<Duration> {
    let (n, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    let n: f64 = n.trim().parse().ok()?;
    Duration::try_from_secs_f64(n * unit).ok()
}

/// The fault a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// None.
    Pass,
    /// 503 SlowDown.
    SlowDown,
    /// 500 InternalError.
    InternalError,
    /// Connection reset.
    Reset,
    /// Delayed body.
    Stall,
    /// Truncated body.
    Truncate,
}

impl FaultSpec {
    /// The fault of request number `n` with `method`.
    pub(crate) fn decide(&self, n: u64, method: &Method) -> Fault {
        if !self.methods.is_empty() && !self.methods.contains(method) {
            return Fault::Pass;
        }
        let u = unit_interval(splitmix64(self.seed ^ splitmix64(n)));
        let table = [
            (self.slow_down, Fault::SlowDown),
            (self.internal_error, Fault::InternalError),
            (self.reset, Fault::Reset),
            (self.stall, Fault::Stall),
            (self.truncate, Fault::Truncate),
        ];
        let mut acc = 0.0;
        for (p, fault) in table {
            acc += p;
            if u < acc {
                return fault;
            }
        }
        Fault::Pass
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps 53 random bits to `[0, 1)`.
fn unit_interval(x: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 mantissa exactly
    let v = (x >> 11) as f64;
    v / (1u64 << 53) as f64
}

/// Counters of requests and injected faults, a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultStats {
    /// Requests received.
    pub requests: u64,
    /// 503 SlowDown answers injected.
    pub slow_downs: u64,
    /// 500 InternalError answers injected.
    pub internal_errors: u64,
    /// Connections reset (before headers or mid-body).
    pub resets: u64,
    /// Responses stalled.
    pub stalls: u64,
    /// Bodies truncated.
    pub truncations: u64,
}

impl FaultStats {
    /// All injected faults.
    pub fn total_faults(&self) -> u64 {
        self.slow_downs + self.internal_errors + self.resets + self.stalls + self.truncations
    }
}

/// Live counters behind [`FaultStats`].
#[derive(Debug, Default)]
pub(crate) struct FaultCounters {
    requests: AtomicU64,
    slow_downs: AtomicU64,
    internal_errors: AtomicU64,
    resets: AtomicU64,
    stalls: AtomicU64,
    truncations: AtomicU64,
}

impl FaultCounters {
    /// A snapshot.
    pub(crate) fn snapshot(&self) -> FaultStats {
        FaultStats {
            requests: self.requests.load(Ordering::Relaxed),
            slow_downs: self.slow_downs.load(Ordering::Relaxed),
            internal_errors: self.internal_errors.load(Ordering::Relaxed),
            resets: self.resets.load(Ordering::Relaxed),
            stalls: self.stalls.load(Ordering::Relaxed),
            truncations: self.truncations.load(Ordering::Relaxed),
        }
    }

    fn count(&self, fault: Fault) {
        let counter = match fault {
            Fault::Pass => return,
            Fault::SlowDown => &self.slow_downs,
            Fault::InternalError => &self.internal_errors,
            Fault::Reset => &self.resets,
            Fault::Stall => &self.stalls,
            Fault::Truncate => &self.truncations,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The S3 service with faults injected per [`FaultSpec`] (none without a spec).
#[derive(Clone)]
pub(crate) struct FaultService {
    inner: S3Service,
    spec: Option<Arc<FaultSpec>>,
    counters: Arc<FaultCounters>,
}

impl FaultService {
    pub(crate) fn new(inner: S3Service, spec: Option<FaultSpec>, counters: Arc<FaultCounters>) -> Self {
        Self { inner, spec: spec.map(Arc::new), counters }
    }
}

/// The error hyper gets to abort a connection.
#[derive(Debug, thiserror::Error)]
#[error("injected connection reset")]
struct InjectedReset;

impl hyper::service::Service<Request<Incoming>> for FaultService {
    type Response = Response<FaultBody>;
    type Error = HttpError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let n = self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let fault = self.spec.as_ref().map_or(Fault::Pass, |s| s.decide(n, req.method()));
        let this = self.clone();
        Box::pin(async move { this.serve(req, fault, n).await })
    }
}

impl FaultService {
    async fn serve(self, req: Request<Incoming>, fault: Fault, n: u64) -> Result<Response<FaultBody>, HttpError> {
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
                return Ok(error_response(fault, n).map(|b| FaultBody::new(b, BodyFault::None)));
            }
            Fault::Reset if !is_get => {
                self.counters.count(fault);
                return Err(HttpError::new(Box::new(InjectedReset)));
            }
            _ => {}
        }
        let resp = hyper::service::Service::call(&self.inner, req).await?;
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
                _ => return Ok(resp.map(|b| FaultBody::new(b, BodyFault::None))),
            },
            _ => BodyFault::None,
        };
        if !matches!(body_fault, BodyFault::None) {
            self.counters.count(fault);
        }
        Ok(resp.map(|b| FaultBody::new(b, body_fault)))
    }
}

fn error_response(fault: Fault, n: u64) -> Response<Body> {
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
    resp
}

/// What happens to a response body.
enum BodyFault {
    None,
    /// Fail after this many bytes.
    ResetAfter(u64),
    /// Wait before the first byte.
    Stall(Pin<Box<tokio::time::Sleep>>),
    /// End cleanly after this many bytes.
    TruncateAt(u64),
}

/// A response body with an optional fault applied.
pub(crate) struct FaultBody {
    inner: Body,
    fault: BodyFault,
    sent: u64,
    done: bool,
}

impl FaultBody {
    fn new(inner: Body, fault: BodyFault) -> Self {
        Self { inner, fault, sent: 0, done: false }
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
        if let BodyFault::Stall(sleep) = &mut this.fault {
            ready!(sleep.as_mut().poll(cx));
            this.fault = BodyFault::None;
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
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let spec: FaultSpec = "seed=42,503=0.10,500=0.02,reset=0.05,reset-after=65536,stall=0.02,stall-for=5s,truncate=0.01,methods=GET+PUT"
            .parse()
            .unwrap();
        assert_eq!(spec.seed, 42);
        assert!((spec.slow_down - 0.10).abs() < 1e-12);
        assert!((spec.internal_error - 0.02).abs() < 1e-12);
        assert!((spec.reset - 0.05).abs() < 1e-12);
        assert_eq!(spec.reset_after, 65536);
        assert!((spec.stall - 0.02).abs() < 1e-12);
        assert_eq!(spec.stall_for, Duration::from_secs(5));
        assert!((spec.truncate - 0.01).abs() < 1e-12);
        assert_eq!(spec.methods, vec![Method::GET, Method::PUT]);
        let again: FaultSpec = spec.to_string().parse().unwrap();
        assert_eq!(again, spec);
    }

    #[test]
    fn units() {
        let spec: FaultSpec = "reset-after=64KiB,stall-for=250ms".parse().unwrap();
        assert_eq!(spec.reset_after, 65536);
        assert_eq!(spec.stall_for, Duration::from_millis(250));
        assert_eq!("reset-after=2m".parse::<FaultSpec>().unwrap().reset_after, 2 << 20);
        assert_eq!("stall-for=1.5s".parse::<FaultSpec>().unwrap().stall_for, Duration::from_millis(1500));
    }

    #[test]
    fn rejections_are_clear() {
        let err = |s: &str| s.parse::<FaultSpec>().unwrap_err();
        assert!(matches!(err(""), FaultSpecError::NotAnItem { .. }));
        assert!(matches!(err("503"), FaultSpecError::NotAnItem { .. }));
        assert!(matches!(err("404=0.1"), FaultSpecError::UnknownName { .. }));
        assert!(matches!(err("503=0.1,503=0.2"), FaultSpecError::Duplicate { .. }));
        assert!(matches!(err("503=1.5"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("503=abc"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("seed=-1"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("stall-for=5"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("reset-after=1x"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("methods=GET+PATCH"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("503=0.6,500=0.6"), FaultSpecError::ProbabilitiesAboveOne { .. }));
        assert!(err("404=0.1").to_string().contains("known:"));
    }

    #[test]
    fn decisions_are_deterministic_and_follow_probabilities() {
        let spec: FaultSpec = "seed=7,503=0.2,reset=0.1".parse().unwrap();
        let run = |spec: &FaultSpec| (0..10_000).map(|n| spec.decide(n, &Method::GET)).collect::<Vec<_>>();
        let a = run(&spec);
        assert_eq!(a, run(&spec));
        let slow = a.iter().filter(|f| **f == Fault::SlowDown).count();
        let reset = a.iter().filter(|f| **f == Fault::Reset).count();
        assert!((1800..2200).contains(&slow), "{slow}");
        assert!((850..1150).contains(&reset), "{reset}");
        let other: FaultSpec = "seed=8,503=0.2,reset=0.1".parse().unwrap();
        assert_ne!(a, run(&other));
    }

    #[test]
    fn methods_filter_and_zero_probability() {
        let spec: FaultSpec = "503=1,methods=PUT".parse().unwrap();
        assert_eq!(spec.decide(0, &Method::PUT), Fault::SlowDown);
        assert_eq!(spec.decide(0, &Method::GET), Fault::Pass);
        let none: FaultSpec = "seed=1".parse().unwrap();
        assert!((0..1000).all(|n| none.decide(n, &Method::GET) == Fault::Pass));
    }

    #[tokio::test]
    async fn body_faults() {
        use http_body_util::BodyExt as _;
        let body = || Body::from(Bytes::from(vec![1u8; 100]));
        let truncated = FaultBody::new(body(), BodyFault::TruncateAt(50)).collect().await.unwrap().to_bytes();
        assert_eq!(truncated.len(), 50);
        let reset = FaultBody::new(body(), BodyFault::ResetAfter(10)).collect().await;
        assert!(reset.is_err());
        let reset_at_end = FaultBody::new(body(), BodyFault::ResetAfter(1000)).collect().await;
        assert!(reset_at_end.is_err());
        let t0 = tokio::time::Instant::now();
        let stalled = FaultBody::new(body(), BodyFault::Stall(Box::pin(tokio::time::sleep(Duration::from_millis(50)))))
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(stalled.len(), 100);
        assert!(t0.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn error_body_is_s3_xml() {
        let resp = error_response(Fault::SlowDown, 3);
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(resp.headers().contains_key("x-amz-request-id"));
    }
}
