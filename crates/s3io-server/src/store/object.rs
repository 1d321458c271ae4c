//! Objects as index entries and data files: opening one with the metadata of
//! that very version, committing a new version, deleting.
//!
//! A version's bytes are the immutable file `data/<id>`; the index entry names
//! it (see `index`). [`Layout::commit`] renames a finished file to a fresh id
//! and swaps the entry in one transaction, checking the write's preconditions
//! inside it, so concurrent writers of one key leave exactly one writer's
//! complete version. [`Layout::open_object`] reads the entry, then opens its
//! file; a writer that replaced the version in between may have freed the
//! file, so a missing file sends the reader back to the index (a bounded
//! number of times). An open file stays readable after it is freed.

use std::fs::File;
use std::path::Path;

use s3s::{s3_error, S3Result};

use super::key::ObjectKey;
use super::meta::ObjectMeta;
use super::write::TempFile;
use super::{internal, is_absent, Layout};

/// How often a reader goes back to the index when the data file it was sent
/// to was replaced before it could open it.
const OPEN_ATTEMPTS: u32 = 16;

/// A new, unique data file id.
fn new_data_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl Layout {
    /// Opens an object with the metadata describing that very file (blocking).
    /// `None` when there is no such key; `NoSuchBucket` when no such bucket.
    pub(super) fn open_object(&self, bucket: &str, key: ObjectKey<'_>) -> S3Result<Option<(File, ObjectMeta)>> {
        for _ in 0..OPEN_ATTEMPTS {
            let Some(meta) = self.index.get(bucket, key.as_str())? else { return Ok(None) };
            match File::open(self.index.data_path(&meta.data)) {
                Ok(file) => return Ok(Some((file, meta))),
                Err(e) if is_absent(&e) => {}
                Err(e) => return Err(internal(e)),
            }
        }
        Err(s3_error!(
            InternalError,
            "the data of {bucket}/{} kept changing while being opened",
            key.as_str().escape_debug()
        ))
    }

    /// The metadata of an object (blocking).
    pub(super) fn stat_object(&self, bucket: &str, key: ObjectKey<'_>) -> S3Result<Option<ObjectMeta>> {
        self.index.get(bucket, key.as_str())
    }

    /// Makes the finished temp file `tmp` the new version of `key` with `meta`,
    /// if `check` accepts the current version (blocking). Returns the stored metadata.
    pub(super) fn commit(
        &self,
        bucket: &str,
        key: ObjectKey<'_>,
        tmp: TempFile,
        meta: ObjectMeta,
        check: impl FnOnce(Option<&ObjectMeta>) -> S3Result<()>,
    ) -> S3Result<ObjectMeta> {
        let id = new_data_id();
        tmp.rename_to(&self.index.data_path(&id)).map_err(internal)?;
        self.commit_data(bucket, key, id, meta, check)
    }

    /// As [`Layout::commit`] for a file outside the temp directory (an
    /// assembled multipart upload), renamed into place (blocking).
    pub(super) fn commit_file(
        &self,
        bucket: &str,
        key: ObjectKey<'_>,
        file: &Path,
        meta: ObjectMeta,
        check: impl FnOnce(Option<&ObjectMeta>) -> S3Result<()>,
    ) -> S3Result<ObjectMeta> {
        let id = new_data_id();
        std::fs::rename(file, self.index.data_path(&id)).map_err(internal)?;
        self.commit_data(bucket, key, id, meta, check)
    }

    /// As [`Layout::commit`] for a new name of the data file of `src` (a
    /// CopyObject: a hard link, no byte copied) (blocking).
    pub(super) fn commit_link(
        &self,
        bucket: &str,
        key: ObjectKey<'_>,
        src: &ObjectMeta,
        meta: ObjectMeta,
        check: impl FnOnce(Option<&ObjectMeta>) -> S3Result<()>,
    ) -> S3Result<Option<ObjectMeta>> {
        let id = new_data_id();
        match std::fs::hard_link(self.index.data_path(&src.data), self.index.data_path(&id)) {
            Ok(()) => self.commit_data(bucket, key, id, meta, check).map(Some),
            // The source was replaced meanwhile: the caller reopens it.
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(internal(e)),
        }
    }

    fn commit_data(
        &self,
        bucket: &str,
        key: ObjectKey<'_>,
        id: String,
        mut meta: ObjectMeta,
        check: impl FnOnce(Option<&ObjectMeta>) -> S3Result<()>,
    ) -> S3Result<ObjectMeta> {
        meta.data = id;
        let stored = self.index.update(bucket, key.as_str(), |current| {
            check(current.as_ref())?;
            Ok((Some(meta.clone()), ()))
        });
        match stored {
            Ok(()) => Ok(meta),
            Err(e) => {
                let _ = std::fs::remove_file(self.index.data_path(&meta.data));
                Err(e)
            }
        }
    }

    /// Deletes `key`; deleting what is not there succeeds, as in S3 (blocking).
    pub(super) fn delete_object(&self, bucket: &str, key: ObjectKey<'_>) -> S3Result<()> {
        self.index.update(bucket, key.as_str(), |_| Ok((None, ())))
    }

    /// Changes the metadata of `key` in place (tags), keeping its data (blocking).
    pub(super) fn update_meta<T>(
        &self,
        bucket: &str,
        key: ObjectKey<'_>,
        change: impl FnOnce(&mut ObjectMeta) -> T,
    ) -> S3Result<T> {
        self.index.update(bucket, key.as_str(), |current| {
            let Some(mut meta) = current else { return Err(super::no_such_key(key)) };
            let out = change(&mut meta);
            Ok((Some(meta), out))
        })
    }
}
