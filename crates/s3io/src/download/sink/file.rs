//! The file sink: a download written into a temporary file, renamed into place when complete.
//!
//! The object is written to a temporary file next to the target, preallocated to the object's
//! size. Each worker's [`FileWriter`] gathers the HTTP body's frames (`Bytes`, no copy) until
//! [`STAGING_BUFFER_SIZE`] bytes are staged, then writes them at their offset with one `pwritev` on
//! the blocking pool while it gathers the next batch: the bytes go from hyper's read buffer
//! straight to the page cache. Memory is a few MiB whatever the object size. The file is renamed
//! into place only when every part is in and verified; on failure, cancellation or a dropped
//! future the temporary file is removed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::{PartWriter, Sink};
use crate::download::part::FirstAnswer;
use crate::download::run::Run;
use crate::download::{Download, DownloadOutput, Plan};
use crate::error::{Error, ErrorContext, Result};

/// Bytes a file-download worker gathers before one positional write: 512 KiB, large enough that
/// a `pwritev` per batch costs little, small enough that 16 workers hold 16 MiB (two batches each).
pub(crate) const STAGING_BUFFER_SIZE: usize = 512 * 1024;

/// Most frames gathered into one `pwritev` (far below Linux's `IOV_MAX` of 1024).
const MAX_FRAMES_PER_WRITE: usize = 64;

/// Runs a planned download into the file at `path`.
pub(crate) async fn download(
    download: &Download,
    plan: Plan,
    first: FirstAnswer,
    path: &Path,
) -> Result<DownloadOutput> {
    let context = plan.context.clone();
    // Held here, not by the workers, so that the file goes as soon as this future is dropped.
    let temp = TempFile { path: temp_path(path), armed: true };
    let temp_path = temp.path.clone();
    let size = plan.size;
    let file = blocking(&context, "creating", &temp_path, {
        let temp_path = temp_path.clone();
        move || {
            let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp_path)?;
            file.set_len(size)?;
            Ok(file)
        }
    })
    .await?;
    let sink = FileSink { file: Arc::new(file), path: temp_path.clone(), context: context.clone() };
    let run = Run::new(download, plan, sink);
    run.run(run.worker_count(u64::MAX), first).await?;
    let verified = run.verify().await?;
    let output = run.output(verified);
    drop(run);
    let target = path.to_owned();
    blocking(&context, "renaming into place", path, move || std::fs::rename(&temp_path, &target)).await?;
    temp.keep();
    Ok(output)
}

/// The temporary file every worker writes into.
struct FileSink {
    file: Arc<std::fs::File>,
    path: PathBuf,
    context: ErrorContext,
}

impl Sink for FileSink {
    type Writer = FileWriter;

    fn writer(&self) -> FileWriter {
        FileWriter {
            file: self.file.clone(),
            path: self.path.clone(),
            context: self.context.clone(),
            staged: Vec::with_capacity(MAX_FRAMES_PER_WRITE),
            staged_len: 0,
            staged_at: 0,
            spare: Some(Vec::with_capacity(MAX_FRAMES_PER_WRITE)),
            pending: None,
        }
    }

    async fn start_part(&self, _writer: &mut FileWriter, _index: u64, _range: (u64, u64)) -> Result<bool> {
        Ok(true)
    }

    /// The part was flushed by its fetch: nothing more to do.
    async fn finish_part(&self, _writer: &mut FileWriter, _index: u64) -> Result<bool> {
        Ok(true)
    }
}

/// A temporary file that is removed unless [`TempFile::keep`] was called.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Unlinking is one quick metadata call; done inline so it also happens on cancellation.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "download".into());
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.join(format!(".{name}.s3io-{:016x}.tmp", rand::random::<u64>()))
}

async fn blocking<T: Send + 'static>(
    context: &ErrorContext,
    action: &'static str,
    path: &Path,
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|e| Error::io(context.clone(), action, path, e)),
        Err(e) => Err(Error::io(context.clone(), action, path, std::io::Error::other(e))),
    }
}

/// Gathers a worker's frames and writes them with `pwritev` off the runtime threads, one batch in
/// flight while the next gathers.
struct FileWriter {
    file: Arc<std::fs::File>,
    path: PathBuf,
    context: ErrorContext,
    /// Frames of the next write, contiguous from `staged_at`.
    staged: Vec<Bytes>,
    staged_len: usize,
    staged_at: u64,
    /// The other batch's (empty) frame list, while no write is in flight.
    spare: Option<Vec<Bytes>>,
    pending: Option<tokio::task::JoinHandle<std::io::Result<Vec<Bytes>>>>,
}

impl FileWriter {
    fn io_error(&self, error: std::io::Error) -> Error {
        Error::io(self.context.clone(), "writing", &self.path, error)
    }

    async fn wait_pending(&mut self) -> Result<()> {
        if let Some(pending) = self.pending.take() {
            let frames = match pending.await {
                Ok(result) => result.map_err(|e| self.io_error(e))?,
                Err(e) => return Err(self.io_error(std::io::Error::other(e))),
            };
            self.spare = Some(frames);
        }
        Ok(())
    }

    /// Starts writing the staged frames and switches to the spare list.
    async fn submit(&mut self) -> Result<()> {
        if self.staged.is_empty() {
            return Ok(());
        }
        self.wait_pending().await?;
        let next = self.spare.take().unwrap_or_default();
        let mut batch = std::mem::replace(&mut self.staged, next);
        let file = self.file.clone();
        let offset = self.staged_at;
        self.staged_len = 0;
        self.pending = Some(tokio::task::spawn_blocking(move || {
            let result = write_all_vectored_at(&file, &batch, offset);
            batch.clear();
            result.map(|()| batch)
        }));
        Ok(())
    }
}

/// Writes every frame at `offset` onwards with `pwritev`, resuming after short writes.
fn write_all_vectored_at(file: &std::fs::File, frames: &[Bytes], mut offset: u64) -> std::io::Result<()> {
    let mut slices = [std::io::IoSlice::new(&[]); MAX_FRAMES_PER_WRITE];
    let count = frames.len().min(MAX_FRAMES_PER_WRITE);
    for (slot, frame) in slices.iter_mut().zip(frames) {
        *slot = std::io::IoSlice::new(frame);
    }
    let mut remaining = &mut slices[..count];
    while !remaining.is_empty() {
        match rustix::io::pwritev(file, remaining, offset) {
            Ok(0) => return Err(std::io::Error::new(std::io::ErrorKind::WriteZero, "pwritev wrote nothing")),
            Ok(written) => {
                offset += written as u64;
                std::io::IoSlice::advance_slices(&mut remaining, written);
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

impl PartWriter for FileWriter {
    async fn write(&mut self, offset: u64, chunk: Bytes) -> Result<()> {
        if !self.staged.is_empty() && offset != self.staged_at + self.staged_len as u64 {
            self.submit().await?;
        }
        if self.staged.is_empty() {
            self.staged_at = offset;
        }
        self.staged_len += chunk.len();
        self.staged.push(chunk);
        if self.staged_len >= STAGING_BUFFER_SIZE || self.staged.len() == MAX_FRAMES_PER_WRITE {
            self.submit().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        self.submit().await?;
        self.wait_pending().await
    }
}
