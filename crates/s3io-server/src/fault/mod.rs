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
//!
//! In the source, the module is split by concept: [`FaultSpec`] and its grammar
//! (`spec`), the seeded per-request draw (`decision`), the outage and its clock
//! (`outage`), the counters (`stats`), the service that applies a request's fault
//! (`service`) and the response body that carries a body fault (`body`).

mod body;
mod decision;
mod outage;
mod service;
mod spec;
mod stats;

pub(crate) use body::FaultBody;
pub(crate) use decision::{splitmix64, unit_interval};
pub use outage::{Outage, OutageMode, OutageStart};
pub(crate) use service::FaultService;
pub use spec::{FaultSpec, FaultSpecError};
pub(crate) use stats::FaultCounters;
pub use stats::FaultStats;
