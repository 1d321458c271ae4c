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
//! [`multipart_etag`] over the recorded part MD5s, as S3 computes it, and the
//! object's checksums are derived from the part checksums ([`combine_checksums`]):
//! CRC64NVME (and CRC32/CRC32C when the upload asked for `FULL_OBJECT`) by
//! CRC combination, other algorithms as S3's `COMPOSITE` checksum of checksums.
//!
//! (The file holds the whole mechanism, part placement, validation, ETag,
//! checksum combination and assembly, around 600 lines: splitting it would
//! separate the in-place writer from the assembler that must agree with it.)
//!
//! A completed upload leaves a small record in `root/.s3io/completed/<id>.json`
//! so that a retried CompleteMultipartUpload (its response lost to a reset)
//! gets the same answer instead of `NoSuchUpload`.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::{Digest as _, Md5};
use s3s::dto::CompletedPart;
use s3s::{s3_error, S3Error};
use serde::{Deserialize, Serialize};

use super::checksum::{ChecksumSet, Checksums, Hasher};
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

/// S3's multipart ETag: hex MD5 of the concatenated binary part MD5s, `-N`.
pub(crate) fn multipart_etag<'a>(part_md5s: impl IntoIterator<Item = &'a [u8; 16]>) -> String {
    let mut md5 = Md5::new();
    let mut n = 0usize;
    for part in part_md5s {
        md5.update(part);
        n += 1;
    }
    format!("{}-{n}", hex::encode(md5.finalize()))
}

/// Checks the client's part list against the stored part records and returns
/// the records of the listed parts, in order.
///
/// # Errors
/// `InvalidPartOrder` when part numbers do not strictly ascend, `InvalidPart`
/// when a part is missing or its ETag or a checksum differs, `EntityTooSmall`
/// when a part other than the last is smaller than [`MIN_PART_SIZE`].
pub(crate) fn validate(requested: &[CompletedPart], stored: &[PartMeta]) -> Result<Vec<PartMeta>, S3Error> {
    if requested.is_empty() {
        return Err(s3_error!(MalformedXML, "You must specify at least one part"));
    }
    let mut out = Vec::with_capacity(requested.len());
    let mut previous = 0;
    for (i, part) in requested.iter().enumerate() {
        let number = part.part_number.ok_or_else(|| s3_error!(InvalidPart, "a part has no PartNumber"))?;
        if number <= previous {
            return Err(s3_error!(
                InvalidPartOrder,
                "The list of parts was not in ascending order (part {number} after {previous})"
            ));
        }
        previous = number;
        let meta = stored
            .iter()
            .find(|p| p.number == number)
            .ok_or_else(|| s3_error!(InvalidPart, "Part {number} has not been uploaded"))?;
        if part.e_tag.as_ref().is_some_and(|etag| etag.value().trim_matches('"') != meta.etag) {
            return Err(s3_error!(InvalidPart, "The ETag of part {number} does not match the uploaded part"));
        }
        let sent = Checksums {
            crc32: part.checksum_crc32.clone(),
            crc32c: part.checksum_crc32c.clone(),
            crc64nvme: part.checksum_crc64nvme.clone(),
            sha1: part.checksum_sha1.clone(),
            sha256: part.checksum_sha256.clone(),
        };
        if sent.verify_sent(&meta.checksums).is_err() {
            return Err(s3_error!(InvalidPart, "A checksum of part {number} does not match the uploaded part"));
        }
        let is_last = i + 1 == requested.len();
        if !is_last && meta.size < MIN_PART_SIZE {
            return Err(s3_error!(
                EntityTooSmall,
                "Part {number} is {} bytes; every part but the last must be at least {MIN_PART_SIZE} bytes",
                meta.size
            ));
        }
        out.push(meta.clone());
    }
    Ok(out)
}

/// The ETag of parts given by their records.
pub(crate) fn etag_of(parts: &[PartMeta]) -> Result<String, S3Error> {
    let md5s = parts
        .iter()
        .map(|p| {
            let mut md5 = [0u8; 16];
            hex::decode_to_slice(&p.etag, &mut md5).map(|()| md5)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| s3_error!(InternalError, "a stored part record is damaged"))?;
    Ok(multipart_etag(&md5s))
}

/// The object's checksums derived from its parts' and the checksum type; see the module doc.
/// `wanted_type` is the type the client asked for (`FULL_OBJECT`/`COMPOSITE`), if any.
pub(crate) fn combine_checksums(parts: &[PartMeta], wanted_type: Option<&str>) -> (Checksums, Option<String>) {
    let full = wanted_type != Some(COMPOSITE);
    let all = |f: fn(&Checksums) -> &Option<String>| -> Option<Vec<Vec<u8>>> {
        parts.iter().map(|p| f(&p.checksums).as_deref().and_then(|v| BASE64.decode(v).ok())).collect()
    };
    let mut out = Checksums::default();
    let mut kind = None;

    if let Some(crcs) = all(|c| &c.crc64nvme) {
        out.crc64nvme = combine_crc(crc_fast::CrcAlgorithm::Crc64Nvme, &crcs, parts);
        kind = Some(FULL_OBJECT);
    }
    let crc32_like = [
        (crc_fast::CrcAlgorithm::Crc32Iscsi, all(|c| &c.crc32c), ChecksumSet { crc32c: true, ..Default::default() }),
        (crc_fast::CrcAlgorithm::Crc32IsoHdlc, all(|c| &c.crc32), ChecksumSet { crc32: true, ..Default::default() }),
    ];
    for (alg, crcs, set) in crc32_like {
        let Some(crcs) = crcs else { continue };
        let value = if wanted_type == Some(FULL_OBJECT) && full {
            kind = Some(FULL_OBJECT);
            combine_crc(alg, &crcs, parts)
        } else {
            kind = kind.or(Some(COMPOSITE));
            Some(composite(&crcs, set))
        };
        if set.crc32c {
            out.crc32c = value;
        } else {
            out.crc32 = value;
        }
    }
    if let Some(sums) = all(|c| &c.sha1) {
        out.sha1 = Some(composite(&sums, ChecksumSet { sha1: true, ..Default::default() }));
        kind = kind.or(Some(COMPOSITE));
    }
    if let Some(sums) = all(|c| &c.sha256) {
        out.sha256 = Some(composite(&sums, ChecksumSet { sha256: true, ..Default::default() }));
        kind = kind.or(Some(COMPOSITE));
    }
    (out, kind.map(str::to_owned))
}

/// CRC of the whole object from the part CRCs (big-endian bytes) and part sizes.
fn combine_crc(alg: crc_fast::CrcAlgorithm, crcs: &[Vec<u8>], parts: &[PartMeta]) -> Option<String> {
    let width = crcs.first()?.len();
    let mut acc: Option<u64> = None;
    for (crc, part) in crcs.iter().zip(parts) {
        if crc.len() != width || width > 8 {
            return None;
        }
        let value = crc.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b));
        acc = Some(match acc {
            None => value,
            Some(prev) => crc_fast::checksum_combine(alg, prev, value, part.size),
        });
    }
    let bytes = acc?.to_be_bytes();
    Some(BASE64.encode(&bytes[8 - width..]))
}

/// S3's composite checksum: the checksum of the concatenated binary part checksums, `-N`.
fn composite(sums: &[Vec<u8>], set: ChecksumSet) -> String {
    let mut hasher = Hasher::new(set);
    for s in sums {
        hasher.update(s);
    }
    let c = hasher.finish().checksums;
    let value = c.crc32.or(c.crc32c).or(c.crc64nvme).or(c.sha1).or(c.sha256).unwrap_or_default();
    format!("{value}-{}", sums.len())
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
    use s3s::dto::ETag;

    fn part(number: i32, size: u64, data: &[u8]) -> PartMeta {
        PartMeta { number, etag: hex::encode(Md5::digest(data)), size, ..Default::default() }
    }

    fn completed(number: i32, etag: Option<&str>) -> CompletedPart {
        CompletedPart {
            part_number: Some(number),
            e_tag: etag.map(|e| ETag::Strong(e.to_owned())),
            ..Default::default()
        }
    }

    #[test]
    fn etag_matches_s3s_formula() {
        // Two parts "a" and "b": MD5(md5("a") ‖ md5("b")) + "-2".
        let a: [u8; 16] = Md5::digest(b"a").into();
        let b: [u8; 16] = Md5::digest(b"b").into();
        let mut joined = Vec::new();
        joined.extend_from_slice(&a);
        joined.extend_from_slice(&b);
        let expected = format!("{}-2", hex::encode(Md5::digest(&joined)));
        assert_eq!(multipart_etag([&a, &b]), expected);
        let parts = [part(1, 1, b"a"), part(2, 1, b"b")];
        assert_eq!(etag_of(&parts).unwrap(), expected);
    }

    #[test]
    fn etag_of_one_empty_part() {
        // Known S3 value for a single empty part.
        let empty: [u8; 16] = Md5::digest(b"").into();
        assert_eq!(multipart_etag([&empty]), "59adb24ef3cdbe0297f05b395827453f-1");
    }

    #[test]
    fn validate_checks_order_existence_etag_and_size() {
        let big = MIN_PART_SIZE;
        let stored = vec![part(1, big, b"1"), part(2, big, b"2"), part(3, 10, b"3")];
        let ok =
            validate(&[completed(1, Some(&stored[0].etag)), completed(2, None), completed(3, None)], &stored).unwrap();
        assert_eq!(ok.len(), 3);

        let code = |req: &[CompletedPart]| validate(req, &stored).unwrap_err().code().clone();
        assert_eq!(code(&[completed(2, None), completed(1, None)]), s3s::S3ErrorCode::InvalidPartOrder);
        assert_eq!(code(&[completed(1, None), completed(1, None)]), s3s::S3ErrorCode::InvalidPartOrder);
        assert_eq!(code(&[completed(4, None)]), s3s::S3ErrorCode::InvalidPart);
        assert_eq!(code(&[completed(1, Some("\"deadbeef\""))]), s3s::S3ErrorCode::InvalidPart);
        assert_eq!(code(&[completed(1, None), completed(4, None)]), s3s::S3ErrorCode::InvalidPart);
        assert_eq!(
            code(&[completed(1, None), completed(3, None), completed(4, None)]),
            s3s::S3ErrorCode::EntityTooSmall
        );
        let small = vec![part(1, 10, b"1"), part(2, 10, b"2")];
        assert_eq!(
            validate(&[completed(1, None), completed(2, None)], &small).unwrap_err().code(),
            &s3s::S3ErrorCode::EntityTooSmall
        );
        assert_eq!(code(&[]), s3s::S3ErrorCode::MalformedXML);
    }

    #[test]
    fn crc64nvme_of_parts_combines_to_the_whole() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let (a, b) = data.split_at(6_000);
        let crc = |d: &[u8]| {
            let mut h = Hasher::new(ChecksumSet { crc64nvme: true, crc32c: true, ..Default::default() });
            h.update(d);
            h.finish().checksums
        };
        let parts = [
            PartMeta { number: 1, size: a.len() as u64, checksums: crc(a), ..Default::default() },
            PartMeta { number: 2, size: b.len() as u64, checksums: crc(b), ..Default::default() },
        ];
        let whole = crc(&data);
        let (combined, kind) = combine_checksums(&parts, None);
        assert_eq!(combined.crc64nvme, whole.crc64nvme);
        assert_eq!(kind.as_deref(), Some(FULL_OBJECT));
        assert!(combined.crc32c.as_deref().is_some_and(|v| v.ends_with("-2")));
        let (full, _) = combine_checksums(&parts, Some(FULL_OBJECT));
        assert_eq!(full.crc32c, whole.crc32c);
    }

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
