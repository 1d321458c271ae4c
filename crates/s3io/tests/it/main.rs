//! Behaviour tests of the s3io library against the embedded S3 server, over real HTTP on
//! 127.0.0.1 with real SigV4 signing. One test binary; one module per area.

mod common;
mod copy;
mod download;
mod outage;
mod retry;
mod s3_ops;
mod upload;
