//! Client and transfer settings, with their defaults.
//!
//! [`ClientConfig`] says where the store is and how to talk to it (endpoint, region, addressing
//! style, credentials, connection pool, timeouts); [`TransferConfig`] says how transfers are cut up
//! (part size, concurrency, memory limit, checksums). Both are plain data with documented
//! defaults; [`ClientConfig::validate`] and [`TransferConfig::validate`] reject bad values once,
//! before any request is sent.
//!
//! Every settings struct here is `#[non_exhaustive]`: start from `Default` and change what you
//! need with the `with_*` setters (`TransferConfig::default().with_part_size(16 * MIB)`). The
//! module also gathers, as re-exports, the retry settings ([`RetryConfig`], defined beside the
//! retry loop), the copy defaults, and the S3 limits the settings and operations are checked
//! against.
//!
//! One file per concept, all re-exported here so every setting is named `s3io::config::…`:
//! `client` (the [`ClientConfig`], its timeouts and region resolution), `transfer` (the
//! [`TransferConfig`], part sizes, memory, checksums and S3's multipart limits), `pool` (the
//! [`PoolConfig`]), `proxy` (the [`ProxyConfig`]) and `profile` (the shared AWS config files).

mod client;
mod pool;
mod profile;
mod proxy;
mod transfer;

pub use client::{
    AddressingStyle, ClientConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, DEFAULT_REGION, DEFAULT_STALL_TIMEOUT,
};
pub use pool::{PoolConfig, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_IDLE_PER_HOST};
pub use profile::shared_config_values;
pub(crate) use proxy::check_proxy_url;
pub use proxy::ProxyConfig;
pub use transfer::{
    ChecksumAlgorithm, ChecksumMode, TransferConfig, DEFAULT_CONCURRENCY, DEFAULT_MEMORY_LIMIT, DEFAULT_PART_SIZE,
    DEFAULT_STREAM_BUFFER, DEFAULT_UPLOAD_STREAM_BUFFER, MAX_UPLOAD_PARTS, MAX_UPLOAD_PART_SIZE, MIN_UPLOAD_PART_SIZE,
};

pub use crate::controller::DEFAULT_MAX_CONCURRENCY;
pub use crate::copy::{DEFAULT_COPY_PART_SIZE, MAX_COPY_OBJECT_SIZE};
pub use crate::retry::{
    RetryConfig, DEFAULT_BASE_DELAY, DEFAULT_BUDGET_CAPACITY, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELAY,
    DEFAULT_RETRY_TIMEOUT,
};
pub use crate::s3::object::{MAX_DELETE_KEYS, MAX_PRESIGN_EXPIRY};
pub use crate::upload::MAX_OBJECT_SIZE;

/// One mebibyte, in bytes.
pub const MIB: u64 = 1024 * 1024;
