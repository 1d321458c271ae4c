//! [`FsStore`]: the filesystem backend behind the S3 endpoint.
//!
//! Layout under the root directory:
//!
//! ```text
//! root/<bucket>/<key>                 object bytes (a key's '/' are directories)
//! root/.s3io/meta/<bucket>/…          metadata sidecars (see `meta`)
//! root/.s3io/uploads/<id>/            multipart uploads in progress (see `multipart`)
//! root/.s3io/completed/<id>.json      completed uploads, for retried completions
//! root/.s3io/tmp/                     files being written, renamed into place when done
//! ```
//!
//! `.s3io` is not a valid bucket name, so it never shows up as a bucket, and
//! nothing internal lives inside a bucket directory, so it never shows up as a
//! key. Every filesystem call runs on tokio's blocking pool; the async side only
//! moves bytes between the socket and those calls.
//!
//! The module's parts: `key` (key checks), `meta` (sidecars), `checksum`
//! (hashing), `read` (GET bodies), `write` (upload bodies and atomic renames),
//! `range` (byte ranges), `list` (key listing), `multipart` (parts and their
//! assembly), `copy` (ranged in-kernel copies for UploadPartCopy), and `s3` (the [`s3s::S3`] operations on top of them).

mod checksum;
mod copy;
mod key;
mod list;
mod md5_batch;
mod meta;
mod multipart;
mod range;
mod read;
mod s3;
mod write;

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use s3s::{s3_error, S3Error, S3Result};

use self::key::ObjectKey;
use self::meta::ObjectMeta;
use self::write::TempFile;

/// Name of the internal directory under the root.
const INTERNAL_DIR: &str = ".s3io";

/// How many times a reader re-reads an object whose sidecar does not (yet)
/// describe the data file it opened, and how long it waits in between: a
/// writer renames the two right after each other, so a few milliseconds cover it.
const CONSISTENCY_ATTEMPTS: u32 = 5;
const CONSISTENCY_WAIT: Duration = Duration::from_millis(2);

/// An S3 backend storing buckets as directories and objects as files.
///
/// Cheap to clone. See the module documentation of the crate for the layout.
#[derive(Debug, Clone)]
pub struct FsStore {
    layout: Arc<Layout>,
}

#[derive(Debug)]
struct Layout {
    root: PathBuf,
    meta: PathBuf,
    uploads: PathBuf,
    completed: PathBuf,
    tmp: PathBuf,
}

impl FsStore {
    /// Opens (creating if needed) a store rooted at `root`, and removes temp
    /// files a previous run left behind.
    ///
    /// # Errors
    /// When `root` or its internal directories cannot be created or read.
    pub fn new(root: impl AsRef<Path>) -> io::Result<Self> {
        let root = root.as_ref();
        std::fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        let internal = root.join(INTERNAL_DIR);
        let layout = Layout {
            meta: internal.join("meta"),
            uploads: internal.join("uploads"),
            completed: internal.join("completed"),
            tmp: internal.join("tmp"),
            root,
        };
        for dir in [&layout.meta, &layout.uploads, &layout.completed, &layout.tmp] {
            std::fs::create_dir_all(dir)?;
        }
        for entry in std::fs::read_dir(&layout.tmp)? {
            let _ = std::fs::remove_file(entry?.path());
        }
        Ok(Self { layout: Arc::new(layout) })
    }

    /// The root directory (canonical).
    pub fn root(&self) -> &Path {
        &self.layout.root
    }
}

impl Layout {
    fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    fn bucket_meta_dir(&self, bucket: &str) -> PathBuf {
        self.meta.join(bucket)
    }

    fn object_path(&self, bucket: &str, key: ObjectKey<'_>) -> PathBuf {
        key.join_to(&self.bucket_dir(bucket))
    }

    fn sidecar_path(&self, bucket: &str, key: ObjectKey<'_>) -> PathBuf {
        meta::sidecar_path(&self.bucket_meta_dir(bucket), key)
    }

    fn upload_dir(&self, upload_id: &str) -> PathBuf {
        self.uploads.join(upload_id)
    }

    fn completed_path(&self, upload_id: &str) -> PathBuf {
        self.completed.join(format!("{upload_id}.json"))
    }

    /// `NoSuchBucket` unless the bucket directory exists (blocking).
    fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        match std::fs::metadata(self.bucket_dir(bucket)) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(no_such_bucket(bucket)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(no_such_bucket(bucket)),
            Err(e) => Err(internal(e)),
        }
    }

    /// Opens an object with the sidecar describing that very file (blocking).
    /// `None` when there is no such object (or the key names a directory).
    fn open_object(&self, bucket: &str, key: ObjectKey<'_>) -> S3Result<Option<(File, ObjectMeta)>> {
        let data = self.object_path(bucket, key);
        let sidecar = self.sidecar_path(bucket, key);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let file = match File::open(&data) {
                Ok(f) => f,
                Err(e) if is_absent(&e) => return Ok(None),
                Err(e) => return Err(internal(e)),
            };
            let stat = file.metadata().map_err(internal)?;
            if !stat.is_file() {
                return Ok(None);
            }
            let stored = std::fs::read(&sidecar).ok().and_then(|b| ObjectMeta::from_json(&b));
            match stored {
                Some(m) if m.ino == stat.ino() && m.size == stat.len() => return Ok(Some((file, m))),
                _ if attempt < CONSISTENCY_ATTEMPTS => std::thread::sleep(CONSISTENCY_WAIT),
                stored => return Ok(Some((file, synthesize_meta(&stat, stored)))),
            }
        }
    }

    /// The metadata of an object, as [`Layout::open_object`] (blocking).
    fn stat_object(&self, bucket: &str, key: ObjectKey<'_>) -> S3Result<Option<ObjectMeta>> {
        Ok(self.open_object(bucket, key)?.map(|(_, m)| m))
    }

    /// The metadata of the data file at `path` (listing; blocking).
    fn meta_for_listing(&self, bucket: &str, key: &str, path: &Path) -> io::Result<Option<ObjectMeta>> {
        let stat = match std::fs::metadata(path) {
            Ok(s) => s,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let stored = ObjectKey::parse(key)
            .ok()
            .and_then(|k| std::fs::read(self.sidecar_path(bucket, k)).ok())
            .and_then(|b| ObjectMeta::from_json(&b));
        Ok(Some(match stored {
            Some(m) if m.ino == stat.ino() && m.size == stat.len() => m,
            other => synthesize_meta(&stat, other),
        }))
    }

    /// Writes a sidecar atomically (blocking).
    fn write_sidecar(&self, path: &Path, meta: &ObjectMeta) -> io::Result<()> {
        self.write_json_atomically(path, &meta.to_json())
    }

    /// Writes `bytes` to `path` through a temp file and a rename (blocking).
    fn write_json_atomically(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write as _;
        let (tmp, mut file) = TempFile::create(&self.tmp)?;
        file.write_all(bytes)?;
        drop(file);
        tmp.persist(path)
    }

    /// Removes `path`'s parent directories while they are empty, up to (not including) `stop`.
    fn prune_empty_dirs(path: &Path, stop: &Path) {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == stop || !d.starts_with(stop) || std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }

    /// Moves a finished temp file to the object's place and writes its sidecar
    /// (blocking). `meta.ino` is set from the file.
    fn commit_object(
        &self,
        bucket: &str,
        key: ObjectKey<'_>,
        tmp: TempFile,
        file: &File,
        meta: &mut ObjectMeta,
    ) -> S3Result<()> {
        meta.ino = file.metadata().map_err(internal)?.ino();
        let dest = self.object_path(bucket, key);
        tmp.persist(&dest).map_err(|e| persist_error(e, key))?;
        self.write_sidecar(&self.sidecar_path(bucket, key), meta).map_err(internal)
    }
}

/// An ETag and metadata for a data file without a matching sidecar: a file put
/// into the directory by hand (or a sidecar lost in a crash). The ETag is made
/// from the inode and modification time; it is stable but not an MD5, and ends
/// in `-1` so that clients do not check it as one.
fn synthesize_meta(stat: &std::fs::Metadata, stale: Option<ObjectMeta>) -> ObjectMeta {
    let mtime_ms = stat.modified().map(meta::to_ms).unwrap_or_default();
    let mut meta = stale.unwrap_or_default();
    meta.etag = format!("{:016x}{:016x}-1", stat.ino(), mtime_ms);
    meta.size = stat.len();
    meta.ino = stat.ino();
    meta.mtime_ms = mtime_ms;
    meta.checksums = checksum::Checksums::default();
    meta.checksum_type = None;
    meta.parts.clear();
    meta
}

fn is_absent(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
}

fn no_such_bucket(bucket: &str) -> S3Error {
    s3_error!(NoSuchBucket, "The specified bucket does not exist: {bucket}")
}

fn no_such_key(key: ObjectKey<'_>) -> S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist: {}", key.as_str())
}

fn internal(e: io::Error) -> S3Error {
    tracing::error!(error = %e, "filesystem error");
    S3Error::internal_error(e)
}

/// The error of renaming an object into place: a clash between a key and a
/// directory of other keys is the client's, anything else is ours.
fn persist_error(e: io::Error, key: ObjectKey<'_>) -> S3Error {
    match e.kind() {
        io::ErrorKind::NotADirectory
        | io::ErrorKind::IsADirectory
        | io::ErrorKind::DirectoryNotEmpty
        | io::ErrorKind::AlreadyExists => s3_error!(
            InvalidRequest,
            "key {:?} clashes with another key on this filesystem backend: a key cannot be both an object and a \
             '/'-prefix of other objects",
            key.as_str()
        ),
        _ => internal(e),
    }
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> S3Result<T> + Send + 'static) -> S3Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(S3Error::internal_error)?
}
