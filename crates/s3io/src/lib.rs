//! s3io: a fast S3 transfer engine with bounded, reused memory.
//!
//! A [`Client`] talks to one S3-compatible store (AWS S3, MinIO, Ceph, R2, the embedded
//! `s3io-server`) over a pooled hyper connection pool, signing every request with SigV4 and
//! retrying what is worth retrying. The typed operations (`get_object`, `put_object`,
//! `list_objects_v2`, the multipart calls, …) are methods on the client, and so are the transfer
//! engines: [`Client::download`], [`Client::upload`] and [`Client::copy`] (server-side copies,
//! multipart above 5 GiB).
//!
//! # Where things are
//!
//! The crate root holds what a program that moves objects needs: the [`Client`] and its
//! [`ClientBuilder`], [`CredentialsSource`], the three transfers ([`Download`], [`Upload`],
//! [`ServerCopy`]) with their outputs, [`Progress`], the [`BufferPool`], the streaming
//! [`ResponseBody`], and [`Error`]/[`Result`]. The rest is grouped by concept:
//!
//! | module | holds |
//! |---|---|
//! | [`config`] | client, transfer, pool and retry settings, their defaults and the S3 limits they are checked against |
//! | [`types`] | the inputs and outputs of the typed S3 operations (`get_object`, `list_objects_v2`, multipart, …) |
//! | [`checksum`] | CRC64/NVME, CRC32C, CRC32, SHA-256, SHA-1 and MD5 as S3 carries them, and S3's composite checksums |
//! | [`error`] | the error type and its parts: the operation, bucket and key, the service's answer |
//! | [`metrics`] | what a running client counts: connections, retries, buffer reuse, the request throttle |
//! | [`cleanup`] | multipart aborts still in flight when a program exits |
//!
//! Every public output, settings and request-options struct is `#[non_exhaustive]`: settings
//! and options start from `Default` (or a constructor such as `CompletedPart::new`) and change
//! with their `with_*` setters, so fields can be added without breaking callers.
//!
//! ```no_run
//! use s3io::config::{RetryConfig, TransferConfig, MIB};
//! use s3io::{Client, CredentialsSource};
//!
//! async fn fetch() -> s3io::Result<()> {
//!     let client = Client::builder()
//!         .endpoint("http://127.0.0.1:9000")
//!         .credentials(CredentialsSource::static_keys("key", "secret"))
//!         .transfer(TransferConfig::default().with_part_size(16 * MIB).with_concurrency(16))
//!         .retry(RetryConfig::default().with_max_attempts(8))
//!         .build()
//!         .await?;
//!     let output = client.download("bucket", "big.bin").to_file("big.bin").await?;
//!     println!("{} bytes in {} parts", output.size, output.parts);
//!     Ok(())
//! }
//! ```
//! ```no_run
//! # async fn demo() -> s3io::Result<()> {
//! let client = s3io::Client::builder()
//!     .endpoint("http://127.0.0.1:9000")
//!     .credentials(s3io::CredentialsSource::static_keys("key", "secret"))
//!     .build()
//!     .await?;
//! client.put_object("bucket", "hello.txt", "hello".into(), &Default::default()).await?;
//! let object = client.get_object("bucket", "hello.txt", &Default::default()).await?;
//! assert_eq!(&object.collect().await?[..], b"hello");
//! # Ok(())
//! # }
//! ```

#[doc(hidden)]
pub mod bench_support;
pub mod checksum;
pub mod cleanup;
pub mod config;
pub mod error;

mod auth;
mod buffer;
mod client;
mod controller;
mod copy;
mod download;
mod endpoint;
mod http;
mod overwrite;
mod progress;
mod region;
mod retry;
mod s3;
mod throttle;
mod upload;

pub use auth::CredentialsSource;
pub use buffer::{BufferPool, PooledBuffer};
pub use client::{Client, ClientBuilder};
pub use copy::{CopyOutput, ServerCopy};
pub use download::{Download, DownloadOutput};
pub use error::{Error, Result};
pub use http::ResponseBody;
pub use progress::Progress;
pub use upload::{Upload, UploadOutput};

pub mod types {
    //! The inputs and outputs of the typed S3 operations on [`Client`](crate::Client): objects,
    //! listings, buckets and multipart uploads.
    //!
    //! Inputs and outputs are `#[non_exhaustive]`. Options (`*Options`, [`CopyProperties`]) start
    //! from `Default` and change with their `with_*` setters
    //! (`GetObjectOptions::default().with_range(ByteRange::inclusive(0, 99))`); [`CopySource`] and
    //! [`CompletedPart`] start from `new`. Outputs are read by field.

    pub use crate::s3::bucket::BucketInfo;
    pub use crate::s3::list::{ListObjectsOptions, ListObjectsPage, ObjectSummary};
    pub use crate::s3::multipart::{
        CompleteMultipartUploadOutput, CompletedPart, ListMultipartUploadsPage, MultipartUploadInfo, PartInfo,
        UploadPartCopyOutput,
    };
    pub use crate::s3::object::{
        ByteRange, ContentRange, CopyProperties, CopySource, DeleteError, DeleteObjectsOutput, GetObjectOptions,
        GetObjectOutput, HeadObjectOptions, ObjectInfo, PutObjectOptions, PutObjectOutput, ServerSideEncryption,
        SseCustomerKey,
    };
    pub use crate::s3::versions::{ListObjectVersionsOptions, ListObjectVersionsPage, ObjectVersion};
}

pub mod metrics {
    //! What a running [`Client`](crate::Client) counts, for logs, benchmarks and dashboards:
    //! connections opened and reused ([`ConnectionMetrics`]), retries by reason
    //! ([`RetryCounters`]), payload-buffer reuse ([`PoolStats`]) and the adaptive request limit
    //! ([`Throttle`]).

    pub use crate::buffer::{ClassStats, PoolStats, CLASSES_PER_DOUBLING, MIN_CLASS_SIZE};
    pub use crate::http::ConnectionMetrics;
    pub use crate::retry::{RetryCounters, RetryReason};
    pub use crate::throttle::Throttle;
}
