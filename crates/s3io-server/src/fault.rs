//! Fault injection: deterministic, seeded failures wrapped around the S3 service.
//!
//! A [`FaultSpec`] is parsed from a comma-separated list of `name=value` items:
//!
//! ```text
//! spec        = item *( "," item )
//! item        = "seed=" u64                 ; default 0
//!             / "503=" probability          ; answer 503 SlowDown
//!             / "500=" probability          ; answer 500 InternalError
//!             / "retry-after=" u64          ; 503/500 answers carry Retry-After: this many seconds
//!             / "reset=" probability        ; drop the connection
//!             / "reset-after=" bytes        ; GET bodies: reset after this many bytes (default 0)
//!             / "stall=" probability        ; delay the response body
//!             / "stall-for=" duration       ; how long (default 2s); also stop-reading's hold
//!             / "truncate=" probability     ; end the body before its Content-Length
//!             / "corrupt=" probability      ; change one byte of the response body
//!             / "stop-reading=" probability ; stop reading the request body, never answer
//!             / "stop-reading-after=" bytes ; request body bytes read first (default 0)
//!             / "methods=" method *( "+" method )   ; only these HTTP methods (default all)
//!             / "outage=" duration          ; one outage of this length (default none)
//!             / "outage-at=" duration       ; it begins this long after the server starts (default 0s)
//!             / "outage-after=" u64         ; or: it begins with request number N (0-based)
//!             / "outage-mode=" ( "refuse" / "drop" )   ; default refuse
//! probability = decimal in [0, 1]; all probabilities together at most 1
//! bytes       = u64 [ "k" / "KiB" / "m" / "MiB" / "g" / "GiB" ]   ; binary multiples
//! duration    = decimal ( "ms" / "s" / "m" )
//! method      = "GET" / "PUT" / "POST" / "DELETE" / "HEAD"
//! ```
//!
//! Example: `seed=42,503=0.10,500=0.02,reset=0.05,reset-after=65536,stall=0.02,stall-for=5s,truncate=0.01,methods=GET+PUT`;
//! a 10 s outage after the first 100 requests: `outage=10s,outage-after=100`.
//!
//! **Determinism.** Requests are numbered in arrival order (0, 1, …); the
//! decision for request `n` is a pure function of `(seed, n)` (a SplitMix64
//! hash mapped to `[0, 1)` and compared against the cumulative probabilities
//! in the order 503, 500, reset, stall, truncate, corrupt, stop-reading), so the
//! same seed gives the same faults to the same sequence of requests. At most one
//! fault hits a request. Requests whose method `methods=` excludes are numbered
//! but never faulted. (Faults added to the grammar go last in that order, so a
//! spec written before them still draws the same faults.)
//!
//! **What each fault does** (`FaultService`):
//! - `503` / `500`: an S3 XML error (`SlowDown` / `InternalError`, with Code,
//!   Message and RequestId, and `Retry-After` when `retry-after=` is given)
//!   *instead of* running the operation, so it has no side effect; the request
//!   body is drained first so the client reads the answer.
//! - `reset`: for GET, the operation runs and the response body fails after
//!   `reset-after` bytes (never reaching its end), which makes hyper abort the
//!   connection mid-body; for other methods the connection is dropped before any
//!   response, without running the operation.
//! - `stall`: the operation runs; the first body byte is held back for
//!   `stall-for` (a response without a body is held back instead).
//! - `truncate`: the operation runs; the body ends cleanly at half its length,
//!   short of its Content-Length, so hyper closes the connection and the client
//!   sees an early EOF. Responses without a body are left alone.
//! - `corrupt`: the operation runs; the body arrives whole, with its framing
//!   intact, but its middle byte inverted — what a client's checksum must
//!   catch. (Such a GET is served by copying, never spliced.) Responses
//!   without a body are left alone.
//! - `stop-reading`: the operation does not run; the server reads about
//!   `stop-reading-after` bytes of the request body, then stops reading (the
//!   client's writes block once the socket buffers are full) for `stall-for`,
//!   and drops the connection without an answer.
//!
//! **Outage.** `outage=D` takes the whole server away once, for `D`, from
//! `outage-at` after the server starts, or from the arrival of request number
//! `outage-after` (that request is the first one it hits). With
//! `outage-mode=refuse` (a restarting server) the listening socket is closed —
//! new connections are refused — and every open connection is closed, requests
//! in flight included; when the outage ends the server listens again on the same
//! address. With `outage-mode=drop` (a network that loses packets) connections
//! stay open but nothing is answered: no connection is accepted (the kernel may
//! still complete the handshake), requests wait for their answer and response
//! bodies pause, until the outage ends and everything resumes. Requests refused
//! or held by an outage are counted in [`FaultStats::outage_requests`].
//!
//! Every request and every fault actually injected is counted in [`FaultStats`].

use std::fmt;
use std::future::Future as _;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use s3s::service::S3Service;
use s3s::{Body, HttpError, StdError};

/// Default `stall-for`.
const DEFAULT_STALL: Duration = Duration::from_secs(2);

/// What a server in an outage does to its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutageMode {
    /// A server restarting: connections refused, open ones closed.
    #[default]
    Refuse,
    /// A network dropping packets: nothing answered, nothing closed.
    Drop,
}

/// When an outage begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageStart {
    /// This long after the server starts.
    At(Duration),
    /// With the arrival of request number N (0-based): the N requests before it are served.
    AfterRequests(u64),
}

/// One outage of the whole server; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// How long it lasts.
    pub duration: Duration,
    /// When it begins.
    pub start: OutageStart,
    /// What clients see.
    pub mode: OutageMode,
}

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
    /// Probability of a response body with one byte changed.
    pub corrupt: f64,
    /// Probability of a request body the server stops reading.
    pub stop_reading: f64,
    /// Request body bytes read before the server stops reading.
    pub stop_reading_after: u64,
    /// `Retry-After` seconds sent with injected 503 and 500 answers; none by default.
    pub retry_after: Option<u64>,
    /// Methods faults apply to; empty means all.
    pub methods: Vec<Method>,
    /// One outage of the whole server; none by default.
    pub outage: Option<Outage>,
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
            corrupt: 0.0,
            stop_reading: 0.0,
            stop_reading_after: 0,
            retry_after: None,
            methods: Vec::new(),
            outage: None,
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
        "unknown fault spec name {name:?} (known: seed, 503, 500, retry-after, reset, reset-after, stall, stall-for, truncate, corrupt, stop-reading, stop-reading-after, methods, outage, outage-at, outage-after, outage-mode)"
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
    /// Items that do not go together, or one that needs another.
    #[error("invalid fault spec: {reason}")]
    Inconsistent {
        /// What is wrong.
        reason: &'static str,
    },
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec::default();
        let mut seen: Vec<&str> = Vec::new();
        let (mut outage_for, mut outage_at, mut outage_after, mut outage_mode) = (None, None, None, None);
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
                "corrupt" => {
                    spec.corrupt =
                        parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "stop-reading" => {
                    spec.stop_reading =
                        parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "stop-reading-after" => {
                    spec.stop_reading_after =
                        parse_bytes(value).ok_or_else(|| invalid("expected a byte count like 65536 or 64KiB"))?
                }
                "retry-after" => {
                    spec.retry_after = Some(value.parse().map_err(|_| invalid("expected a whole number of seconds"))?)
                }
                "outage" => {
                    outage_for =
                        Some(parse_duration(value).ok_or_else(|| invalid("expected a duration like 10s or 500ms"))?)
                }
                "outage-at" => {
                    outage_at =
                        Some(parse_duration(value).ok_or_else(|| invalid("expected a duration like 10s or 500ms"))?)
                }
                "outage-after" => outage_after = Some(value.parse().map_err(|_| invalid("expected a request count"))?),
                "outage-mode" => {
                    outage_mode = Some(match value.to_ascii_lowercase().as_str() {
                        "refuse" => OutageMode::Refuse,
                        "drop" => OutageMode::Drop,
                        _ => return Err(invalid("expected refuse or drop")),
                    })
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
        let sum = spec.probabilities().iter().map(|(p, _)| p).sum::<f64>();
        if sum > 1.0 + 1e-9 {
            return Err(FaultSpecError::ProbabilitiesAboveOne { sum });
        }
        spec.outage = match (outage_for, outage_at, outage_after) {
            (None, None, None) if outage_mode.is_none() => None,
            (None, ..) => {
                return Err(FaultSpecError::Inconsistent {
                    reason: "outage-at, outage-after and outage-mode need outage=DURATION",
                })
            }
            (Some(_), Some(_), Some(_)) => {
                return Err(FaultSpecError::Inconsistent { reason: "outage-at and outage-after exclude each other" })
            }
            (Some(duration), at, after) => Some(Outage {
                duration,
                start: after.map_or(OutageStart::At(at.unwrap_or_default()), OutageStart::AfterRequests),
                mode: outage_mode.unwrap_or_default(),
            }),
        };
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
        if self.corrupt > 0.0 {
            write!(f, ",corrupt={}", self.corrupt)?;
        }
        if self.stop_reading > 0.0 || self.stop_reading_after > 0 {
            write!(f, ",stop-reading={},stop-reading-after={}", self.stop_reading, self.stop_reading_after)?;
        }
        if let Some(seconds) = self.retry_after {
            write!(f, ",retry-after={seconds}")?;
        }
        if !self.methods.is_empty() {
            let methods: Vec<&str> = self.methods.iter().map(Method::as_str).collect();
            write!(f, ",methods={}", methods.join("+"))?;
        }
        if let Some(outage) = &self.outage {
            write!(f, ",outage={}ms", outage.duration.as_millis())?;
            match outage.start {
                OutageStart::At(at) => write!(f, ",outage-at={}ms", at.as_millis())?,
                OutageStart::AfterRequests(n) => write!(f, ",outage-after={n}")?,
            }
            let mode = match outage.mode {
                OutageMode::Refuse => "refuse",
                OutageMode::Drop => "drop",
            };
            write!(f, ",outage-mode={mode}")?;
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
    /// A response body byte changed.
    Corrupt,
    /// The request body left unread, no answer.
    StopReading,
}

impl FaultSpec {
    /// The fault of request number `n` with `method`.
    pub(crate) fn decide(&self, n: u64, method: &Method) -> Fault {
        if !self.methods.is_empty() && !self.methods.contains(method) {
            return Fault::Pass;
        }
        let u = unit_interval(splitmix64(self.seed ^ splitmix64(n)));
        let mut acc = 0.0;
        for (p, fault) in self.probabilities() {
            acc += p;
            if u < acc {
                return fault;
            }
        }
        Fault::Pass
    }

    /// Each fault's probability, in decision order (new faults go last, so old seeds keep
    /// drawing the same faults).
    fn probabilities(&self) -> [(f64, Fault); 7] {
        [
            (self.slow_down, Fault::SlowDown),
            (self.internal_error, Fault::InternalError),
            (self.reset, Fault::Reset),
            (self.stall, Fault::Stall),
            (self.truncate, Fault::Truncate),
            (self.corrupt, Fault::Corrupt),
            (self.stop_reading, Fault::StopReading),
        ]
    }
}

pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps 53 random bits to `[0, 1)`.
pub(crate) fn unit_interval(x: u64) -> f64 {
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
    /// Response bodies with a byte changed.
    pub corruptions: u64,
    /// Request bodies the server stopped reading.
    pub stopped_reads: u64,
    /// Requests refused or held back by an outage (connections refused while the server
    /// does not listen never reach it, so are not counted).
    pub outage_requests: u64,
}

impl FaultStats {
    /// All injected faults.
    pub fn total_faults(&self) -> u64 {
        self.slow_downs
            + self.internal_errors
            + self.resets
            + self.stalls
            + self.truncations
            + self.corruptions
            + self.stopped_reads
            + self.outage_requests
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
    corruptions: AtomicU64,
    stopped_reads: AtomicU64,
    outage_requests: AtomicU64,
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
            corruptions: self.corruptions.load(Ordering::Relaxed),
            stopped_reads: self.stopped_reads.load(Ordering::Relaxed),
            outage_requests: self.outage_requests.load(Ordering::Relaxed),
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
            Fault::Corrupt => &self.corruptions,
            Fault::StopReading => &self.stopped_reads,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The clock of a spec's outage: when it begins (known at start for `outage-at`, set by the
/// request that opens it for `outage-after`) and whether a moment falls inside it.
#[derive(Debug)]
pub(crate) struct OutageClock {
    outage: Outage,
    /// When it began (or will begin); set once.
    begins: OnceLock<tokio::time::Instant>,
    /// Woken when an `outage-after` outage begins.
    begun: tokio::sync::Notify,
}

impl OutageClock {
    /// The clock of `outage` for a server started at `epoch`.
    fn new(outage: Outage, epoch: tokio::time::Instant) -> Self {
        let begins = OnceLock::new();
        if let OutageStart::At(at) = outage.start {
            let _ = begins.set(epoch + at);
        }
        Self { outage, begins, begun: tokio::sync::Notify::new() }
    }

    /// What clients see.
    pub(crate) fn mode(&self) -> OutageMode {
        self.outage.mode
    }

    /// Notes the arrival of request `n` (which opens an `outage-after` outage) and returns when
    /// the outage ends if the request falls inside it.
    fn on_request(&self, n: u64) -> Option<tokio::time::Instant> {
        if let OutageStart::AfterRequests(first) = self.outage.start {
            if n >= first && self.begins.set(tokio::time::Instant::now()).is_ok() {
                self.begun.notify_waiters();
            }
        }
        self.ends_if_active()
    }

    /// When the outage ends, if it is under way now.
    fn ends_if_active(&self) -> Option<tokio::time::Instant> {
        let begins = *self.begins.get()?;
        let ends = begins + self.outage.duration;
        let now = tokio::time::Instant::now();
        (begins <= now && now < ends).then_some(ends)
    }

    /// Waits until the outage begins; returns when it ends.
    pub(crate) async fn begun(&self) -> tokio::time::Instant {
        loop {
            let notified = self.begun.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(begins) = self.begins.get() {
                tokio::time::sleep_until(*begins).await;
                return *begins + self.outage.duration;
            }
            notified.await;
        }
    }
}

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
struct InjectedReset;

/// The error hyper gets to drop a connection during an outage.
#[derive(Debug, thiserror::Error)]
#[error("injected outage: connection closed")]
struct InjectedOutage;

impl hyper::service::Service<Request<Incoming>> for FaultService {
    type Response = Response<FaultBody>;
    type Error = HttpError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let n = self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let outage_ends = self.outage.as_ref().and_then(|o| o.on_request(n));
        let fault = self.spec.as_ref().map_or(Fault::Pass, |s| s.decide(n, req.method()));
        if outage_ends.is_some() {
            // Counted here: a `refuse` outage may close the connection before the future runs.
            self.counters.outage_requests.fetch_add(1, Ordering::Relaxed);
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
        let resp = hyper::service::Service::call(&self.inner, req).await?;
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

/// What happens to a response body.
enum BodyFault {
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
    fn new(inner: Body, fault: BodyFault, outage: Option<Arc<OutageClock>>) -> Self {
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

    #[test]
    fn new_faults_parse_and_round_trip() {
        let spec: FaultSpec =
            "seed=3,503=0.1,retry-after=2,corrupt=0.2,stop-reading=0.3,stop-reading-after=1MiB,methods=GET"
                .parse()
                .unwrap();
        assert_eq!(spec.retry_after, Some(2));
        assert!((spec.corrupt - 0.2).abs() < 1e-12 && (spec.stop_reading - 0.3).abs() < 1e-12);
        assert_eq!(spec.stop_reading_after, 1 << 20);
        assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
        assert_eq!("corrupt=1".parse::<FaultSpec>().unwrap().decide(0, &Method::GET), Fault::Corrupt);
        assert_eq!("stop-reading=1".parse::<FaultSpec>().unwrap().decide(5, &Method::PUT), Fault::StopReading);
        // The new faults come last: an older spec draws the same faults with them at zero.
        let old: FaultSpec = "seed=9,503=0.3,reset=0.2".parse().unwrap();
        let new: FaultSpec = "seed=9,503=0.3,reset=0.2,corrupt=0,stop-reading=0".parse().unwrap();
        assert!((0..1000).all(|n| old.decide(n, &Method::GET) == new.decide(n, &Method::GET)));
        let err = |s: &str| s.parse::<FaultSpec>().unwrap_err();
        assert!(matches!(err("retry-after=1.5"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("corrupt=0.6,503=0.6"), FaultSpecError::ProbabilitiesAboveOne { .. }));
    }

    #[test]
    fn outages_parse_and_round_trip() {
        let spec: FaultSpec = "outage=10s,outage-after=100".parse().unwrap();
        let outage = spec.outage.unwrap();
        assert_eq!(outage.duration, Duration::from_secs(10));
        assert_eq!(outage.start, OutageStart::AfterRequests(100));
        assert_eq!(outage.mode, OutageMode::Refuse);
        assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
        let spec: FaultSpec = "outage=1.5s,outage-at=250ms,outage-mode=drop".parse().unwrap();
        let outage = spec.outage.unwrap();
        assert_eq!(outage.start, OutageStart::At(Duration::from_millis(250)));
        assert_eq!(outage.mode, OutageMode::Drop);
        assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
        assert_eq!("outage=2s".parse::<FaultSpec>().unwrap().outage.unwrap().start, OutageStart::At(Duration::ZERO));
        let err = |s: &str| s.parse::<FaultSpec>().unwrap_err();
        assert!(matches!(err("outage-at=1s"), FaultSpecError::Inconsistent { .. }));
        assert!(matches!(err("outage-mode=drop"), FaultSpecError::Inconsistent { .. }));
        assert!(matches!(err("outage=1s,outage-at=1s,outage-after=3"), FaultSpecError::Inconsistent { .. }));
        assert!(matches!(err("outage=1s,outage-mode=sometimes"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("outage=soon"), FaultSpecError::InvalidValue { .. }));
        assert!(err("outage-after=3").to_string().contains("need outage="), "{}", err("outage-after=3"));
    }

    #[tokio::test]
    async fn outage_clock_opens_with_its_request_and_closes_after_its_duration() {
        let length = Duration::from_millis(200);
        let outage = Outage { duration: length, start: OutageStart::AfterRequests(3), mode: OutageMode::Refuse };
        let epoch = tokio::time::Instant::now();
        let clock = OutageClock::new(outage, epoch);
        assert_eq!(clock.on_request(0), None);
        assert_eq!(clock.on_request(2), None);
        let ends = clock.on_request(3).expect("request 3 opens the outage");
        assert!(ends >= epoch + length, "{ends:?}");
        assert_eq!(clock.on_request(4), Some(ends), "requests after it fall inside");
        assert_eq!(clock.begun().await, ends);
        tokio::time::sleep_until(ends).await;
        assert_eq!(clock.on_request(5), None, "the outage is over");
        // A timed outage: nothing before its time, then the same window.
        let timed = Outage { duration: Duration::from_secs(60), start: OutageStart::At(length), ..outage };
        let at = OutageClock::new(timed, tokio::time::Instant::now());
        assert_eq!(at.ends_if_active(), None, "not begun yet");
        let ends = at.begun().await;
        assert!(at.on_request(0).is_some_and(|e| e == ends), "inside the outage once begun");
    }

    #[test]
    fn error_body_is_s3_xml() {
        let resp = error_response(Fault::SlowDown, 3, Some(2));
        assert_eq!(resp.headers()[http::header::RETRY_AFTER], "2");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(resp.headers().contains_key("x-amz-request-id"));
    }
}
