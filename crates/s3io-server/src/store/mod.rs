//! [`FsStore`]: the storage backend behind the S3 endpoint.
//!
//! Layout under the root directory (everything lives in `.s3io/`, so nothing
//! a client sends can name a file elsewhere):
//!
//! ```text
//! root/.s3io/index.redb               buckets, keys and object metadata (see `index`)
//! root/.s3io/data/<id>                object bytes, one immutable file per object version
//! root/.s3io/uploads/<id>/            multipart uploads in progress (see `multipart`)
//! root/.s3io/completed/<id>.json      completed uploads, for retried completions
//! root/.s3io/tmp/                     files being written, renamed into place when done
//! ```
//!
//! Keys are index entries, never file names, so every key S3 accepts is
//! stored as sent (see `key`), and an object's bytes, metadata, ETag,
//! checksums and tags change in one index transaction (see `index`). Files
//! dropped into the root by hand are not objects: objects are written through
//! S3. Every filesystem and index call runs on tokio's blocking pool; the
//! async side only moves bytes between the socket and those calls.
//!
//! The module's parts: `key` (key checks), `index` (the object index), `meta`
//! (object metadata), `object` (opening, committing and deleting objects),
//! `checksum` (hashing), `read` (GET bodies), `write` (upload bodies), `range`
//! (byte ranges), `list` (key listing), `multipart` (parts and their
//! assembly), `copy` (ranged in-kernel copies for UploadPartCopy), `ops` (the
//! S3 operations) and `s3` (the [`s3s::S3`] trait, delegating to `ops`).

mod checksum;
mod copy;
mod index;
mod key;
mod list;
mod md5_batch;
mod meta;
mod multipart;
mod object;
mod ops;
mod range;
mod read;
mod s3;
mod write;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use s3s::{s3_error, S3Error, S3Result};

use self::index::Index;
use self::key::ObjectKey;

/// Name of the internal directory under the root.
const INTERNAL_DIR: &str = ".s3io";

/// How long an upload body may send nothing before the request fails with
/// S3's `RequestTimeout` and its connection and temp file are released.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// An S3 backend storing objects as files and their keys and metadata in an
/// embedded index.
///
/// Cheap to clone. See the module documentation of the crate for the layout.
#[derive(Debug, Clone)]
pub struct FsStore {
    layout: Arc<Layout>,
}

#[derive(Debug)]
struct Layout {
    root: PathBuf,
    index: Index,
    uploads: PathBuf,
    completed: PathBuf,
    tmp: PathBuf,
    /// See [`DEFAULT_BODY_READ_TIMEOUT`].
    body_read_timeout: Duration,
    /// See [`FsStore::set_default_checksum`].
    default_checksum: std::sync::atomic::AtomicBool,
    /// See [`FsStore::set_conditional_writes`].
    conditional_writes: std::sync::atomic::AtomicBool,
    /// The buckets created in a named region (LocationConstraint), a copy of the index's
    /// `bucket_regions` kept in memory so the region check of every request reads no file.
    regions: RwLock<std::collections::HashMap<String, String>>,
    /// See [`FsStore::set_region`].
    region: RwLock<Option<String>>,
}

impl FsStore {
    /// Opens (creating if needed) a store rooted at `root`, and removes temp
    /// files and unreferenced data files a previous run left behind.
    ///
    /// # Errors
    /// When `root` or its internal directories cannot be created or read.
    pub fn new(root: impl AsRef<Path>) -> io::Result<Self> {
        Self::with_body_read_timeout(root, DEFAULT_BODY_READ_TIMEOUT)
    }

    /// [`FsStore::new`] with a body read timeout other than [`DEFAULT_BODY_READ_TIMEOUT`].
    ///
    /// # Errors
    /// As [`FsStore::new`].
    pub fn with_body_read_timeout(root: impl AsRef<Path>, body_read_timeout: Duration) -> io::Result<Self> {
        let root = root.as_ref();
        std::fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        let internal = root.join(INTERNAL_DIR);
        let data = internal.join("data");
        let (uploads, completed, tmp) = (internal.join("uploads"), internal.join("completed"), internal.join("tmp"));
        for dir in [&data, &uploads, &completed, &tmp] {
            std::fs::create_dir_all(dir)?;
        }
        for entry in std::fs::read_dir(&tmp)? {
            let _ = std::fs::remove_file(entry?.path());
        }
        let index = Index::open(&internal.join("index.redb"), data.clone())?;
        // Data files a crash left unreferenced (written, never durably committed).
        let referenced = index.data_ids().map_err(|e| io::Error::other(e.to_string()))?;
        for entry in std::fs::read_dir(&data)? {
            let entry = entry?;
            if entry.file_name().to_str().is_some_and(|id| !referenced.contains(id)) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let default_checksum = std::sync::atomic::AtomicBool::new(true);
        let conditional_writes = std::sync::atomic::AtomicBool::new(true);
        let regions = index.bucket_regions().map_err(|e| io::Error::other(e.to_string()))?;
        let regions = RwLock::new(regions.into_iter().collect());
        let region = RwLock::new(None);
        let layout = Layout {
            root,
            index,
            uploads,
            completed,
            tmp,
            body_read_timeout,
            default_checksum,
            conditional_writes,
            regions,
            region,
        };
        Ok(Self { layout: Arc::new(layout) })
    }

    /// Whether a PutObject that names no checksum gets a CRC64NVME computed and stored, as S3
    /// does for every new object since 2025 (its default data-integrity protection), so that
    /// GETs and HEADs in checksum mode return one. On by default; off, such objects carry only
    /// their ETag, as in older stores and other S3 implementations.
    pub fn set_default_checksum(&self, on: bool) {
        self.layout.default_checksum.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn default_checksum(&self) -> bool {
        self.layout.default_checksum.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether writes honour `If-None-Match` (PutObject, CopyObject, CompleteMultipartUpload),
    /// as S3 does since 2024. On by default; off, a write that carries it is answered 501
    /// NotImplemented, as by stores without conditional writes, so that clients' fallbacks can be
    /// tested.
    pub fn set_conditional_writes(&self, on: bool) {
        self.layout.conditional_writes.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Refuses a write carrying `If-None-Match` when conditional writes are off.
    pub(crate) fn check_conditional_write(&self, if_none_match: bool) -> s3s::S3Result<()> {
        if if_none_match && !self.layout.conditional_writes.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(s3s::s3_error!(
                NotImplemented,
                "A header you provided implies functionality that is not implemented: If-None-Match"
            ));
        }
        Ok(())
    }

    /// The root directory (canonical).
    pub fn root(&self) -> &Path {
        &self.layout.root
    }

    /// Places the store in `region`, as an S3 endpoint is in one: buckets created without a
    /// LocationConstraint are in it, and a request to a bucket signed for another region than
    /// the bucket's is answered as S3 answers it (301 PermanentRedirect naming the bucket's
    /// region in `x-amz-bucket-region`), so clients' region discovery can be tested. By default
    /// `None`: requests signed for any region are served, as most local S3 servers do (the
    /// regions buckets were created in are still recorded and reported).
    pub fn set_region(&self, region: Option<&str>) {
        *self.layout.region.write().unwrap_or_else(PoisonError::into_inner) = region.map(str::to_owned);
    }

    /// The region of `bucket`: its LocationConstraint, else the store's region, else
    /// `us-east-1` (S3's region of buckets created without one).
    pub(crate) fn bucket_region(&self, bucket: &str) -> String {
        let regions = self.layout.regions.read().unwrap_or_else(PoisonError::into_inner);
        match regions.get(bucket) {
            Some(region) => region.clone(),
            None => self
                .layout
                .region
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .as_deref()
                .unwrap_or("us-east-1")
                .to_owned(),
        }
    }

    /// The region of `bucket` when the store checks regions ([`set_region`](Self::set_region))
    /// and a request signed for `signed` must not be served there; `None` to serve it. Reads
    /// no file and copies nothing unless it refuses.
    pub(crate) fn wrong_region(&self, bucket: &str, signed: &str) -> Option<String> {
        let own = self.layout.region.read().unwrap_or_else(PoisonError::into_inner);
        let own = own.as_deref()?;
        let regions = self.layout.regions.read().unwrap_or_else(PoisonError::into_inner);
        let region = regions.get(bucket).map_or(own, String::as_str);
        (region != signed).then(|| region.to_owned())
    }

    /// Records (or, with `None`, forgets) the region of `bucket`, after the index changed.
    pub(crate) fn set_bucket_region(&self, bucket: &str, region: Option<&str>) {
        let mut regions = self.layout.regions.write().unwrap_or_else(PoisonError::into_inner);
        match region {
            Some(region) => regions.insert(bucket.to_owned(), region.to_owned()),
            None => regions.remove(bucket),
        };
    }
}

impl Layout {
    fn upload_dir(&self, upload_id: &str) -> PathBuf {
        self.uploads.join(upload_id)
    }

    fn completed_path(&self, upload_id: &str) -> PathBuf {
        self.completed.join(format!("{upload_id}.json"))
    }

    /// `NoSuchBucket` unless the bucket exists (blocking).
    fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        self.index.require_bucket(bucket)
    }

    /// Writes `bytes` to `path` through a temp file and a rename (blocking).
    fn write_json_atomically(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write as _;
        let (tmp, mut file) = write::TempFile::create(&self.tmp)?;
        file.write_all(bytes)?;
        drop(file);
        tmp.rename_to(path)
    }
}

fn is_absent(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
}

fn no_such_key(key: ObjectKey<'_>) -> S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist: {}", key.as_str().escape_debug())
}

fn internal(e: io::Error) -> S3Error {
    tracing::error!(error = %e, "filesystem error");
    S3Error::internal_error(e)
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> S3Result<T> + Send + 'static) -> S3Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(S3Error::internal_error)?
}
