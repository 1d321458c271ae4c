//! `s3io sync SRC DST`: make DST hold what SRC holds, copying only what differs.
//!
//! SRC and DST are a local directory and an `s3://bucket/prefix`, either way round, or two
//! `s3://` prefixes (server-side copies). Both are read as "directories": `s3://b/photos` means
//! the keys under `photos/`, as in `aws s3 sync`.
//!
//! The two sides are read as streams sorted in S3 key byte order — the listing as S3 returns it,
//! the local tree through [`crate::walk`] — filtered by `--exclude`/`--include` (on both sides, so
//! an excluded destination entry is never deleted), merge-joined ([`crate::sync::diff`]) and
//! turned into a lazy stream of [`Action`]s that [`crate::batch`] runs with objects in parallel.
//! Nothing but the pending deletes is collected: memory does not grow with the number of keys
//! copied or compared.
//!
//! Rules:
//! - A key only at the source is copied; a key on both sides is copied when
//!   [`compare`] says it differs (size and time by default,
//!   `--size-only`, or `--checksum`, see [`crate::sync::content`]).
//! - A key only at the destination is deleted with `--delete`, and left alone without it. Deletes
//!   stop for the rest of the run once part of the source could not be read (an unreadable
//!   directory or file): its entries would look deleted at the source. Keys ending in `/`
//!   (directory markers) at an S3 destination of a local source are never deleted. Deletes run
//!   last, once both sides have been read to the end: when a listing fails part-way (a page
//!   refused, the endpoint gone), nothing is deleted, since every key not yet listed would look
//!   deleted at the source. Only the deletes wait in memory, not the other actions.
//! - A download writes the file beside its destination and renames it into place, then sets its
//!   modification time to the object's LastModified, so the next sync sees equal times.
//! - Keys that cannot be a local file of their own (`../x`, `/abs`, `a//b`, which would land on
//!   `a/b`) are refused with an error naming them; directory markers are not downloaded.
//! - Local files are deleted only under the destination directory, never through a symbolic link
//!   to a directory elsewhere.
//!
//! The destination is read while it is being written, and that is safe: a key is acted on only
//! once both streams have moved past it, so what the sync itself creates lies behind the
//! destination's reading position (its directory already listed, its listing page already
//! fetched) and is never met as a destination-only entry. Two overlapping prefixes of one bucket
//! are refused: the source listing would meet what the sync writes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt as _};
use s3io::types::HeadObjectOptions;
use s3io::Client;

use crate::args::SyncArgs;
use crate::batch::{self, Action};
use crate::exit::UsageError;
use crate::filter::Filters;
use crate::keypath::{self, LocalTarget};
use crate::location::{Location, S3Url};
use crate::printer::Printer;
use crate::sync::content;
use crate::sync::diff::{compare, merge_join, Comparison, Direction, Joined, Keyed, Reason, Stat, Verdict};
use crate::{listing, walk};

/// One entry of either side: a key relative to the synced prefix or directory.
#[derive(Debug, Clone)]
struct Entry {
    /// The relative key.
    key: String,
    /// Size and modification time.
    stat: Stat,
    /// The local file, for entries of a local side.
    path: Option<PathBuf>,
}

impl Keyed for Entry {
    fn key(&self) -> &str {
        &self.key
    }
}

/// A boxed stream of one side's entries.
type Entries = std::pin::Pin<Box<dyn Stream<Item = anyhow::Result<Entry>> + Send>>;

/// One side of the sync, validated.
#[derive(Debug, Clone)]
enum Root {
    /// A local directory.
    Local(PathBuf),
    /// A bucket and a key prefix (empty, or ending in `/`).
    S3(S3Url),
}

/// What the action stream needs to decide about each joined key.
struct Planner {
    client: Client,
    source: Root,
    destination: Root,
    direction: Direction,
    comparison: Comparison,
    /// HeadObject's options for `--checksum` comparisons of a source object and of a
    /// destination object: the SSE-C key each is read with (`--sse-c-copy-source-key` for the
    /// source of a bucket-to-bucket sync, `--sse-c-key` otherwise).
    head_source: HeadObjectOptions,
    head_destination: HeadObjectOptions,
    delete: bool,
    /// Problems met while reading a side (walk errors), waiting to be reported as refusals.
    problems: Arc<Problems>,
}

/// Per-entry problems met while reading the sides, and whether the source was read completely.
#[derive(Default)]
struct Problems {
    /// Refusals to report, in the order met.
    pending: Mutex<Vec<Action>>,
    /// Part of the source could not be read: deletes stop.
    source_incomplete: AtomicBool,
    /// The user was told that deletes stopped.
    told_deletes_stopped: AtomicBool,
}

impl Problems {
    /// Queues a refusal naming `object`; a problem `on_source` stops deletes.
    fn report(&self, object: String, reason: String, on_source: bool) {
        if on_source {
            self.source_incomplete.store(true, Ordering::SeqCst);
        }
        self.pending.lock().expect("not poisoned").push(Action::Refuse { object, reason });
    }

    /// Whether destination-only entries may still be deleted; says once on stderr when they
    /// may not.
    fn may_delete(&self) -> bool {
        if !self.source_incomplete.load(Ordering::SeqCst) {
            return true;
        }
        if !self.told_deletes_stopped.swap(true, Ordering::SeqCst) {
            eprintln!("s3io: part of the source could not be read: nothing more is deleted at the destination");
        }
        false
    }

    /// The refusals queued so far.
    fn take(&self) -> Vec<Action> {
        std::mem::take(&mut *self.pending.lock().expect("not poisoned"))
    }
}

/// Runs `s3io sync`.
pub(crate) async fn run(client: &Client, args: SyncArgs, out: &mut Printer) -> anyhow::Result<()> {
    let actions = plan(client, &args).await?;
    let mut config = super::cp::batch_config(&args.batch, false, out.is_quiet());
    config.object = crate::object::ObjectSettings::new(&args.object)?;
    batch::run(client, actions, &config, out).await.map(drop)
}

/// The actions of a sync (also a line of `s3io run`): both sides listed or walked lazily and
/// joined in key order; deletes last, once both sides were read to the end.
pub(crate) async fn plan(client: &Client, args: &SyncArgs) -> anyhow::Result<super::cp::Actions> {
    let filters = args.batch.filters.compile()?;
    let comparison = match (args.checksum, args.size_only) {
        (true, _) => Comparison::Checksum,
        (false, true) => Comparison::SizeOnly,
        (false, false) => Comparison::SizeAndTime,
    };
    let (source, destination, direction) = roots(&args.source, &args.destination)?;
    let object = crate::object::ObjectSettings::new(&args.object)?;
    if let Root::Local(dir) = &source {
        let is_dir = tokio::fs::metadata(dir).await.map(|m| m.is_dir()).unwrap_or(false);
        if !is_dir {
            return Err(UsageError::new(format!("{} is not a directory", crate::escape::path(dir))).into());
        }
    }
    if let Root::Local(dir) = &destination {
        if tokio::fs::metadata(dir).await.is_ok_and(|m| !m.is_dir()) {
            return Err(UsageError::new(format!("{} exists and is not a directory", crate::escape::path(dir))).into());
        }
    }
    let problems = Arc::new(Problems::default());
    let source_entries = side(client, &source, direction, &filters, &problems, true, !args.batch.no_follow_symlinks);
    let destination_entries = match &destination {
        // Nothing to compare with a directory that does not exist yet (a dry run creates none).
        Root::Local(dir) if !tokio::fs::try_exists(dir).await.unwrap_or(false) => {
            if !args.batch.dry_run {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| anyhow::anyhow!("creating directory {}: {e}", crate::escape::path(dir)))?;
            }
            Box::pin(futures::stream::empty()) as Entries
        }
        _ => side(client, &destination, direction, &filters, &problems, false, !args.batch.no_follow_symlinks),
    };
    let planner = Arc::new(Planner {
        client: client.clone(),
        source,
        destination,
        direction,
        comparison,
        head_source: match direction {
            Direction::Copy => object.copy_source_head_options(),
            _ => object.head_options(),
        },
        head_destination: object.head_options(),
        delete: args.delete,
        problems: Arc::clone(&problems),
    });
    let jobs = args.batch.jobs;
    // Deletes wait here until both sides are read to the end (see the module doc).
    let deferred_deletes: Arc<Mutex<Vec<Action>>> = Arc::default();
    let listing_failed = Arc::new(AtomicBool::new(false));
    let (deferred, failed) = (Arc::clone(&deferred_deletes), Arc::clone(&listing_failed));
    let actions = merge_join(source_entries, destination_entries)
        .map(move |joined| {
            let planner = Arc::clone(&planner);
            let deferred = Arc::clone(&deferred);
            if joined.is_err() {
                failed.store(true, Ordering::SeqCst);
            }
            // Whether deletes are still allowed is read now, in key order, not when the
            // (possibly checksumming) future runs.
            let may_delete =
                planner.delete && matches!(joined, Ok(Joined::DestinationOnly(_))) && planner.problems.may_delete();
            async move {
                let action = match joined {
                    Ok(joined) => Ok(planner.decide(joined, may_delete).await),
                    Err(e) => Err(e),
                };
                let mut actions = planner.problems.take().into_iter().map(Ok).collect::<Vec<_>>();
                match action {
                    // Only destination-only entries are decided with `may_delete`: a delete.
                    Ok(Some(action)) if may_delete => deferred.lock().expect("not poisoned").push(action),
                    Ok(Some(action)) => actions.push(Ok(action)),
                    Ok(None) => {}
                    Err(e) => actions.push(Err(e)),
                }
                futures::stream::iter(actions)
            }
        })
        // Checksum comparisons run `jobs` at a time, in order; without --checksum each future is
        // ready at once.
        .buffered(jobs)
        .flatten()
        // Problems met after the last joined key (the walk's last entries unreadable).
        .chain(
            futures::stream::once(async move { futures::stream::iter(problems.take().into_iter().map(Ok)) }).flatten(),
        )
        // The deletes, once both sides were read to the end; none after a failed listing.
        .chain(
            futures::stream::once(async move {
                let deletes = std::mem::take(&mut *deferred_deletes.lock().expect("not poisoned"));
                let deletes = if listing_failed.load(Ordering::SeqCst) {
                    if !deletes.is_empty() {
                        eprintln!("s3io: a listing failed: nothing is deleted at the destination");
                    }
                    Vec::new()
                } else {
                    deletes
                };
                futures::stream::iter(deletes.into_iter().map(Ok))
            })
            .flatten(),
        );
    Ok(Box::pin(actions))
}

/// The two sides and the direction, from the arguments as typed.
fn roots(source: &str, destination: &str) -> Result<(Root, Root, Direction), UsageError> {
    let root = |text: &str| -> Result<Root, UsageError> {
        match Location::parse(text)? {
            Location::Local(path) => Ok(Root::Local(path)),
            Location::S3(mut url) => {
                if !url.key.is_empty() && !url.key.ends_with('/') {
                    url.key.push('/');
                }
                Ok(Root::S3(url))
            }
            Location::Stdio => Err(UsageError::new("sync works on directories and prefixes, not `-`")),
        }
    };
    let (source, destination) = (root(source)?, root(destination)?);
    let direction = match (&source, &destination) {
        (Root::Local(_), Root::S3(_)) => Direction::Upload,
        (Root::S3(_), Root::Local(_)) => Direction::Download,
        (Root::S3(a), Root::S3(b)) => {
            if a.bucket == b.bucket && (a.key.starts_with(&b.key) || b.key.starts_with(&a.key)) {
                return Err(UsageError::new(format!("{a} and {b} overlap: sync between them would feed on itself")));
            }
            Direction::Copy
        }
        (Root::Local(_), Root::Local(_)) => {
            return Err(UsageError::new("sync copies to or from S3: one of SRC and DST must be an s3:// URL"));
        }
    };
    Ok((source, destination, direction))
}

/// The filtered, sorted entries of one side.
fn side(
    client: &Client,
    root: &Root,
    direction: Direction,
    filters: &Filters,
    problems: &Arc<Problems>,
    is_source: bool,
    follow_links: bool,
) -> Entries {
    let filters = filters.clone();
    match root {
        Root::Local(dir) => {
            let problems = Arc::clone(problems);
            let entries = walk::walk(dir.clone(), follow_links).filter_map(move |found| {
                let entry = match found {
                    Ok(found) => filters.includes(&found.key).then_some(Entry {
                        key: found.key,
                        stat: Stat { size: found.size, modified: Some(found.modified) },
                        path: Some(found.path),
                    }),
                    Err(e) => {
                        problems.report(crate::escape::path(e.path()), e.to_string(), is_source);
                        None
                    }
                };
                futures::future::ready(entry.map(Ok))
            });
            Box::pin(entries)
        }
        Root::S3(url) => {
            let prefix_len = url.key.len();
            // Directory markers are no files: not downloaded, and not deleted when the source
            // is a local tree (it has no directory entries to compare them with).
            let skip_markers = direction != Direction::Copy;
            let entries = listing::list_objects(client, &url.bucket, &url.key).filter_map(move |listed| {
                let entry = match listed {
                    Ok(object) => {
                        let key = object.key.get(prefix_len..).unwrap_or_default();
                        let skipped_marker = skip_markers && key.ends_with('/');
                        let keep = !key.is_empty() && !skipped_marker && filters.includes(key);
                        keep.then(|| {
                            Ok(Entry {
                                key: key.to_owned(),
                                stat: Stat { size: object.size, modified: object.last_modified },
                                path: None,
                            })
                        })
                    }
                    Err(e) => Some(Err(e.into())),
                };
                futures::future::ready(entry)
            });
            Box::pin(entries)
        }
    }
}

impl Root {
    /// The object of relative `key` under an S3 root.
    fn object(&self, key: &str) -> S3Url {
        match self {
            Root::S3(url) => S3Url { bucket: url.bucket.clone(), key: format!("{}{key}", url.key) },
            Root::Local(_) => unreachable!("only S3 roots hold objects"),
        }
    }

    /// The local directory of a local root.
    fn dir(&self) -> &Path {
        match self {
            Root::Local(dir) => dir,
            Root::S3(_) => unreachable!("only local roots are directories"),
        }
    }
}

impl Planner {
    /// The action for one joined key, if any.
    async fn decide(&self, joined: Joined<Entry, Entry>, may_delete: bool) -> Option<Action> {
        match joined {
            Joined::SourceOnly(source) => Some(self.transfer(&source)),
            Joined::DestinationOnly(destination) => may_delete.then(|| self.remove(&destination)),
            Joined::Both(source, destination) => {
                let reason = match compare(self.direction, self.comparison, source.stat, destination.stat) {
                    Verdict::Same => return None,
                    Verdict::Differs(reason) => reason,
                    Verdict::CompareChecksums => match self.same_content(&source, &destination).await {
                        Ok(true) => return None,
                        Ok(false) => Reason::Checksum,
                        Err(e) => {
                            return Some(Action::Refuse {
                                object: self.source_name(&source),
                                reason: format!("comparing checksums: {}", crate::exit::one_line(&e)),
                            })
                        }
                    },
                };
                tracing::debug!(key = source.key, reason = reason.as_str(), "sync: the destination differs");
                Some(self.transfer(&source))
            }
        }
    }

    /// Whether both sides hold the same bytes (`--checksum`).
    async fn same_content(&self, source: &Entry, destination: &Entry) -> anyhow::Result<bool> {
        let path = |entry: &Entry| entry.path.clone().expect("local entries have a path");
        match (&self.source, &self.destination) {
            (Root::Local(_), Root::S3(_)) => {
                let object = self.destination.object(&destination.key);
                let object = (&*object.bucket, &*object.key, &self.head_destination);
                content::file_matches_object(&self.client, &path(source), object).await
            }
            (Root::S3(_), Root::Local(_)) => {
                let object = self.source.object(&source.key);
                let object = (&*object.bucket, &*object.key, &self.head_source);
                content::file_matches_object(&self.client, &path(destination), object).await
            }
            (Root::S3(_), Root::S3(_)) => {
                let (a, b) = (self.source.object(&source.key), self.destination.object(&destination.key));
                let (a, b) = ((&*a.bucket, &*a.key, &self.head_source), (&*b.bucket, &*b.key, &self.head_destination));
                content::object_matches_object(&self.client, a, b).await
            }
            (Root::Local(_), Root::Local(_)) => unreachable!("refused by `roots`"),
        }
    }

    /// How the source entry is printed in errors.
    fn source_name(&self, source: &Entry) -> String {
        match (&self.source, &source.path) {
            (_, Some(path)) => crate::escape::path(path),
            (root, None) => root.object(&source.key).to_string(),
        }
    }

    /// Copies `source` to the destination.
    fn transfer(&self, source: &Entry) -> Action {
        let size = source.stat.size;
        match self.direction {
            Direction::Upload => Action::Upload {
                source: source.path.clone().expect("local entries have a path"),
                destination: self.destination.object(&source.key),
                size,
            },
            Direction::Download => {
                let object = self.source.object(&source.key);
                match local_file(self.destination.dir(), &source.key) {
                    Ok(destination) => {
                        Action::Download { source: object, destination, size, modified: source.stat.modified }
                    }
                    Err(reason) => Action::Refuse { object: object.to_string(), reason },
                }
            }
            Direction::Copy => Action::Copy {
                source: self.source.object(&source.key),
                destination: self.destination.object(&source.key),
                size,
            },
        }
    }

    /// Deletes `destination`.
    fn remove(&self, destination: &Entry) -> Action {
        match &self.destination {
            Root::S3(_) => Action::Delete { target: self.destination.object(&destination.key) },
            Root::Local(dir) => Action::DeleteFile {
                path: destination.path.clone().expect("local entries have a path"),
                root: dir.clone(),
            },
        }
    }
}

/// The file under `root` that the object of relative `key` syncs to; the error says why the key
/// has none: it would escape `root`, or it would land on the file of another key (`a//b` and
/// `a/./b` on `a/b`), which the next sync would delete or download again.
fn local_file(root: &Path, key: &str) -> Result<PathBuf, String> {
    let path = match keypath::key_to_path(root, key).map_err(|e| e.to_string())? {
        LocalTarget::File(path) => path,
        LocalTarget::Directory(_) => return Err("directory markers are not synced to files".into()),
    };
    let relative = path.strip_prefix(root).map_err(|e| e.to_string())?;
    match keypath::path_to_key(relative) {
        Ok(round_trip) if round_trip == key => Ok(path),
        _ => {
            Err(format!("the key is not a plain relative path: it would be written to {}", crate::escape::path(&path)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_files_of_their_own() {
        let root = Path::new("/dst");
        assert_eq!(local_file(root, "a/b.txt").unwrap(), Path::new("/dst/a/b.txt"));
        assert_eq!(local_file(root, "odd name +%&é").unwrap(), Path::new("/dst/odd name +%&é"));
        for key in ["../evil", "/abs", "a/../../b", "a//b", "a/./b", "dir/", "./x"] {
            assert!(local_file(root, key).is_err(), "{key} was accepted");
        }
    }

    #[test]
    fn roots_are_directories_and_one_side_is_s3() {
        let (source, destination, direction) = roots("dir", "s3://b/p").unwrap();
        assert!(matches!(source, Root::Local(ref d) if d == Path::new("dir")));
        assert!(matches!(destination, Root::S3(ref u) if u.key == "p/"));
        assert_eq!(direction, Direction::Upload);
        let (source, _, direction) = roots("s3://b", "out/").unwrap();
        assert!(matches!(source, Root::S3(ref u) if u.key.is_empty()));
        assert_eq!(direction, Direction::Download);
        assert_eq!(roots("s3://a/x/", "s3://b/x").unwrap().2, Direction::Copy);
        assert!(roots("a", "b").is_err());
        assert!(roots("-", "s3://b/").is_err());
    }

    #[test]
    fn overlapping_s3_prefixes_are_refused() {
        assert!(roots("s3://b/a", "s3://b/a/sub").is_err());
        assert!(roots("s3://b/a/sub", "s3://b/a").is_err());
        assert!(roots("s3://b", "s3://b/x").is_err());
        // `a/` and `ab/` do not overlap.
        assert!(roots("s3://b/a", "s3://b/ab").is_ok());
        assert!(roots("s3://b/a", "s3://c/a").is_ok());
    }

    #[test]
    fn objects_are_the_prefix_and_the_relative_key() {
        let root = Root::S3(S3Url { bucket: "b".into(), key: "p/".into() });
        assert_eq!(root.object("a/k").to_string(), "s3://b/p/a/k");
        let bucket = Root::S3(S3Url { bucket: "b".into(), key: String::new() });
        assert_eq!(bucket.object("k").to_string(), "s3://b/k");
    }
}
