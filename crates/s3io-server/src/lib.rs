//! The embedded S3-compatible endpoint of s3io: a real S3 server over a local
//! directory, running inside the caller's tokio runtime.
//!
//! It serves path-style S3 over HTTP/1.1 with SigV4 authentication (routing,
//! signature checks and XML come from the [`s3s`] crate) on top of [`FsStore`],
//! a filesystem backend built for speed: GET bodies go from the page cache
//! to the socket with `splice(2)`, no user-space copy (elsewhere: read in
//! 1 MiB blocks off the async threads), uploads are hashed once while they are
//! written, multipart uploads are joined with in-kernel copies, and all
//! metadata (ETag, checksums, content type, user metadata, tags) is recorded
//! at write time, never recomputed on read.
//!
//! With a [`FaultSpec`] it also injects deterministic faults — 503 SlowDown,
//! 500 InternalError, connection resets, stalls, truncated bodies — for testing
//! clients' retry handling; see [`fault`]. With a [`NetworkSpec`] it shapes
//! every connection like one over a real network — bandwidth per connection
//! each way, a round trip before each answer and on each connect, a shared
//! link, jitter — so clients can be measured and tuned off loopback; see
//! [`network`].
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use s3io_server::{ServerConfig, start};
//!
//! let dir = std::env::temp_dir().join("s3io-demo");
//! let server = start(ServerConfig::new(&dir).with_faults("seed=1,503=0.1".parse()?)).await?;
//! println!("S3 endpoint at {}", server.endpoint_url());
//! // ... point a client at it, with s3io_server::DEFAULT_ACCESS_KEY / DEFAULT_SECRET_KEY ...
//! println!("{:?}", server.fault_stats());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Layout on disk
//!
//! Every key S3 accepts (1–1,024 bytes of UTF-8: folder markers `dir/`, `a`
//! beside `a/b`, a leading `/`, `//`, `.` and `..` segments, control
//! characters) is stored and served exactly. Keys and metadata are entries of
//! an embedded transactional index (`root/.s3io/index.redb`, [redb]), object
//! bytes are immutable files `root/.s3io/data/<id>`, so no key can name a file
//! anywhere else, and an object's bytes, metadata, ETag, checksums and tags
//! change together in one index transaction. Uploads in progress and temp
//! files also live under `root/.s3io/`.
//!
//! [redb]: https://docs.rs/redb

mod auth;
mod config;
mod error;
pub mod fault;
mod guard;
pub mod network;
mod proxy;
mod request_log;
mod server;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod splice;
mod store;

pub use config::{ServerConfig, DEFAULT_ACCESS_KEY, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_SECRET_KEY};
pub use error::ServerError;
pub use fault::{FaultSpec, FaultSpecError, FaultStats};
pub use network::{NetworkSpec, NetworkSpecError};
pub use proxy::ForwardProxy;
pub use request_log::RequestRecord;
pub use server::{start, RunningServer, GRACE};
pub use store::FsStore;
