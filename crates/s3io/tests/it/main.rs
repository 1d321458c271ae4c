//! Behaviour tests of the s3io library against the embedded S3 server, over real HTTP on
//! 127.0.0.1 with real SigV4 signing. One test binary; one module per area. `conformance` runs
//! its S3 cases against moto's server as well (installed by `scripts/python-env.sh`).

mod common;
mod conformance;
mod copy;
mod download;
mod outage;
mod retry;
mod upload;
