//! The object index: every bucket, and for each key its metadata and the name
//! of its data file, in one embedded transactional store ([`redb`]).
//!
//! The index is `root/.s3io/index.redb`. It holds the table `buckets` (name →
//! creation time in ms), the table `bucket_regions` (name → the region its
//! CreateBucket named as LocationConstraint; a bucket without one is in the
//! server's region) and, for each bucket `b`, the table `objects/b`: the
//! key's UTF-8 bytes → the object's [`ObjectMeta`] as JSON. Tables of byte
//! keys iterate in byte order, which is S3's listing order, so a listing page
//! is one range scan (see `list`).
//!
//! An object's bytes are an immutable file `root/.s3io/data/<id>` whose id the
//! metadata names ([`ObjectMeta::data`]). A write renames a finished file to a
//! fresh id, then swaps the index entry in one write transaction: data,
//! metadata, ETag, checksums and tags of an object change together, and a
//! reader sees one complete version or the next, never a mix. Conditional
//! writes (`If-Match`, `If-None-Match`) are checked inside that transaction.
//! The replaced data file is removed only after a commit that is durable
//! (see [`Index::commit`]), so the durable index never names a removed file.
//!
//! Commits are not synced to disk one by one (`Durability::None`, as the files
//! themselves are written without `fsync`): every [`DURABLE_EVERY`]th commit,
//! a commit after which the replaced data files hold [`GARBAGE_BYTES_MAX`] or
//! more, and the last one when the store is dropped, is made durable, and the
//! data files replaced since are removed then. A crash loses at most the writes
//! since the last durable commit, and leaves their data files as orphans.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use redb::{
    Database, Durability, ReadableDatabase as _, ReadableTable as _, ReadableTableMetadata as _, TableDefinition,
    TableHandle as _,
};
use s3s::{s3_error, S3Error, S3Result};

use super::meta::ObjectMeta;

/// Bucket name → creation time, ms since the Unix epoch.
const BUCKETS: TableDefinition<'static, &str, u64> = TableDefinition::new("buckets");

/// Bucket name → the region its CreateBucket named (only buckets that named one).
const BUCKET_REGIONS: TableDefinition<'static, &str, &str> = TableDefinition::new("bucket_regions");

/// Prefix of the per-bucket object tables.
const OBJECTS_PREFIX: &str = "objects/";

/// One commit in this many is synced to disk (and frees the data files
/// replaced since the previous synced one).
const DURABLE_EVERY: u64 = 64;

/// A commit is made durable (and the replaced data files freed) as soon as the files waiting
/// to be freed hold this many bytes: 256 MiB. Counting commits alone, a store of large objects
/// replaced a few at a time kept them all: `bench/compare.sh`'s put rounds (1 GiB objects put
/// and deleted, a few commits each) held 6 GiB of replaced files after seven clients, and a
/// server root in tmpfs filled the machine's memory.
const GARBAGE_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// The index; see the module doc.
#[derive(Debug)]
pub(crate) struct Index {
    db: Database,
    /// Directory of the data files.
    data_dir: PathBuf,
    /// Commits since the last durable one, and the data files they replaced.
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    commits: u64,
    garbage: Vec<String>,
    /// The bytes of the files in `garbage`.
    garbage_bytes: u64,
}

impl Pending {
    /// After a durable commit: starts counting afresh and returns the data files it covers,
    /// now free to remove.
    fn made_durable(&mut self) -> Vec<String> {
        self.commits = 0;
        self.garbage_bytes = 0;
        std::mem::take(&mut self.garbage)
    }
}

/// What a visitor of [`Index::scan`] asks for next.
pub(crate) enum Scan {
    /// The next entry.
    Next,
    /// Stop the scan.
    Stop,
    /// Continue at the first key at or after this one.
    SeekTo(Vec<u8>),
}

fn objects_table(bucket: &str) -> String {
    format!("{OBJECTS_PREFIX}{bucket}")
}

fn db_error(e: impl std::fmt::Display) -> S3Error {
    tracing::error!(error = %e, "index error");
    s3_error!(InternalError, "the object index failed: {e}")
}

fn no_such_bucket(bucket: &str) -> S3Error {
    s3_error!(NoSuchBucket, "The specified bucket does not exist: {bucket}")
}

fn parse_meta(bytes: &[u8]) -> S3Result<ObjectMeta> {
    ObjectMeta::from_json(bytes).ok_or_else(|| s3_error!(InternalError, "damaged object metadata in the index"))
}

impl Index {
    /// Opens (creating) the index at `path`; data files live in `data_dir` (blocking).
    pub(crate) fn open(path: &Path, data_dir: PathBuf) -> std::io::Result<Self> {
        let db = Database::create(path).map_err(std::io::Error::other)?;
        let txn = db.begin_write().map_err(std::io::Error::other)?;
        txn.open_table(BUCKETS).map_err(std::io::Error::other)?;
        txn.open_table(BUCKET_REGIONS).map_err(std::io::Error::other)?;
        txn.commit().map_err(std::io::Error::other)?;
        Ok(Self { db, data_dir, pending: Mutex::new(Pending::default()) })
    }

    /// The path of data file `id`.
    pub(crate) fn data_path(&self, id: &str) -> PathBuf {
        self.data_dir.join(id)
    }

    /// Creates a bucket, in `region` when one is named; `false` when it exists already (blocking).
    pub(crate) fn create_bucket(&self, bucket: &str, created_ms: u64, region: Option<&str>) -> S3Result<bool> {
        let txn = self.begin()?;
        let created = {
            let mut buckets = txn.open_table(BUCKETS).map_err(db_error)?;
            if buckets.get(bucket).map_err(db_error)?.is_some() {
                false
            } else {
                buckets.insert(bucket, created_ms).map_err(db_error)?;
                let mut regions = txn.open_table(BUCKET_REGIONS).map_err(db_error)?;
                match region {
                    Some(region) => regions.insert(bucket, region).map(drop).map_err(db_error)?,
                    None => regions.remove(bucket).map(drop).map_err(db_error)?,
                }
                true
            }
        };
        if created {
            let table = objects_table(bucket);
            txn.open_table(TableDefinition::<&[u8], &[u8]>::new(&table)).map_err(db_error)?;
        }
        self.commit(txn, None)?;
        Ok(created)
    }

    /// Deletes an empty bucket (blocking).
    pub(crate) fn delete_bucket(&self, bucket: &str) -> S3Result<()> {
        let txn = self.begin()?;
        {
            let mut buckets = txn.open_table(BUCKETS).map_err(db_error)?;
            if buckets.remove(bucket).map_err(db_error)?.is_none() {
                return Err(no_such_bucket(bucket));
            }
            txn.open_table(BUCKET_REGIONS).map_err(db_error)?.remove(bucket).map_err(db_error)?;
        }
        let table = objects_table(bucket);
        let def = TableDefinition::<&[u8], &[u8]>::new(&table);
        if !txn.open_table(def).map_err(db_error)?.is_empty().map_err(db_error)? {
            return Err(s3_error!(BucketNotEmpty, "The bucket you tried to delete is not empty: {bucket}"));
        }
        txn.delete_table(def).map_err(db_error)?;
        self.commit(txn, None)
    }

    /// Every bucket and its creation time, in name order (blocking).
    pub(crate) fn buckets(&self) -> S3Result<Vec<(String, u64)>> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let table = txn.open_table(BUCKETS).map_err(db_error)?;
        let mut out = Vec::new();
        for item in table.iter().map_err(db_error)? {
            let (name, created) = item.map_err(db_error)?;
            out.push((name.value().to_owned(), created.value()));
        }
        Ok(out)
    }

    /// Every bucket that was created in a named region, with its region (blocking).
    pub(crate) fn bucket_regions(&self) -> S3Result<Vec<(String, String)>> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let table = txn.open_table(BUCKET_REGIONS).map_err(db_error)?;
        let mut out = Vec::new();
        for item in table.iter().map_err(db_error)? {
            let (name, region) = item.map_err(db_error)?;
            out.push((name.value().to_owned(), region.value().to_owned()));
        }
        Ok(out)
    }

    /// `NoSuchBucket` unless the bucket exists (blocking).
    pub(crate) fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let table = txn.open_table(BUCKETS).map_err(db_error)?;
        let found = table.get(bucket).map_err(db_error)?.is_some();
        if found {
            Ok(())
        } else {
            Err(no_such_bucket(bucket))
        }
    }

    /// The metadata of `key`; `NoSuchBucket` when the bucket does not exist (blocking).
    pub(crate) fn get(&self, bucket: &str, key: &str) -> S3Result<Option<ObjectMeta>> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let table_name = objects_table(bucket);
        let table = match txn.open_table(TableDefinition::<&[u8], &[u8]>::new(&table_name)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Err(no_such_bucket(bucket)),
            Err(e) => return Err(db_error(e)),
        };
        let found = match table.get(key.as_bytes()).map_err(db_error)? {
            Some(v) => parse_meta(v.value()).map(Some),
            None => Ok(None),
        };
        found
    }

    /// Replaces the entry of `key` with what `update` makes of the current one
    /// (`None`: absent), in one transaction. `update` returns the new entry
    /// (`None`: remove the key) and a value handed back to the caller; an error
    /// leaves the index unchanged. The data file of a replaced or removed entry
    /// is freed unless the new entry names the same file (blocking).
    pub(crate) fn update<T>(
        &self,
        bucket: &str,
        key: &str,
        update: impl FnOnce(Option<ObjectMeta>) -> S3Result<(Option<ObjectMeta>, T)>,
    ) -> S3Result<T> {
        let txn = self.begin()?;
        let table_name = objects_table(bucket);
        let (freed, out) = {
            if txn.open_table(BUCKETS).map_err(db_error)?.get(bucket).map_err(db_error)?.is_none() {
                return Err(no_such_bucket(bucket));
            }
            let mut table = txn.open_table(TableDefinition::<&[u8], &[u8]>::new(&table_name)).map_err(db_error)?;
            let current = match table.get(key.as_bytes()).map_err(db_error)? {
                Some(v) => Some(parse_meta(v.value())?),
                None => None,
            };
            let old_data = current.as_ref().map(|m| (m.data.clone(), m.size));
            let (next, out) = update(current)?;
            match &next {
                Some(meta) => {
                    table.insert(key.as_bytes(), meta.to_json().as_slice()).map_err(db_error)?;
                }
                None => {
                    table.remove(key.as_bytes()).map_err(db_error)?;
                }
            }
            let freed = old_data.filter(|(old, _)| next.as_ref().is_none_or(|m| &m.data != old) && !old.is_empty());
            (freed, out)
        };
        self.commit(txn, freed)?;
        Ok(out)
    }

    /// Scans `bucket`'s keys in byte order from `start`; `visit` gets each key
    /// and its metadata JSON and says what to do next (blocking).
    pub(crate) fn scan(
        &self,
        bucket: &str,
        start: Vec<u8>,
        mut visit: impl FnMut(&[u8], &[u8]) -> S3Result<Scan>,
    ) -> S3Result<()> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let table_name = objects_table(bucket);
        let table = match txn.open_table(TableDefinition::<&[u8], &[u8]>::new(&table_name)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Err(no_such_bucket(bucket)),
            Err(e) => return Err(db_error(e)),
        };
        let mut start = start;
        loop {
            let mut seek = None;
            for item in table.range(start.as_slice()..).map_err(db_error)? {
                let (k, v) = item.map_err(db_error)?;
                match visit(k.value(), v.value())? {
                    Scan::Next => {}
                    Scan::Stop => return Ok(()),
                    Scan::SeekTo(next) => {
                        seek = Some(next);
                        break;
                    }
                }
            }
            match seek {
                Some(next) => start = next,
                None => return Ok(()),
            }
        }
    }

    fn begin(&self) -> S3Result<redb::WriteTransaction> {
        self.db.begin_write().map_err(db_error)
    }

    /// Commits `txn`, freeing `freed` (a data file id and its size) once a durable commit
    /// covers it.
    fn commit(&self, mut txn: redb::WriteTransaction, freed: Option<(String, u64)>) -> S3Result<()> {
        // The write transaction is exclusive, so this lock is never contended.
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.commits += 1;
        if let Some((id, size)) = freed {
            pending.garbage.push(id);
            pending.garbage_bytes += size;
        }
        let durable = pending.commits >= DURABLE_EVERY || pending.garbage_bytes >= GARBAGE_BYTES_MAX;
        if !durable {
            txn.set_durability(Durability::None).map_err(db_error)?;
        }
        txn.commit().map_err(db_error)?;
        if durable {
            self.remove_data(pending.made_durable());
        }
        Ok(())
    }

    fn remove_data(&self, ids: Vec<String>) {
        for id in ids {
            if let Err(e) = std::fs::remove_file(self.data_path(&id)) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, id, "cannot remove a replaced data file");
                }
            }
        }
    }

    /// Makes every commit so far durable and frees the data files they replaced (blocking).
    pub(crate) fn flush(&self) -> S3Result<()> {
        let txn = self.begin()?;
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        txn.commit().map_err(db_error)?;
        self.remove_data(pending.made_durable());
        Ok(())
    }

    /// Every data file id the index names (blocking; used to sweep orphans at start-up).
    pub(crate) fn data_ids(&self) -> S3Result<std::collections::HashSet<String>> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let mut ids = std::collections::HashSet::new();
        for handle in txn.list_tables().map_err(db_error)? {
            let name = handle.name().to_owned();
            if !name.starts_with(OBJECTS_PREFIX) {
                continue;
            }
            let table = txn.open_table(TableDefinition::<&[u8], &[u8]>::new(&name)).map_err(db_error)?;
            for item in table.iter().map_err(db_error)? {
                let (_, v) = item.map_err(db_error)?;
                ids.insert(parse_meta(v.value())?.data);
            }
        }
        Ok(ids)
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!(error = %e, "cannot flush the object index");
        }
    }
}

/// The smallest byte string greater than every string starting with `prefix`
/// (`None`: there is none, `prefix` is all `0xff`).
pub(crate) fn after_prefix(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < u8::MAX {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let index = Index::open(&dir.path().join("index.redb"), data).unwrap();
        (dir, index)
    }

    fn meta(data: &str) -> ObjectMeta {
        ObjectMeta { data: data.into(), etag: format!("etag-{data}"), ..Default::default() }
    }

    #[test]
    fn buckets_and_entries() {
        let (_dir, index) = index();
        assert!(index.create_bucket("b", 1, None).unwrap());
        assert!(!index.create_bucket("b", 2, None).unwrap());
        assert_eq!(index.buckets().unwrap(), [("b".to_owned(), 1)]);
        assert_eq!(index.get("nope", "k").unwrap_err().code(), &s3s::S3ErrorCode::NoSuchBucket);
        index.update("b", "k", |cur| Ok((Some(meta("1")), cur))).unwrap();
        assert_eq!(index.get("b", "k").unwrap().unwrap().data, "1");
        assert_eq!(index.delete_bucket("b").unwrap_err().code(), &s3s::S3ErrorCode::BucketNotEmpty);
        let prev = index.update("b", "k", |cur| Ok((None, cur))).unwrap();
        assert_eq!(prev.unwrap().etag, "etag-1");
        index.delete_bucket("b").unwrap();
        assert!(index.buckets().unwrap().is_empty());
    }

    #[test]
    fn replaced_files_are_freed_after_a_durable_commit() {
        let (_dir, index) = index();
        index.create_bucket("b", 1, None).unwrap();
        std::fs::write(index.data_path("1"), b"x").unwrap();
        index.update("b", "k", |_| Ok((Some(meta("1")), ()))).unwrap();
        index.update("b", "k", |_| Ok((Some(meta("2")), ()))).unwrap();
        assert!(index.data_path("1").exists());
        index.flush().unwrap();
        assert!(!index.data_path("1").exists());
    }

    #[test]
    fn large_replaced_files_are_freed_without_waiting_for_the_commit_count() {
        let (_dir, index) = index();
        index.create_bucket("b", 1, None).unwrap();
        let large = |id: &str| ObjectMeta { size: GARBAGE_BYTES_MAX / 2, ..meta(id) };
        for id in ["1", "2", "3"] {
            std::fs::write(index.data_path(id), b"x").unwrap();
        }
        index.update("b", "k", |_| Ok((Some(large("1")), ()))).unwrap();
        index.update("b", "k", |_| Ok((Some(large("2")), ()))).unwrap();
        // Half the threshold waits for more.
        assert!(index.data_path("1").exists());
        index.update("b", "k", |_| Ok((Some(large("3")), ()))).unwrap();
        // Two replaced halves reach it: both files go, a few commits after the last durable one.
        assert!(!index.data_path("1").exists());
        assert!(!index.data_path("2").exists());
        assert!(index.data_path("3").exists());
    }

    #[test]
    fn prefix_successors() {
        assert_eq!(after_prefix(b"a/"), Some(b"a0".to_vec()));
        assert_eq!(after_prefix(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(after_prefix(b"\xff"), None);
    }
}
