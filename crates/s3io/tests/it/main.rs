//! Behaviour tests of the s3io library against the embedded S3 server, over real HTTP on
//! 127.0.0.1 with real SigV4 signing. One test binary; one module per area. `conformance` runs
//! its S3 cases against moto's server as well (installed by `scripts/python-env.sh`).
//!
//! Every test runs on a multi-threaded runtime (two workers, as CI's two cores), client and
//! server alike, so that pool races and wake-ups across threads happen as they do in a service.

mod common;
mod concurrency;
mod conformance;
mod copy;
mod download;
mod no_overwrite;
mod outage;
mod proxy;
mod region;
mod resume;
mod retry;
mod sse_c;
mod tls;
mod upload;
