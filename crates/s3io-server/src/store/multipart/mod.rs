//! Multipart uploads: parts written once, validated and joined without a copy.
//!
//! An upload is the directory `root/.s3io/uploads/<id>/` holding `upload.json`
//! ([`UploadRecord`]: target bucket and key, the metadata given at creation),
//! the parts' bytes, and for each part `n` its record `n.json` ([`PartMeta`]:
//! MD5, size, checksums — computed while the part was written — and where its
//! bytes are).
//!
//! **Parts written in place.** Clients send every part but the last at one
//! size. The first part of at least [`MIN_PART_SIZE`] to arrive fixes the
//! upload's slot size (the file `slot`, created once with a no-replace hard
//! link); a part of exactly that size is written straight into the upload's
//! assembly file `data` at `(n - 1) × slot` ([`open_in_place`]), when it is the
//! first writer of number `n` (the file `n.claim`, created exclusively; a
//! re-upload of `n` goes to a file of its own, so a failed re-upload never
//! touches the stored bytes). Writers hold a shared `flock` on `data` while they
//! write and record; [`assemble_in_place`] takes it exclusively (without
//! waiting), copies in only the parts that are not already at their final
//! offset (the short last part, re-uploads), truncates `data` to the object's
//! size and the caller renames it into place: 1 GiB of 8 MiB parts is joined by
//! copying at most one part, and the bytes are written to disk once.
//!
//! **Otherwise** (parts of other sizes, `UploadPartCopy`, parts listed out of
//! their slots, or a part still being written in place) a part is the file `n`,
//! and [`assemble`] joins the parts into a temp file with `std::io::copy`,
//! which on Linux is `copy_file_range` between two files (an in-kernel copy,
//! falling back to `sendfile`/a buffer copy where unsupported). Either way the
//! bytes are never read back into this process nor hashed again. The ETag is
//! [`multipart_etag`](complete::multipart_etag) over the recorded part MD5s, as S3 computes it, and the
//! object's checksums are derived from the part checksums ([`combine_checksums`]):
//! CRC64NVME (and CRC32/CRC32C when the upload asked for `FULL_OBJECT`) by
//! CRC combination, other algorithms as S3's `COMPOSITE` checksum of checksums.
//!
//! This file holds part placement and assembly together (the in-place writer
//! and the assembler must agree on where each part's bytes are);
//! what a completion computes over the part records alone — validation, ETag,
//! checksum combination — is in `complete`.
//!
//! A completed upload leaves a small record in `root/.s3io/completed/<id>.json`
//! so that a retried CompleteMultipartUpload (its response lost to a reset)
//! gets the same answer instead of `NoSuchUpload`.

mod complete;

pub(crate) use complete::{combine_checksums, etag_of, validate};

use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::checksum::Checksums;
use super::meta::{ObjectMeta, PartMeta};
use super::write::TempFile;

/// S3's minimum size of every part but the last.
pub(crate) const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// S3's largest part number.
pub(crate) const MAX_PART_NUMBER: i32 = 10_000;

/// `checksum_type` value of checksums over the whole object.
pub(crate) const FULL_OBJECT: &str = "FULL_OBJECT";
/// `checksum_type` value of checksums of part checksums.
pub(crate) const COMPOSITE: &str = "COMPOSITE";

/// What `upload.json` holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct UploadRecord {
    /// Target bucket.
    pub(crate) bucket: String,
    /// Target key.
    pub(crate) key: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub(crate) initiated_ms: u64,
    /// Metadata the object gets (etag, size, ino and parts are filled at completion).
    pub(crate) meta: ObjectMeta,
    /// `x-amz-checksum-algorithm` given at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checksum_algorithm: Option<String>,
    /// `x-amz-checksum-type` given at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checksum_type: Option<String>,
}

/// What `completed/<id>.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CompletedRecord {
    /// Target bucket.
    pub(crate) bucket: String,
    /// Target key.
    pub(crate) key: String,
    /// The object's ETag without quotes.
    pub(crate) etag: String,
    /// The object's checksums.
    #[serde(default)]
    pub(crate) checksums: Checksums,
    /// Their type.
    #[serde(default)]
    pub(crate) checksum_type: Option<String>,
    /// The encryption asked for at creation, answered again at completion.
    #[serde(default, skip_serializing_if = "super::meta::Sse::is_empty")]
    pub(crate) sse: super::meta::Sse,
}

/// A fresh upload id: 128 random bits in hex.
pub(crate) fn new_upload_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Whether `id` has the shape of an id this server made (so it is safe as a path component).
pub(crate) fn is_valid_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Where a part's bytes are read from when joining: a file and an offset in it.
pub(crate) fn part_source(dir: &Path, part: &PartMeta) -> (PathBuf, u64) {
    match part.offset {
        Some(offset) => (dir.join(ASSEMBLY), offset),
        None => (part_path(dir, part.number), 0),
    }
}

/// Appends the parts, in order, to `out` with in-kernel copies (blocking).
/// Each source is `(file, offset, size)`. Returns the number of bytes written.
pub(crate) fn assemble(sources: &[(PathBuf, u64, u64)], out: &mut File) -> io::Result<u64> {
    let mut total = 0;
    for (path, offset, size) in sources {
        copy_range(path, *offset, *size, out, total)?;
        total += size;
    }
    Ok(total)
}

/// Copies `size` bytes of the file at `src` from `src_offset` to `dst` at
/// `dst_offset` (`copy_file_range` through `std::io::copy`; blocking).
fn copy_range(src: &Path, src_offset: u64, size: u64, dst: &File, dst_offset: u64) -> io::Result<()> {
    let mut from = File::open(src)?;
    from.seek(SeekFrom::Start(src_offset))?;
    let mut to = dst;
    to.seek(SeekFrom::Start(dst_offset))?;
    let copied = io::copy(&mut from.take(size), &mut to)?;
    if copied != size {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("part {} changed size", src.display())));
    }
    Ok(())
}

/// The assembly file of an upload, where parts of the slot size are written in place.
const ASSEMBLY: &str = "data";
/// The file holding an upload's slot size.
const SLOT: &str = "slot";

/// A part being written into its upload's assembly file; see the module doc.
/// Holds a shared lock on the file. Unless [`kept`](InPlace::keep), dropping it
/// releases part number's claim, so that a retry can write in place again.
#[derive(Debug)]
pub(crate) struct InPlace {
    /// The assembly file, positioned at the part's offset.
    pub(crate) file: File,
    /// The part's offset in it.
    pub(crate) offset: u64,
    claim: PathBuf,
    armed: bool,
}

impl InPlace {
    /// Keeps the claim: the part's bytes are recorded as stored in place.
    pub(crate) fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for InPlace {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.claim);
        }
    }
}

/// Opens the assembly file of the upload at `dir` for part `number` of `len`
/// bytes, when the part can be written in place (blocking); see the module doc.
pub(crate) fn open_in_place(dir: &Path, tmp_dir: &Path, number: i32, len: u64) -> io::Result<Option<InPlace>> {
    let Ok(index) = u64::try_from(number - 1) else { return Ok(None) };
    if len < MIN_PART_SIZE || claim_slot(dir, tmp_dir, len)? != len {
        return Ok(None);
    }
    let claim = dir.join(format!("{number}.claim"));
    match File::options().write(true).create_new(true).open(&claim) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(e),
    }
    let path = dir.join(ASSEMBLY);
    let file = File::options().write(true).create(true).truncate(false).open(&path)?;
    let mut part = InPlace { file, offset: index * len, claim, armed: true };
    rustix::fs::flock(&part.file, rustix::fs::FlockOperation::LockShared)?;
    // A completion renames the file away under an exclusive lock: write only
    // into the one that is still the upload's.
    match std::fs::metadata(&path) {
        Ok(m) if m.ino() == part.file.metadata()?.ino() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    part.file.seek(SeekFrom::Start(part.offset))?;
    Ok(Some(part))
}

/// The upload's slot size: the one recorded, or `len` when this part is the first to record one.
fn claim_slot(dir: &Path, tmp_dir: &Path, len: u64) -> io::Result<u64> {
    let path = dir.join(SLOT);
    let read = |path: &Path| -> io::Result<Option<u64>> {
        match std::fs::read_to_string(path) {
            Ok(s) => s.trim().parse().map(Some).map_err(|_| io::Error::other("damaged slot record")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    };
    if let Some(slot) = read(&path)? {
        return Ok(slot);
    }
    let (tmp, mut file) = TempFile::create(tmp_dir)?;
    file.write_all(len.to_string().as_bytes())?;
    drop(file);
    match std::fs::hard_link(tmp.path(), &path) {
        Ok(()) => Ok(len),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            read(&path)?.ok_or_else(|| io::Error::other("slot vanished"))
        }
        Err(e) => Err(e),
    }
}

/// Joins `parts` (validated, in order) in the assembly file of the upload at
/// `dir`, when that needs no more than copying in the parts that are not at
/// their final offset already (blocking). Returns the file, truncated to the
/// object's size and locked against writers until dropped; the caller renames
/// `assembly_path(dir)` into place. `None`: join with [`assemble`] instead —
/// also when a part stored in place is not listed (`stored` holds every part
/// record), since copying and truncating could damage its bytes, which a
/// retried completion may still list.
pub(crate) fn assemble_in_place(dir: &Path, parts: &[PartMeta], stored: &[PartMeta]) -> io::Result<Option<File>> {
    if parts.iter().all(|p| p.offset.is_none()) {
        return Ok(None);
    }
    let unlisted_in_place = stored
        .iter()
        .filter(|s| s.offset.is_some())
        .any(|s| !parts.iter().any(|p| p.number == s.number && p.offset == s.offset));
    if unlisted_in_place {
        return Ok(None);
    }
    let mut expected = 0;
    let mut copies = Vec::new();
    for part in parts {
        match part.offset {
            Some(offset) if offset == expected => {}
            Some(_) => return Ok(None),
            None => copies.push((part_path(dir, part.number), part.size, expected)),
        }
        expected += part.size;
    }
    let file = match File::options().read(true).write(true).open(assembly_path(dir)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        // A part is being written in place: it may still write after a rename.
        Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    for (src, size, offset) in copies {
        copy_range(&src, 0, size, &file, offset)?;
    }
    file.set_len(expected)?;
    Ok(Some(file))
}

/// The assembly file of the upload at `dir`.
pub(crate) fn assembly_path(dir: &Path) -> PathBuf {
    dir.join(ASSEMBLY)
}

/// The path of part `number` of the upload at `dir`.
pub(crate) fn part_path(dir: &Path, number: i32) -> PathBuf {
    dir.join(number.to_string())
}

/// The record path of part `number` of the upload at `dir`.
pub(crate) fn part_record_path(dir: &Path, number: i32) -> PathBuf {
    dir.join(format!("{number}.json"))
}

/// Reads the part records of the upload at `dir`, sorted by number (blocking).
pub(crate) fn read_parts(dir: &Path) -> io::Result<Vec<PartMeta>> {
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        let Some(number) = name.strip_suffix(".json").and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(bytes) = std::fs::read(entry.path()) else { continue };
        match serde_json::from_slice::<PartMeta>(&bytes) {
            Ok(meta) if meta.number == number => parts.push(meta),
            _ => {}
        }
    }
    parts.sort_by_key(|p| p.number);
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_written_in_place_join_without_copies() {
        let root = tempfile::tempdir().unwrap();
        let (dir, tmp) = (root.path().join("up"), root.path().join("tmp"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&tmp).unwrap();
        let slot = MIN_PART_SIZE;
        let bytes = |n: u8, len: u64| vec![n; len as usize];
        let meta =
            |number: i32, size: u64, offset: Option<u64>| PartMeta { number, size, offset, ..Default::default() };

        // Part 2 arrives first and fixes the slot; part 1 follows; a concurrent
        // second writer of part 2 and the short last part get files of their own.
        let mut p2 = open_in_place(&dir, &tmp, 2, slot).unwrap().unwrap();
        assert_eq!(p2.offset, slot);
        assert!(open_in_place(&dir, &tmp, 2, slot).unwrap().is_none());
        assert!(open_in_place(&dir, &tmp, 3, slot - 1).unwrap().is_none());
        p2.file.write_all(&bytes(2, slot)).unwrap();
        let mut p1 = open_in_place(&dir, &tmp, 1, slot).unwrap().unwrap();
        p1.file.write_all(&bytes(1, slot)).unwrap();
        std::fs::write(part_path(&dir, 3), bytes(3, 10)).unwrap();
        let parts = [meta(1, slot, Some(0)), meta(2, slot, Some(slot)), meta(3, 10, None)];

        // A writer still holding its lock sends the completion to the copying path.
        assert!(assemble_in_place(&dir, &parts, &parts).unwrap().is_none());
        p1.keep();
        p2.keep();
        // So does a part stored in place that is not listed.
        let stored = [&parts[..], &[meta(4, slot, Some(3 * slot))]].concat();
        assert!(assemble_in_place(&dir, &parts, &stored).unwrap().is_none());

        let file = assemble_in_place(&dir, &parts, &parts).unwrap().unwrap();
        drop(file);
        let joined = std::fs::read(assembly_path(&dir)).unwrap();
        assert_eq!(joined, [bytes(1, slot), bytes(2, slot), bytes(3, 10)].concat());

        // The copying path reads in-place parts from the assembly file.
        let sources: Vec<_> = parts
            .iter()
            .map(|p| {
                let (path, offset) = part_source(&dir, p);
                (path, offset, p.size)
            })
            .collect();
        let mut out =
            File::options().read(true).write(true).create(true).truncate(true).open(root.path().join("out")).unwrap();
        assert_eq!(assemble(&sources, &mut out).unwrap(), 2 * slot + 10);
        assert_eq!(std::fs::read(root.path().join("out")).unwrap(), joined);
    }

    #[test]
    fn a_failed_in_place_write_releases_its_claim() {
        let root = tempfile::tempdir().unwrap();
        let (dir, tmp) = (root.path().join("up"), root.path().join("tmp"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&tmp).unwrap();
        drop(open_in_place(&dir, &tmp, 1, MIN_PART_SIZE).unwrap().unwrap());
        assert!(open_in_place(&dir, &tmp, 1, MIN_PART_SIZE).unwrap().is_some());
    }

    #[test]
    fn upload_ids_are_path_safe() {
        assert!(is_valid_upload_id(&new_upload_id()));
        assert!(!is_valid_upload_id("../../etc"));
        assert!(!is_valid_upload_id(""));
    }
}
