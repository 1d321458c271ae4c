//! s3io: a fast S3 transfer engine with bounded, reused memory.
//!
//! A [`Client`] talks to one S3-compatible store (AWS S3, MinIO, Ceph, R2, the embedded
//! `s3io-server`) over a pooled hyper connection pool, signing every request with SigV4 and
//! retrying what is worth retrying. The typed operations (`get_object`, `put_object`,
//! `list_objects_v2`, the multipart calls, …) are methods on the client, and so are the transfer
//! engines: [`Client::download`], [`Client::upload`] and [`Client::copy`] (server-side copies,
//! multipart above 5 GiB).
//!
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

mod auth;
#[doc(hidden)]
pub mod bench_support;
mod buffer;
mod checksum;
pub mod cleanup;
mod client;
mod config;
mod copy;
mod download;
mod error;
mod http;
mod progress;
mod retry;
mod s3;
mod throttle;
mod upload;

pub use auth::CredentialsSource;
pub use buffer::{BufferPool, ClassStats, PoolStats, PooledBuffer, CLASSES_PER_DOUBLING, MIN_CLASS_SIZE};
pub use checksum::{checksum, crc64nvme_combine, ChecksumValue, Hasher};
pub use client::{Client, ClientBuilder};
pub use config::{
    AddressingStyle, ChecksumAlgorithm, ChecksumMode, ClientConfig, PoolConfig, TransferConfig, DEFAULT_CONCURRENCY,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_IDLE_PER_HOST, DEFAULT_MEMORY_LIMIT, DEFAULT_PART_SIZE,
    DEFAULT_READ_TIMEOUT, DEFAULT_REGION, DEFAULT_STALL_TIMEOUT, MAX_UPLOAD_PARTS, MAX_UPLOAD_PART_SIZE, MIB,
    MIN_UPLOAD_PART_SIZE,
};
pub use copy::{CopyOutput, ServerCopy, DEFAULT_COPY_PART_SIZE, MAX_COPY_OBJECT_SIZE};
pub use download::{Download, DownloadOutput};
pub use error::{BoxError, Error, ErrorContext, Operation, Result, ServiceError};
pub use http::{ConnectionMetrics, ResponseBody};
pub use progress::Progress;
pub use retry::{
    RetryConfig, RetryCounters, RetryReason, DEFAULT_BASE_DELAY, DEFAULT_BUDGET_CAPACITY, DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_DELAY, DEFAULT_RETRY_TIMEOUT,
};
pub use s3::bucket::BucketInfo;
pub use s3::list::{ListObjectsOptions, ListObjectsPage, ObjectSummary};
pub use s3::multipart::{
    CompleteMultipartUploadOutput, CompletedPart, ListMultipartUploadsPage, MultipartUploadInfo, PartInfo,
    UploadPartCopyOutput,
};
pub use s3::object::{
    ByteRange, ContentRange, CopyProperties, CopySource, DeleteError, DeleteObjectsOutput, GetObjectOptions,
    GetObjectOutput, ObjectInfo, PutObjectOptions, PutObjectOutput, ServerSideEncryption, MAX_DELETE_KEYS,
    MAX_PRESIGN_EXPIRY,
};
pub use throttle::Throttle;
pub use upload::{Upload, UploadOutput, FILE_CHUNK_SIZE, MAX_OBJECT_SIZE};
