//! The HTTP layer: hyper's pooled client, request bodies, response bodies, connection metrics.
//! It knows nothing of S3: the caller says how long to wait for response headers
//! ([`HeaderWait`]).
//!
//! - [`client`]: the pooled [`HttpClient`] (HTTP/1.1 keep-alive), sending one request and
//!   watching it until its response headers arrive, within the caller's [`HeaderWait`];
//! - [`connector`]: plain TCP for `http://` endpoints, rustls for `https://` (the system's roots or
//!   a CA bundle), either through an HTTP proxy (a CONNECT tunnel, or absolute-form requests),
//!   counting connections opened and closed ([`ConnectionMetrics`]) and holding the optional cap
//!   on connections per host;
//! - [`reuse`]: requests and connections per host, so that a connection is dialed only when the
//!   requests outnumber the connections (not while one is on its way back to the pool);
//! - [`body`]: request bodies (bytes sent again on a retry, or a replayable stream), framed so
//!   their progress can be watched;
//! - [`latency`]: recent first-byte latencies, for the adaptive header timeout;
//! - [`response`]: response bodies read frame by frame with a per-read timeout, and the
//!   drain-or-close rule for a body dropped before its end.

mod body;
mod client;
mod connector;
mod latency;
mod response;
mod reuse;

pub(crate) use body::{ReplayablePayload, RequestBody, StreamingBody};
pub(crate) use client::{HeaderWait, HttpClient};
pub use connector::ConnectionMetrics;
pub(crate) use connector::{proxy_refused, tls_failure};
pub use response::ResponseBody;
