//! The resume journal of a file download: which parts of the temporary file are complete, and
//! of which version of the object.
//!
//! A resumable download ([`Download::resume`](super::Download::resume)) writes into a temporary
//! file of a fixed name beside the destination (`.NAME.s3io-partial.tmp`) and keeps a small
//! journal beside it (`.NAME.s3io-partial.journal`). The journal is append-only:
//!
//! ```text
//! header = "S3IOJNL1" size:u64 part_size:u64 etag_len:u16 etag crc32c:u32   ; little-endian
//! record = part_index:u64 crc32c:u32                                        ; one per finished part
//! ```
//!
//! Each entry carries the CRC32C of its own bytes, so a run killed at any point (SIGKILL, OOM,
//! power loss) leaves a journal whose readable prefix is exact: a torn or garbled tail is
//! ignored, and a torn header makes the whole journal stale. A record is appended only after
//! the part's bytes were written to the temporary file (and, as all file I/O here, off the
//! runtime's threads), so a record never names bytes the file does not hold — as far as the
//! page cache goes. After a power loss the page cache may not have reached the disk; what a
//! resumed download reuses is then checked by the object's full-object checksum, when it carries
//! one (the reused parts are read back and hashed for that), and the download fails instead of
//! renaming a wrong file into place.
//!
//! The journal is locked (`flock`) while a download uses it, so two runs to the same
//! destination never share it: the second one downloads into a temporary file of its own
//! without resuming.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const MAGIC: &[u8; 8] = b"S3IOJNL1";

/// Bytes of one part record: the index and its CRC32C.
const RECORD_LEN: usize = 12;

/// Longest ETag a journal keeps (S3's are 34 to ~50 bytes); longer ones are not resumable.
const MAX_ETAG_LEN: usize = 1024;

/// What a journal says about a download in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JournalState {
    /// The object's size.
    pub(crate) size: u64,
    /// The part size the parts were cut with.
    pub(crate) part_size: u64,
    /// The ETag the download was pinned to.
    pub(crate) etag: String,
    /// Parts complete in the temporary file, by index (sorted, no duplicates).
    pub(crate) done: Vec<u64>,
}

impl JournalState {
    pub(crate) fn part_count(&self) -> u64 {
        self.size.div_ceil(self.part_size).max(1)
    }
}

/// The temporary file and the journal of a resumable download to `destination`.
pub(crate) fn paths(destination: &Path) -> (PathBuf, PathBuf) {
    let name = destination.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "download".into());
    let dir = destination.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    (dir.join(format!(".{name}.s3io-partial.tmp")), dir.join(format!(".{name}.s3io-partial.journal")))
}

/// The encoded header of a journal.
fn header(size: u64, part_size: u64, etag: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 8 + 8 + 2 + etag.len() + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&part_size.to_le_bytes());
    out.extend_from_slice(&(etag.len() as u16).to_le_bytes());
    out.extend_from_slice(etag.as_bytes());
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The encoded record of part `index`.
fn record(index: u64) -> [u8; RECORD_LEN] {
    let mut out = [0u8; RECORD_LEN];
    out[..8].copy_from_slice(&index.to_le_bytes());
    let crc = crc32c::crc32c(&out[..8]);
    out[8..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Reads a journal's bytes: `None` when its header is missing, torn or garbled; otherwise the
/// state its intact records give (a torn or garbled tail ends them).
pub(crate) fn parse(bytes: &[u8]) -> Option<JournalState> {
    let fixed = MAGIC.len() + 8 + 8 + 2;
    if bytes.len() < fixed || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let size = u64_at(8);
    let part_size = u64_at(16);
    let etag_len = usize::from(u16::from_le_bytes([bytes[24], bytes[25]]));
    let end = fixed + etag_len;
    if bytes.len() < end + 4 || part_size == 0 || size == 0 {
        return None;
    }
    let crc = u32::from_le_bytes(bytes[end..end + 4].try_into().expect("4 bytes"));
    if crc32c::crc32c(&bytes[..end]) != crc {
        return None;
    }
    let etag = std::str::from_utf8(&bytes[fixed..end]).ok()?.to_owned();
    let parts = size.div_ceil(part_size);
    let mut done = Vec::new();
    for entry in bytes[end + 4..].chunks_exact(RECORD_LEN) {
        let index = u64::from_le_bytes(entry[..8].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(entry[8..].try_into().expect("4 bytes"));
        if crc32c::crc32c(&entry[..8]) != crc || index >= parts {
            break;
        }
        done.push(index);
    }
    done.sort_unstable();
    done.dedup();
    Some(JournalState { size, part_size, etag, done })
}

/// What opening a journal found.
#[derive(Debug)]
pub(crate) enum Opened {
    /// No journal (and none was to be created).
    Absent,
    /// Another process holds its lock.
    Busy,
    /// Opened and locked, with what it holds (`None`: nothing usable).
    Open(Journal, Option<JournalState>),
}

/// An open, locked journal. Dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct Journal {
    file: Arc<Mutex<File>>,
    pub(crate) path: PathBuf,
}

impl Journal {
    /// Opens (creating it if `create`) and locks the journal at `path`, and reads what it
    /// holds. Blocking: call on the blocking pool.
    pub(crate) fn open(path: &Path, create: bool) -> std::io::Result<Opened> {
        let opened = std::fs::OpenOptions::new().read(true).write(true).create(create).truncate(false).open(path);
        let mut file = match opened {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => return Ok(Opened::Absent),
            Err(e) => return Err(e),
        };
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => return Ok(Opened::Busy),
            Err(e) => return Err(e.into()),
        }
        let mut bytes = Vec::new();
        // A journal is small (a header and 12 bytes per part, at most 10,000-odd parts
        // in practice); one far larger is not one of ours.
        (&mut file).take(16 << 20).read_to_end(&mut bytes)?;
        let state = parse(&bytes);
        Ok(Opened::Open(Journal { file: Arc::new(Mutex::new(file)), path: path.to_owned() }, state))
    }

    /// Starts the journal afresh for a download of `size` bytes in parts of `part_size`, pinned
    /// to `etag`: the old contents are dropped and the header written. Without an ETag (or with
    /// one too long to keep) no header is written, so nothing recorded can be resumed. Blocking.
    pub(crate) fn start(&self, size: u64, part_size: u64, etag: Option<&str>) -> std::io::Result<()> {
        let file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.set_len(0)?;
        match etag.filter(|etag| etag.len() <= MAX_ETAG_LEN && size > 0) {
            Some(etag) => file.write_all_at(&header(size, part_size, etag), 0),
            None => Ok(()),
        }
    }

    /// Appends the record of part `index`, off the runtime's threads.
    pub(crate) async fn record(&self, index: u64) -> std::io::Result<()> {
        let file = self.file.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
            // One write of 12 bytes at the end (the file is not opened for appending, so seek).
            std::io::Seek::seek(&mut *file, std::io::SeekFrom::End(0))?;
            file.write_all(&record(index))
        });
        task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(size: u64, part_size: u64, etag: &str, parts: &[u64]) -> Vec<u8> {
        let mut bytes = header(size, part_size, etag);
        for &index in parts {
            bytes.extend_from_slice(&record(index));
        }
        bytes
    }

    #[test]
    fn round_trips_and_sorts_the_records() {
        let bytes = journal(10_000, 1000, "\"abc\"", &[3, 0, 9, 3]);
        let state = parse(&bytes).unwrap();
        assert_eq!(state, JournalState { size: 10_000, part_size: 1000, etag: "\"abc\"".into(), done: vec![0, 3, 9] });
        assert_eq!(state.part_count(), 10);
    }

    #[test]
    fn every_cut_of_the_file_parses_to_a_prefix() {
        // A SIGKILL may cut the journal anywhere: every prefix either has no header or yields
        // exactly the records written whole before the cut.
        let bytes = journal(5000, 1000, "e", &[1, 4, 2]);
        let header_len = header(5000, 1000, "e").len();
        for cut in 0..=bytes.len() {
            match parse(&bytes[..cut]) {
                None => assert!(cut < header_len, "cut at {cut}"),
                Some(state) => {
                    let whole = (cut - header_len) / RECORD_LEN;
                    let mut expected = [1, 4, 2][..whole].to_vec();
                    expected.sort_unstable();
                    assert_eq!(state.done, expected, "cut at {cut}");
                }
            }
        }
    }

    #[test]
    fn garbled_bytes_are_not_trusted() {
        let bytes = journal(5000, 1000, "etag", &[1, 2, 3]);
        let header_len = header(5000, 1000, "etag").len();
        for at in 0..bytes.len() {
            let mut garbled = bytes.clone();
            garbled[at] ^= 0x40;
            match parse(&garbled) {
                None => assert!(at < header_len, "flip at {at}"),
                Some(state) => {
                    // A flipped record ends the records there; the ones before it stand.
                    let record = (at - header_len) / RECORD_LEN;
                    assert_eq!(state.done, [1, 2, 3][..record].to_vec(), "flip at {at}");
                }
            }
        }
        assert_eq!(parse(b"not a journal at all, not at all"), None);
        // A record naming a part beyond the object ends the records too.
        let mut bytes = journal(5000, 1000, "etag", &[1]);
        bytes.extend_from_slice(&record(5));
        assert_eq!(parse(&bytes).unwrap().done, [1]);
    }

    #[test]
    fn the_lock_keeps_a_second_opener_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        assert!(matches!(Journal::open(&path, false).unwrap(), Opened::Absent));
        let Opened::Open(first, state) = Journal::open(&path, true).unwrap() else { panic!("not opened") };
        assert_eq!(state, None);
        first.start(3000, 1000, Some("e")).unwrap();
        assert!(matches!(Journal::open(&path, false).unwrap(), Opened::Busy), "locked");
        drop(first);
        let Opened::Open(_again, state) = Journal::open(&path, false).unwrap() else { panic!("not opened") };
        assert_eq!(state.unwrap().done, Vec::<u64>::new());
    }
}
