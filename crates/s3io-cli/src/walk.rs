//! A local directory walk in S3 key order, for uploads and for comparing a tree with a listing.
//!
//! S3 lists keys in byte order of their UTF-8 encoding. A directory walk in "natural" order does
//! not produce that order: `a-b` sorts before `a/b` as keys (`-` is 0x2D, `/` is 0x2F), but a walk
//! that visits the directory `a` before the file `a-b` yields `a/b` first. So each directory's
//! entries are sorted by name with `/` appended to the names of directories, and directories are
//! entered when their turn comes in that order. Concatenated, the entries come out in exactly the
//! order S3 would list their keys, so a tree and a listing can be merged as two sorted streams.
//!
//! Memory: one sorted list of entries per directory on the current path (depth × directory
//! width), never the whole tree. The file system calls are blocking, so the walk runs on a
//! blocking-pool thread ([`tokio::task::spawn_blocking`]) that feeds a bounded channel: it reads
//! ahead at most [`WALK_AHEAD`] entries and stops when the stream is dropped.
//!
//! Symbolic links are followed (unless the walk is told not to, `--no-follow-symlinks`: then
//! every link is skipped, as `aws s3 cp --no-follow-symlinks` does): a link to a file is uploaded as that file (under the link's
//! name), a link to a directory is walked as that directory. A link to a directory that is
//! already being walked (an ancestor, through any path) would loop forever; it is reported as an
//! error for that path and skipped, and so is a dangling link. Other special files (sockets,
//! FIFOs, devices) are skipped silently, as `aws s3` does.
//!
//! A file name that is not UTF-8 cannot be a key: it is reported as an error naming the path and
//! the walk goes on.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use futures::Stream;
use tokio::sync::mpsc;

use crate::keypath::{push_name, KeyPathError};

/// Entries the walking thread may read ahead of the consumer.
pub(crate) const WALK_AHEAD: usize = 256;

/// One regular file found by the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalEntry {
    /// The path relative to the walked root, with `/` separators: the key below the prefix.
    pub(crate) key: String,
    /// The file's path (the root joined with the relative path).
    pub(crate) path: PathBuf,
    /// Size in bytes.
    pub(crate) size: u64,
    /// Last modification time.
    pub(crate) modified: SystemTime,
}

/// What can go wrong for one path of the walk; the walk goes on after it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WalkError {
    /// A file system call failed (unreadable directory, dangling link, …).
    #[error("{path}: {source}", path = crate::escape::path(path))]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A symbolic link leads back to a directory that is being walked.
    #[error("{path}: symbolic link loop (the directory is already being walked); skipped", path = crate::escape::path(path))]
    Loop {
        /// The link.
        path: PathBuf,
    },
    /// A name that cannot be a key.
    #[error(transparent)]
    Key(#[from] KeyPathError),
}

impl WalkError {
    /// The path the error is about.
    pub(crate) fn path(&self) -> &Path {
        match self {
            WalkError::Io { path, .. } | WalkError::Loop { path } => path,
            WalkError::Key(KeyPathError::BadPath { path, .. }) => path,
            WalkError::Key(KeyPathError::Unsafe { .. }) => Path::new(""),
        }
    }
}

/// Walks `root` (a directory) in S3 key order, yielding its regular files (and, if
/// `follow_links`, files behind symbolic links) with keys relative to `root`. Errors for single
/// paths are yielded in place and the walk continues; an unreadable `root` yields one error.
pub(crate) fn walk(
    root: PathBuf,
    follow_links: bool,
) -> impl Stream<Item = Result<LocalEntry, WalkError>> + Send + 'static {
    let (sender, receiver) = mpsc::channel(WALK_AHEAD);
    tokio::task::spawn_blocking(move || Walker { sender, follow_links }.run(root));
    receiver_stream(receiver)
}

fn receiver_stream<T: Send + 'static>(mut receiver: mpsc::Receiver<T>) -> impl Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// One directory being walked: its remaining entries, sorted so that `pop` yields the next one.
struct Level {
    /// Entries in reverse key order.
    entries: Vec<Pending>,
    /// The key prefix of this directory (`""` or ending in `/`).
    prefix: String,
    /// Identity of the directory, for loop detection.
    identity: Option<(u64, u64)>,
}

/// An entry of a directory, classified, waiting for its turn.
struct Pending {
    /// The name, with `/` appended for directories: the sort key.
    sort_name: Vec<u8>,
    name: OsString,
    path: PathBuf,
    /// `Ok(metadata)` of the file or directory behind any link.
    metadata: io::Result<fs::Metadata>,
}

struct Walker {
    sender: mpsc::Sender<Result<LocalEntry, WalkError>>,
    /// Follow symbolic links; otherwise skip them.
    follow_links: bool,
}

impl Walker {
    /// Sends one item; `false` when the consumer has gone away.
    fn send(&self, item: Result<LocalEntry, WalkError>) -> bool {
        self.sender.blocking_send(item).is_ok()
    }

    fn run(self, root: PathBuf) {
        let root_identity = match fs::metadata(&root) {
            Ok(metadata) => identity(&metadata),
            Err(source) => {
                self.send(Err(WalkError::Io { path: root, source }));
                return;
            }
        };
        let mut stack = Vec::new();
        match read_level(&root, String::new(), root_identity, self.follow_links) {
            Ok(level) => stack.push(level),
            Err(error) => {
                self.send(Err(error));
                return;
            }
        }
        while let Some(level) = stack.last_mut() {
            let Some(entry) = level.entries.pop() else {
                stack.pop();
                continue;
            };
            let mut key = level.prefix.clone();
            if let Err(error) = push_name(&mut key, &entry.name, &entry.path) {
                if !self.send(Err(error.into())) {
                    return;
                }
                continue;
            }
            let metadata = match entry.metadata {
                Ok(metadata) => metadata,
                Err(source) => {
                    if !self.send(Err(WalkError::Io { path: entry.path, source })) {
                        return;
                    }
                    continue;
                }
            };
            let item = if metadata.is_dir() {
                let identity = identity(&metadata);
                if identity.is_some() && stack.iter().any(|level| level.identity == identity) {
                    Err(WalkError::Loop { path: entry.path })
                } else {
                    key.push('/');
                    match read_level(&entry.path, key, identity, self.follow_links) {
                        Ok(level) => {
                            stack.push(level);
                            continue;
                        }
                        Err(error) => Err(error),
                    }
                }
            } else if metadata.is_file() {
                Ok(LocalEntry {
                    key,
                    path: entry.path,
                    size: metadata.len(),
                    modified: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                })
            } else {
                continue;
            };
            if !self.send(item) {
                return;
            }
        }
    }
}

/// Reads and sorts one directory.
fn read_level(
    dir: &Path,
    prefix: String,
    identity: Option<(u64, u64)>,
    follow_links: bool,
) -> Result<Level, WalkError> {
    let io_error = |source| WalkError::Io { path: dir.to_owned(), source };
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let path = entry.path();
        let name = entry.file_name();
        // `fs::metadata` follows symbolic links; the directory entry's own type does not.
        let metadata = match entry.file_type() {
            Ok(kind) if kind.is_symlink() && !follow_links => continue,
            Ok(kind) if kind.is_symlink() => fs::metadata(&path),
            Ok(_) => entry.metadata(),
            Err(e) => Err(e),
        };
        let mut sort_name = name.as_encoded_bytes().to_vec();
        if metadata.as_ref().is_ok_and(fs::Metadata::is_dir) {
            sort_name.push(b'/');
        }
        entries.push(Pending { sort_name, name, path, metadata });
    }
    // Reverse order, so that `pop` takes the smallest.
    entries.sort_unstable_by(|a, b| b.sort_name.cmp(&a.sort_name));
    Ok(Level { entries, prefix, identity })
}

/// The (device, inode) pair of a directory, where the platform has one.
fn identity(metadata: &fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        Some((metadata.dev(), metadata.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        None
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt as _;

    use super::*;

    async fn keys(root: &Path) -> Vec<Result<String, String>> {
        walk(root.to_owned(), true).map(|item| item.map(|e| e.key).map_err(|e| e.to_string())).collect().await
    }

    fn touch(root: &Path, relative: &str, data: &[u8]) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }

    #[tokio::test]
    async fn yields_files_in_s3_key_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a/b", "a-b", "a0", "b/c/d", "b/c.txt", "Z", "é", "a/a/a"] {
            touch(dir.path(), name, b"x");
        }
        fs::create_dir_all(dir.path().join("empty/dir")).unwrap();
        let keys: Vec<String> = keys(dir.path()).await.into_iter().map(Result::unwrap).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys, ["Z", "a-b", "a/a/a", "a/b", "a0", "b/c.txt", "b/c/d", "é"]);
    }

    #[tokio::test]
    async fn entries_carry_size_and_path() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "d/f.bin", &[7; 1234]);
        let entries: Vec<LocalEntry> = walk(dir.path().to_owned(), true).map(Result::unwrap).collect().await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].key, "d/f.bin");
        assert_eq!(entries[0].size, 1234);
        assert_eq!(entries[0].path, dir.path().join("d/f.bin"));
    }

    #[tokio::test]
    async fn a_missing_root_is_one_error() {
        let dir = tempfile::tempdir().unwrap();
        let result = keys(&dir.path().join("missing")).await;
        assert_eq!(result.len(), 1);
        assert!(result[0].as_ref().unwrap_err().contains("missing"));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn links_are_followed_without_looping() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "real/f", b"x");
        symlink(dir.path().join("real/f"), dir.path().join("link-to-file")).unwrap();
        symlink(dir.path().join("real"), dir.path().join("link-to-dir")).unwrap();
        symlink(dir.path(), dir.path().join("real/loop")).unwrap();
        symlink(dir.path().join("nowhere"), dir.path().join("dangling")).unwrap();
        let result = keys(dir.path()).await;
        let ok: Vec<&String> = result.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(ok, ["link-to-dir/f", "link-to-file", "real/f"]);
        let errors: Vec<&String> = result.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errors.len(), 3, "{errors:?}"); // dangling, and the loop seen from two places
        assert!(errors.iter().any(|e| e.contains("dangling")));
        assert!(errors.iter().any(|e| e.contains("loop")));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn non_utf8_names_are_reported_and_skipped() {
        use std::os::unix::ffi::OsStrExt as _;
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "good", b"x");
        let bad = dir.path().join(std::ffi::OsStr::from_bytes(b"bad\xff"));
        if fs::write(&bad, b"x").is_err() {
            return; // a file system that refuses such names has nothing to test
        }
        let result = keys(dir.path()).await;
        assert_eq!(result.len(), 2);
        assert!(result.iter().any(|r| r.as_ref().is_err_and(|e| e.contains("not UTF-8"))));
        assert!(result.contains(&Ok("good".to_owned())));
    }
}
