//! The heart of `s3io sync`: a merge-join of two sorted streams of entries, and the rule that
//! decides whether an entry present on both sides differs.
//!
//! Both sides arrive as streams sorted by key in S3 key byte order (the order ListObjectsV2
//! returns; the local walk yields the same order), keys relative to the synced prefix or
//! directory. [`merge_join`] holds one look-ahead entry per side and the previous key of each
//! side, never more, so a sync of millions of keys runs in memory that does not grow with their
//! number: each step compares the two heads and yields the smaller one alone
//! ([`Joined::SourceOnly`], [`Joined::DestinationOnly`]) or both when the keys are equal
//! ([`Joined::Both`]). A side whose keys do not strictly increase ends the join with an error: a
//! join over unsorted input would report present keys as missing, and with `--delete` delete
//! them.
//!
//! [`compare`] then decides for a key on both sides (the size-and-time rule of `aws s3 sync`,
//! with an exact-time rule for downloads; see its doc).

use std::cmp::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::bail;
use futures::{Stream, StreamExt as _};

/// An entry with a key in S3 key byte order, relative to the synced prefix or directory.
pub(crate) trait Keyed {
    /// The relative key (`a/b.txt`).
    fn key(&self) -> &str;
}

/// One step of the join: a key on one side only, or on both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Joined<S, D> {
    /// Only at the source: to copy.
    SourceOnly(S),
    /// Only at the destination: to delete with `--delete`, else left alone.
    DestinationOnly(D),
    /// On both sides: to compare.
    Both(S, D),
}

/// The state of [`merge_join`]: the two input streams, one look-ahead entry per side, and the
/// last key each side yielded (to check the order).
struct Join<SS, DS, S, D> {
    source: Side<SS, S>,
    destination: Side<DS, D>,
    /// Set once an error was yielded: the join then ends.
    failed: bool,
}

/// One input of the join.
struct Side<St, T> {
    /// `"source"` or `"destination"`, for error messages.
    name: &'static str,
    stream: St,
    /// The entry read but not yet yielded.
    head: Option<T>,
    /// The stream has ended.
    done: bool,
    /// The key of the entry read last.
    last_key: Option<String>,
}

impl<St, T> Side<St, T>
where
    St: Stream<Item = anyhow::Result<T>> + Unpin,
    T: Keyed,
{
    fn new(name: &'static str, stream: St) -> Self {
        Self { name, stream, head: None, done: false, last_key: None }
    }

    /// Reads the next entry into `head` unless one is waiting or the stream has ended; checks
    /// that keys strictly increase.
    async fn fill(&mut self) -> anyhow::Result<()> {
        if self.head.is_some() || self.done {
            return Ok(());
        }
        match self.stream.next().await {
            None => self.done = true,
            Some(entry) => {
                let entry = entry?;
                match &mut self.last_key {
                    Some(last) if entry.key().as_bytes() <= last.as_bytes() => bail!(
                        "the {} listing is not in S3 key order: {:?} came after {last:?}; nothing more is synced",
                        self.name,
                        entry.key()
                    ),
                    // The previous key's allocation is reused.
                    Some(last) => {
                        last.clear();
                        last.push_str(entry.key());
                    }
                    None => self.last_key = Some(entry.key().to_owned()),
                }
                self.head = Some(entry);
            }
        }
        Ok(())
    }
}

/// Joins `source` and `destination`, both sorted by key in byte order, into one stream sorted
/// the same way, pairing entries of equal keys. Memory is one entry and one key per side.
///
/// An error from either input, or an input out of order, is yielded once and ends the stream.
pub(crate) fn merge_join<SS, DS, S, D>(source: SS, destination: DS) -> impl Stream<Item = anyhow::Result<Joined<S, D>>>
where
    SS: Stream<Item = anyhow::Result<S>> + Unpin,
    DS: Stream<Item = anyhow::Result<D>> + Unpin,
    S: Keyed,
    D: Keyed,
{
    let join =
        Join { source: Side::new("source", source), destination: Side::new("destination", destination), failed: false };
    futures::stream::unfold(join, |mut join| async move {
        if join.failed {
            return None;
        }
        let filled = match join.source.fill().await {
            Ok(()) => join.destination.fill().await,
            Err(e) => Err(e),
        };
        if let Err(e) = filled {
            join.failed = true;
            return Some((Err(e), join));
        }
        let joined = match (join.source.head.take(), join.destination.head.take()) {
            (None, None) => return None,
            (Some(s), None) => Joined::SourceOnly(s),
            (None, Some(d)) => Joined::DestinationOnly(d),
            (Some(s), Some(d)) => match s.key().as_bytes().cmp(d.key().as_bytes()) {
                Ordering::Less => {
                    join.destination.head = Some(d);
                    Joined::SourceOnly(s)
                }
                Ordering::Greater => {
                    join.source.head = Some(s);
                    Joined::DestinationOnly(d)
                }
                Ordering::Equal => Joined::Both(s, d),
            },
        };
        Some((Ok(joined), join))
    })
}

/// Which way the bytes of a sync go; the time rule depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Local files to S3 objects.
    Upload,
    /// S3 objects to local files.
    Download,
    /// S3 objects to S3 objects (server-side copies).
    Copy,
}

/// How entries present on both sides are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Comparison {
    /// Size and modification time (the default; see [`compare`]).
    #[default]
    SizeAndTime,
    /// Size only (`--size-only`).
    SizeOnly,
    /// Size, then content checksums when the sizes are equal (`--checksum`).
    Checksum,
}

/// What [`compare`] needs of an entry: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    /// Bytes.
    pub(crate) size: u64,
    /// Last modification (a file's mtime, an object's LastModified); `None` if unknown.
    pub(crate) modified: Option<SystemTime>,
}

/// Why an entry is copied again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The sizes differ.
    Size,
    /// The modification times say the destination is stale (or one of them is unknown).
    Time,
    /// The content checksums differ, or none could be compared.
    Checksum,
}

impl Reason {
    /// A word for `--json` and logs.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reason::Size => "size",
            Reason::Time => "time",
            Reason::Checksum => "checksum",
        }
    }
}

/// The outcome of [`compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing to do.
    Same,
    /// Copy again.
    Differs(Reason),
    /// Equal sizes under [`Comparison::Checksum`]: the contents must be compared.
    CompareChecksums,
}

/// Seconds since the epoch: S3 keeps LastModified to the second (HTTP dates have no fraction),
/// so times are compared at that resolution or a file modified at 10:00:00.7 would look newer
/// than the object uploaded from it at 10:00:00.
fn whole_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        // Before the epoch: round towards minus infinity.
        Err(before) => {
            let d = before.duration();
            -i64::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(i64::MAX)
        }
    }
}

/// Whether a key present on both sides must be copied again.
///
/// - Different sizes always differ.
/// - [`Comparison::SizeOnly`]: equal sizes are the same.
/// - [`Comparison::Checksum`]: equal sizes go on to a checksum comparison.
/// - [`Comparison::SizeAndTime`], uploads and S3→S3 copies (`aws s3 sync`'s rule): the
///   destination is stale when the source was modified later, at whole-second resolution. An
///   uploaded or copied object's LastModified is the time of the copy, later than its source.
/// - [`Comparison::SizeAndTime`], downloads: stale when the times differ at all. A download sets
///   the file's mtime to the object's LastModified, so a synced pair has equal times; a newer
///   object and a file changed locally both show as a difference. (`aws s3 sync` re-downloads
///   only when the file is newer than the object unless `--exact-timestamps` is given, and so
///   misses an object replaced by one of the same size; this is its `--exact-timestamps`.)
/// - An unknown time on either side differs: copying is the safe answer.
pub(crate) fn compare(direction: Direction, comparison: Comparison, source: Stat, destination: Stat) -> Verdict {
    if source.size != destination.size {
        return Verdict::Differs(Reason::Size);
    }
    match comparison {
        Comparison::SizeOnly => return Verdict::Same,
        Comparison::Checksum => return Verdict::CompareChecksums,
        Comparison::SizeAndTime => {}
    }
    let (Some(source), Some(destination)) = (source.modified, destination.modified) else {
        return Verdict::Differs(Reason::Time);
    };
    let (source, destination) = (whole_seconds(source), whole_seconds(destination));
    let stale = match direction {
        Direction::Upload | Direction::Copy => source > destination,
        Direction::Download => source != destination,
    };
    if stale {
        Verdict::Differs(Reason::Time)
    } else {
        Verdict::Same
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::TryStreamExt as _;

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct E<'a>(&'a str);

    impl Keyed for E<'_> {
        fn key(&self) -> &str {
            self.0
        }
    }

    fn stream<'a>(keys: &[&'a str]) -> impl Stream<Item = anyhow::Result<E<'a>>> + Unpin {
        futures::stream::iter(keys.iter().map(|k| Ok(E(k))).collect::<Vec<_>>())
    }

    /// The join as `+key` (source only), `-key` (destination only), `=key` (both).
    fn join(source: &[&str], destination: &[&str]) -> anyhow::Result<Vec<String>> {
        let joined = merge_join(stream(source), stream(destination));
        futures::executor::block_on(joined.try_collect::<Vec<_>>()).map(|steps| {
            steps
                .into_iter()
                .map(|step| match step {
                    Joined::SourceOnly(s) => format!("+{}", s.0),
                    Joined::DestinationOnly(d) => format!("-{}", d.0),
                    Joined::Both(s, d) => {
                        assert_eq!(s, d);
                        format!("={}", s.0)
                    }
                })
                .collect()
        })
    }

    #[test]
    fn empty_sides() {
        assert!(join(&[], &[]).unwrap().is_empty());
        assert_eq!(join(&["a", "b"], &[]).unwrap(), ["+a", "+b"]);
        assert_eq!(join(&[], &["a", "b"]).unwrap(), ["-a", "-b"]);
    }

    #[test]
    fn identical_sides_pair_every_key() {
        let keys = ["a", "a/b", "b", "c/d/e"];
        assert_eq!(join(&keys, &keys).unwrap(), ["=a", "=a/b", "=b", "=c/d/e"]);
    }

    #[test]
    fn disjoint_sides_interleave_in_order() {
        assert_eq!(join(&["a", "c", "e"], &["b", "d", "f"]).unwrap(), ["+a", "-b", "+c", "-d", "+e", "-f"]);
        assert_eq!(join(&["x", "y"], &["a", "b"]).unwrap(), ["-a", "-b", "+x", "+y"]);
    }

    #[test]
    fn byte_order_puts_dash_before_slash() {
        // '-' (0x2d) < '.' (0x2e) < '/' (0x2f) < '0' (0x30): "a-b" sorts before "a/b", as S3
        // lists them, although a directory walk meets directory "a" before file "a-b".
        let source = ["a-b", "a.txt", "a/b", "a0"];
        assert_eq!(join(&source, &["a/b"]).unwrap(), ["+a-b", "+a.txt", "=a/b", "+a0"]);
        assert_eq!(join(&["a/b"], &source).unwrap(), ["-a-b", "-a.txt", "=a/b", "-a0"]);
    }

    #[test]
    fn byte_order_is_not_char_order_for_non_ascii() {
        // U+FF5E (ef bd 9e) after U+00E9 (c3 a9) in bytes as in code points; "é" after "z".
        assert_eq!(join(&["z", "é", "～"], &["é"]).unwrap(), ["+z", "=é", "+～"]);
    }

    #[test]
    fn all_delete_and_mixed() {
        assert_eq!(join(&["b"], &["a", "b", "c"]).unwrap(), ["-a", "=b", "-c"]);
        assert_eq!(join(&["a", "b", "c"], &["b"]).unwrap(), ["+a", "=b", "+c"]);
    }

    #[test]
    fn out_of_order_input_is_an_error_not_a_delete() {
        let err = join(&["a"], &["b", "a"]).unwrap_err();
        assert!(err.to_string().contains("destination listing is not in S3 key order"), "{err}");
        let err = join(&["a/b", "a-b"], &[]).unwrap_err();
        assert!(err.to_string().contains("source"), "{err}");
        // Duplicates too.
        assert!(join(&["a", "a"], &[]).is_err());
    }

    #[test]
    fn errors_end_the_join() {
        let source = futures::stream::iter(vec![Ok(E("a")), Err(anyhow::anyhow!("listing failed")), Ok(E("c"))]);
        let steps: Vec<_> = futures::executor::block_on(merge_join(source, stream(&["z"])).collect::<Vec<_>>());
        assert_eq!(steps.len(), 2);
        assert!(matches!(steps[0], Ok(Joined::SourceOnly(E("a")))));
        assert_eq!(steps[1].as_ref().unwrap_err().to_string(), "listing failed");
    }

    #[test]
    fn random_sides_join_like_sets() {
        // Keys over an alphabet dense in the byte-order traps: '-' < '.' < '/' < 'a' < 'é'.
        const ALPHABET: [&str; 5] = ["-", ".", "/", "a", "é"];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200 {
            let mut side = || {
                let mut keys = std::collections::BTreeSet::new();
                for _ in 0..next() % 30 {
                    let len = 1 + next() % 4;
                    keys.insert((0..len).map(|_| ALPHABET[(next() % 5) as usize]).collect::<String>());
                }
                // BTreeSet<String> iterates in byte order, as S3 lists.
                keys
            };
            let (source, destination) = (side(), side());
            let (source_keys, destination_keys): (Vec<&str>, Vec<&str>) =
                (source.iter().map(String::as_str).collect(), destination.iter().map(String::as_str).collect());
            let joined = join(&source_keys, &destination_keys).unwrap();
            let expected: Vec<String> = source
                .union(&destination)
                .map(|k| match (source.contains(k), destination.contains(k)) {
                    (true, true) => format!("={k}"),
                    (true, false) => format!("+{k}"),
                    _ => format!("-{k}"),
                })
                .collect();
            assert_eq!(joined, expected);
        }
    }

    fn at(seconds: u64, millis: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis))
    }

    fn stat(size: u64, modified: Option<SystemTime>) -> Stat {
        Stat { size, modified }
    }

    #[test]
    fn sizes_differ_always_copies() {
        for direction in [Direction::Upload, Direction::Download, Direction::Copy] {
            for comparison in [Comparison::SizeAndTime, Comparison::SizeOnly, Comparison::Checksum] {
                let verdict = compare(direction, comparison, stat(1, at(5, 0)), stat(2, at(5, 0)));
                assert_eq!(verdict, Verdict::Differs(Reason::Size));
            }
        }
    }

    #[test]
    fn upload_and_copy_copy_when_the_source_is_newer() {
        for direction in [Direction::Upload, Direction::Copy] {
            let c = |s, d| compare(direction, Comparison::SizeAndTime, stat(7, s), stat(7, d));
            assert_eq!(c(at(10, 0), at(10, 0)), Verdict::Same);
            assert_eq!(c(at(10, 0), at(11, 0)), Verdict::Same, "destination newer");
            assert_eq!(c(at(11, 0), at(10, 0)), Verdict::Differs(Reason::Time));
            // A file modified at .7 s and uploaded within the same second.
            assert_eq!(c(at(10, 700), at(10, 0)), Verdict::Same);
            assert_eq!(c(None, at(10, 0)), Verdict::Differs(Reason::Time));
            assert_eq!(c(at(10, 0), None), Verdict::Differs(Reason::Time));
        }
    }

    #[test]
    fn download_copies_when_the_times_differ() {
        let c = |s, d| compare(Direction::Download, Comparison::SizeAndTime, stat(7, s), stat(7, d));
        assert_eq!(c(at(10, 0), at(10, 0)), Verdict::Same);
        assert_eq!(c(at(10, 0), at(10, 999)), Verdict::Same);
        assert_eq!(c(at(11, 0), at(10, 0)), Verdict::Differs(Reason::Time), "object replaced");
        assert_eq!(c(at(10, 0), at(11, 0)), Verdict::Differs(Reason::Time), "file changed locally");
    }

    #[test]
    fn size_only_and_checksum_ignore_times() {
        let (s, d) = (stat(7, at(20, 0)), stat(7, at(10, 0)));
        assert_eq!(compare(Direction::Upload, Comparison::SizeOnly, s, d), Verdict::Same);
        assert_eq!(compare(Direction::Upload, Comparison::Checksum, s, d), Verdict::CompareChecksums);
    }

    #[test]
    fn times_before_the_epoch_round_down() {
        assert_eq!(whole_seconds(UNIX_EPOCH - Duration::from_millis(1)), -1);
        assert_eq!(whole_seconds(UNIX_EPOCH - Duration::from_secs(2)), -2);
        assert_eq!(whole_seconds(UNIX_EPOCH + Duration::from_millis(1999)), 1);
    }
}
