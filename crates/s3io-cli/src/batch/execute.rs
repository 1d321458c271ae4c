//! Execution of one action (anything but a delete of an object, which [`super::deletes`]
//! batches): the transfer through [`crate::transfer`], a directory made, a local file deleted
//! within its root; and what came of it as an [`Outcome`] turned into a [`Record`].
//!
//! Every task shares one [`Shared`]: the client (one pool for the whole job), the byte counter
//! behind the progress bar, and the last directory created (keys arrive sorted, so neighbours
//! usually share a parent and need no `create_dir_all` of their own).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use s3io::{Client, Progress};

use super::action::{Action, Planned};
use super::report::{ClientFigures, Record, Status};
use crate::object::ObjectSettings;
use crate::{clobber, exit, transfer};

/// What the tasks share: the client, the byte counter behind the bar, the last directory made.
pub(super) struct Shared {
    pub(super) client: Client,
    pub(super) progress: Arc<Progress>,
    pub(super) no_clobber: bool,
    pub(super) object: Arc<ObjectSettings>,
    /// `mv`: a download's, upload's or copy's source is deleted once it succeeded.
    pub(super) move_sources: bool,
    /// The parent directory most recently created: keys come in order, so neighbours usually
    /// share it and need no `create_dir_all` of their own.
    pub(super) last_dir: Mutex<Option<PathBuf>>,
}

/// What came of an action that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Done: the bytes it moved and the checksum it verified or computed (for copies, the new
    /// ETag), if any.
    Done { size: u64, checksum: Option<String> },
    /// Skipped: the destination file exists and `--no-clobber` keeps it (an object that exists
    /// is a [`clobber::Exists`] error).
    Skipped,
}

impl Outcome {
    fn done(size: u64, checksum: Option<String>) -> Self {
        Outcome::Done { size, checksum }
    }
}

/// Runs one action (not a delete) and says how it went; nothing if a signal stopped it (it did not
/// happen: a download's temporary file is gone, an upload is aborted).
pub(super) async fn execute(shared: &Shared, planned: Planned) -> Option<Record> {
    let Planned { action, line } = planned;
    let started = Instant::now();
    let (source, destination) = action.names();
    // A `run` line's own flags, else the batch's.
    let (no_clobber, move_sources, object) = match &line {
        Some(line) => (line.no_clobber, line.move_sources, &line.object),
        None => (shared.no_clobber, shared.move_sources, &shared.object),
    };
    let moves = move_sources && action.is_transfer();
    let operation = if moves { "move" } else { action.verb() };
    let downloads = matches!(action, Action::Download { .. });
    let work = async {
        match action {
            Action::Download { source, destination, modified, .. } => {
                if no_clobber && tokio::fs::symlink_metadata(&destination).await.is_ok() {
                    return Ok(Outcome::Skipped);
                }
                shared.ensure_parent(&destination).await?;
                let progress = Some(&shared.progress);
                // A signal cancels the download unless it is renaming into place: then it
                // finishes and is reported (see `batch::run`).
                let stopping = Some(crate::signal::stopping());
                let object = &shared.object;
                let output = transfer::download_to_file(
                    &shared.client,
                    &source,
                    object,
                    &destination,
                    progress,
                    modified,
                    stopping,
                )
                .await?;
                if moves {
                    shared.client.delete_object(&source.bucket, &source.key).await?;
                }
                let checksum = output.verified_checksum.map(|c| format!("{}:{}", c.algorithm.name(), c.value));
                Ok(Outcome::done(output.size, checksum))
            }
            Action::MakeDirectory { destination, .. } => {
                tokio::fs::create_dir_all(&destination)
                    .await
                    .map_err(|e| anyhow::anyhow!("creating directory {}: {e}", crate::escape::path(&destination)))?;
                Ok(Outcome::done(0, None))
            }
            Action::Upload { source, destination, .. } => {
                let client = &shared.client;
                let progress = Some(&shared.progress);
                let output = clobber::write(client, &destination, no_clobber, |condition| {
                    transfer::upload_file(client, &source, &destination, object, progress, condition)
                })
                .await?;
                if moves {
                    tokio::fs::remove_file(&source).await.map_err(|e| {
                        anyhow::anyhow!("deleting the moved file {}: {e}", crate::escape::path(&source))
                    })?;
                }
                let checksum = output.checksum.map(|c| format!("{}:{}", c.algorithm.name(), c.value));
                Ok(Outcome::done(output.size, checksum))
            }
            Action::Copy { source, destination, size } => {
                if moves && source == destination {
                    anyhow::bail!("cannot move {source} onto itself");
                }
                let client = &shared.client;
                let etag = clobber::write(client, &destination, no_clobber, |condition| {
                    transfer::copy_object(client, &source, &destination, object, condition)
                })
                .await?;
                if moves {
                    shared.client.delete_object(&source.bucket, &source.key).await?;
                }
                shared.progress.add(size);
                Ok(Outcome::done(size, etag))
            }
            Action::DeleteFile { path, root } => {
                delete_file(path, root).await?;
                Ok(Outcome::done(0, None))
            }
            Action::Delete { .. } | Action::Refuse { .. } => unreachable!("handled by the runner"),
        }
    };
    let stopping = crate::signal::stopping();
    let result: anyhow::Result<Outcome> = if downloads {
        // A download watches the signal itself, so as never to be stopped while renaming.
        work.await
    } else {
        tokio::select! {
            biased;
            result = work => result,
            () = stopping.cancelled() => return None,
        }
    };
    if result.is_err() && stopping.is_cancelled() {
        // Failed because it was cancelled (or while the job stops): not reported.
        return None;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut record = Record {
        line: line.map(|line| line.number),
        operation,
        source,
        destination,
        size: 0,
        seconds,
        checksum: None,
        status: Status::Ok,
        error: None,
        client: Some(ClientFigures::of(&shared.client)),
    };
    match result {
        Ok(Outcome::Done { size, checksum }) => {
            record.size = size;
            record.checksum = checksum;
        }
        Ok(Outcome::Skipped) => record.status = Status::Skipped,
        Err(error) if clobber::is_exists(&error) => record.status = Status::Skipped,
        Err(error) => {
            record.status = Status::Failed;
            record.error = Some(exit::one_line(&error));
        }
    }
    Some(record)
}

/// Deletes the local file `path` if its directory, links resolved, lies under `root` (see
/// [`Action::DeleteFile`]); on the blocking pool.
async fn delete_file(path: PathBuf, root: PathBuf) -> anyhow::Result<()> {
    let task = tokio::task::spawn_blocking(move || {
        let root = std::fs::canonicalize(&root).map_err(|e| anyhow::anyhow!("{}: {e}", crate::escape::path(&root)))?;
        let parent = path.parent().unwrap_or(Path::new("."));
        let parent =
            std::fs::canonicalize(parent).map_err(|e| anyhow::anyhow!("{}: {e}", crate::escape::path(parent)))?;
        if !parent.starts_with(&root) {
            anyhow::bail!(
                "not deleting {}: through a symbolic link it lies in {}, outside {}",
                crate::escape::path(&path),
                crate::escape::path(&parent),
                crate::escape::path(&root)
            );
        }
        // The file itself may be a link: that removes the link, not its target.
        std::fs::remove_file(&path).map_err(|e| anyhow::anyhow!("deleting {}: {e}", crate::escape::path(&path)))
    });
    task.await?
}

impl Shared {
    /// Creates the parent directory of `file` unless it was the last one created.
    async fn ensure_parent(&self, file: &Path) -> anyhow::Result<()> {
        let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) else { return Ok(()) };
        if self.last_dir.lock().expect("not poisoned").as_deref() == Some(parent) {
            return Ok(());
        }
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| anyhow::anyhow!("creating directory {}: {e}", crate::escape::path(parent)))?;
        *self.last_dir.lock().expect("not poisoned") = Some(parent.to_owned());
        Ok(())
    }
}
