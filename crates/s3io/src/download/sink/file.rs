//! The file sink: a download written into a temporary file, renamed into place when complete.
//!
//! The object is written to a temporary file next to the target, preallocated to the object's
//! size. Each worker's [`FileWriter`] gathers the HTTP body's frames (`Bytes`, no copy) until
//! [`STAGING_BUFFER_SIZE`] bytes are staged, then hands them to the file's one writing thread
//! ([`FileWrites`], a task of the blocking pool), which writes them at their offset with one
//! `pwritev` while the worker gathers the next batch: the bytes go from hyper's read buffer
//! straight to the page cache. Memory is a few MiB whatever the object size. The file is renamed
//! into place only when every part is in and verified; on failure, cancellation or a dropped
//! future the temporary file is removed.
//!
//! **Resuming.** With [`Download::resume`], the temporary file has a fixed name and a
//! [journal](crate::download::journal) beside it, to which each part is recorded once its bytes
//! are written. A later run to the same destination reads the journal, asks for the first
//! missing part with `If-Match` on the journaled ETag, and fetches only the missing parts; the
//! parts it reuses are read back and hashed when the object's full-object checksum is verified.
//! When the object changed (412), or the journal or the file is not usable, it starts afresh over
//! the same names. A failure that a later run may get past (a transport error, a timeout, a 5xx:
//! what the retries gave up on) keeps the temporary file and its journal; any other failure, and
//! a cancellation, removes both. A run without resuming removes the partial files a resumable
//! run left for its destination.
//!
//! With [`Download::fsync`] the file is synced before the rename and the directory after it, so
//! a download reported done survives a power loss.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::{PartWriter, Sink};
use crate::checksum::Hasher;
use crate::download::journal::{self, Journal, JournalState, Opened};
use crate::download::run::Run;
use crate::download::{Download, DownloadOutput, Plan};
use crate::error::{Error, ErrorContext, Result};

/// Bytes a file-download worker gathers before one positional write: 256 KiB, large enough that
/// a `pwritev` per batch costs little, small enough that 16 workers hold 8 MiB (two batches each:
/// one staged, one queued for the file's writing thread). A 1 GiB download to a file on loopback
/// (`cp`, 6 runs alternating): 1829 MiB/s, 0.76 CPU s/GiB, 34.4 MiB peak RSS at 256 KiB against
/// 1812, 0.80 and 41.7 at 512 KiB — the writing thread is the slower side there, and the batches
/// queued for it hold the read buffers their frames point into.
pub(crate) const STAGING_BUFFER_SIZE: usize = 256 * 1024;

/// Most frames gathered into one `pwritev` (far below Linux's `IOV_MAX` of 1024).
const MAX_FRAMES_PER_WRITE: usize = 64;

/// What a file download and its caller share about its temporary file.
#[derive(Debug, Default)]
pub(crate) struct TempFlags {
    /// Set when the [`TempFile`] is dropped armed: a file that a blocking task creates after that
    /// (the download was cancelled while the task ran) is removed by the task itself.
    dropped: AtomicBool,
    /// Set just before the rename into place: from then on the download is not cancelled (it
    /// completes, so its caller learns that the file is there).
    pub(crate) committing: AtomicBool,
}

/// Runs a download into the file at `path`.
pub(crate) async fn download(download: &Download, path: &Path, flags: Arc<TempFlags>) -> Result<DownloadOutput> {
    let context = download.context();
    let (partial, journal_path) = journal::paths(path);
    // Held here, not by the workers, so that the files go as soon as this future is dropped.
    let mut temp = TempFile { path: None, journal: None, armed: true, flags };
    if !download.transfer.resume {
        discard_partial(&context, partial, journal_path).await?;
        return fresh(download, path, &mut temp, None).await;
    }
    let opened = {
        let journal_path = journal_path.clone();
        blocking(&context, "opening the resume journal", &journal_path.clone(), move || {
            Journal::open(&journal_path, false)
        })
        .await?
    };
    let resumable = Some((partial, journal_path));
    let result = match opened {
        Opened::Open(journal, Some(state)) => {
            temp.journal = Some(Arc::new(journal));
            resume(download, path, &mut temp, state, resumable).await
        }
        Opened::Open(journal, None) => {
            // A journal of ours that says nothing usable: it is started afresh.
            temp.journal = Some(Arc::new(journal));
            fresh(download, path, &mut temp, resumable).await
        }
        Opened::Absent => fresh(download, path, &mut temp, resumable).await,
        Opened::Busy => {
            tracing::warn!(path = %path.display(), "another download to this file is in progress: not resuming");
            fresh(download, path, &mut temp, None).await
        }
    };
    if let Err(error) = &result {
        if crate::retry::classify(error).is_some() {
            // What the retries gave up on may pass later: keep the parts for the next run.
            temp.keep();
        }
    }
    result
}

/// Removes the partial file and journal a resumable run to the same destination left, unless a
/// run in progress holds them.
async fn discard_partial(context: &ErrorContext, partial: PathBuf, journal_path: PathBuf) -> Result<()> {
    let path = journal_path.clone();
    blocking(context, "removing a stale partial download", &path, move || {
        if let Opened::Open(_locked, _) = Journal::open(&journal_path, false)? {
            remove_if_present(&partial)?;
            remove_if_present(&journal_path)?;
        }
        Ok(())
    })
    .await
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A download from the first byte. With `resumable` (the partial file's and the journal's
/// paths), an object of more than one part with an ETag is journaled (so is any download whose
/// `temp` holds a journal already); otherwise it goes into a temporary file of a random name.
async fn fresh(
    download: &Download,
    path: &Path,
    temp: &mut TempFile,
    resumable: Option<(PathBuf, PathBuf)>,
) -> Result<DownloadOutput> {
    let (plan, first) = Plan::make(download).await?;
    let context = plan.context.clone();
    let size = plan.size;
    let mut journaled = false;
    if let Some((partial, journal_path)) = resumable {
        if temp.journal.is_none() && plan.part_count() > 1 && plan.etag.is_some() {
            let flags = temp.flags.clone();
            let opened = blocking(&context, "creating the resume journal", &journal_path.clone(), move || {
                let opened = Journal::open(&journal_path, true)?;
                remove_if_dropped(&flags, &journal_path);
                Ok(opened)
            })
            .await?;
            if let Opened::Open(journal, _) = opened {
                temp.journal = Some(Arc::new(journal));
            }
        }
        if temp.journal.is_some() {
            temp.path = Some(partial);
            journaled = true;
        }
    }
    let temp_path = temp.path.get_or_insert_with(|| temp_path(path)).clone();
    let file = blocking(&context, "creating", &temp_path, {
        let temp_path = temp_path.clone();
        let flags = temp.flags.clone();
        move || {
            let mut options = std::fs::OpenOptions::new();
            options.write(true);
            if journaled {
                // The fixed name of a resumable download: a stale file of that name is replaced.
                options.create(true).truncate(true);
            } else {
                options.create_new(true);
            }
            let file = options.open(&temp_path)?;
            remove_if_dropped(&flags, &temp_path);
            file.set_len(size)?;
            Ok(file)
        }
    })
    .await?;
    let journal = match &temp.journal {
        Some(journal) => {
            let (started, part_size, etag) = (journal.clone(), plan.part_size, plan.etag.clone());
            blocking(&context, "writing the resume journal", &journal.path, move || {
                started.start(size, part_size, etag.as_deref())
            })
            .await?;
            Some(journal.clone())
        }
        None => None,
    };
    let sink = FileSink::new(Arc::new(file), &temp_path, &context, journal);
    let run = Run::new(download, plan, sink);
    run.run(run.worker_count(u64::MAX), first).await?;
    finish(download, run, path, temp, 0).await
}

/// A download that goes on from what `state`, read from `journal`, says is in `temp` already —
/// or starts afresh when the object or the file changed.
async fn resume(
    download: &Download,
    path: &Path,
    temp: &mut TempFile,
    state: JournalState,
    resumable: Option<(PathBuf, PathBuf)>,
) -> Result<DownloadOutput> {
    let context = download.context();
    let journal = temp.journal.clone().expect("a resumed download holds its journal");
    let partial = resumable.as_ref().map(|(partial, _)| partial.clone()).expect("a resumable download");
    let usable = {
        let (partial, size) = (partial.clone(), state.size);
        blocking(&context, "opening", &partial.clone(), move || {
            match std::fs::OpenOptions::new().read(true).write(true).open(&partial) {
                Ok(file) if file.metadata()?.len() == size => Ok(Some(file)),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await?
    };
    let Some(file) = usable.filter(|_| !state.done.is_empty()) else {
        return fresh(download, path, temp, resumable).await;
    };
    temp.path = Some(partial.clone());
    let parts = state.part_count();
    let mut skip = vec![false; parts as usize];
    for &index in &state.done {
        skip[index as usize] = true;
    }
    // The first part missing; with none missing, the last one is asked for again, to check
    // that the object is still the one journaled.
    let first_index = skip.iter().position(|done| !done).map_or(parts - 1, |i| i as u64);
    let Some((plan, first)) = Plan::resume(download, &state, first_index).await? else {
        tracing::info!(path = %path.display(), "the object changed since the partial download: starting afresh");
        drop(file);
        return fresh(download, path, temp, resumable).await;
    };
    skip[first_index as usize] = true;
    let reused: Vec<u64> = state.done.iter().copied().filter(|&i| i != first_index).collect();
    let resumed_bytes: u64 = reused.iter().map(|&i| plan.part_range(i)).map(|(s, e)| e - s).sum();
    tracing::info!(path = %path.display(), resumed_bytes, size = plan.size, "resuming a partial download");
    if let Some(progress) = &download.progress {
        progress.add(resumed_bytes);
    }
    let file = Arc::new(file);
    // The reused parts' CRCs, for the full-object check: read back from the file while the
    // missing parts download.
    let hashing = plan.check.algorithm().map(|algorithm| {
        let (file, reused, plan) = (file.clone(), reused.clone(), plan.clone());
        tokio::task::spawn_blocking(move || hash_parts(&file, &plan, &reused, algorithm))
    });
    let sink = FileSink::new(file, &partial, &context, Some(journal));
    let run = Run::resuming(download, plan, sink, skip);
    run.run(run.worker_count(u64::MAX), first).await?;
    if let Some(hashing) = hashing {
        let crcs = hashing
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
            .map_err(|e| Error::io(context.clone(), "reading back", &partial, e))?;
        for (index, crc) in crcs {
            run.record_crc(index, crc);
        }
    }
    finish(download, run, path, temp, resumed_bytes).await
}

/// The CRCs of parts `indices` of `file`, read back. Blocking.
fn hash_parts(
    file: &std::fs::File,
    plan: &Plan,
    indices: &[u64],
    algorithm: crate::config::ChecksumAlgorithm,
) -> std::io::Result<Vec<(u64, u64)>> {
    use std::os::unix::fs::FileExt as _;
    let mut buffer = vec![0u8; STAGING_BUFFER_SIZE];
    let mut crcs = Vec::with_capacity(indices.len());
    for &index in indices {
        let (start, end) = plan.part_range(index);
        let mut hasher = Hasher::new(algorithm);
        let mut position = start;
        while position < end {
            let n = (end - position).min(buffer.len() as u64) as usize;
            file.read_exact_at(&mut buffer[..n], position)?;
            hasher.update(&buffer[..n]);
            position += n as u64;
        }
        crcs.push((index, hasher.crc().unwrap_or_default()));
    }
    Ok(crcs)
}

/// Verifies a run whose parts are all in, syncs if asked, renames the file into place and
/// removes its journal.
async fn finish(
    download: &Download,
    run: Arc<Run<FileSink>>,
    path: &Path,
    temp: &mut TempFile,
    resumed_bytes: u64,
) -> Result<DownloadOutput> {
    let context = run.plan.context.clone();
    let verified = run.verify().await?;
    let mut output = run.output(verified);
    output.resumed_bytes = resumed_bytes;
    let file = run.sink.file.clone();
    let temp_path = run.sink.path.clone();
    drop(run);
    if download.transfer.fsync {
        blocking(&context, "syncing", &temp_path, move || file.sync_all()).await?;
    } else {
        drop(file);
    }
    let (target, fsync) = (path.to_owned(), download.transfer.fsync);
    temp.flags.committing.store(true, Ordering::SeqCst);
    blocking(&context, "renaming into place", path, move || {
        std::fs::rename(&temp_path, &target)?;
        if fsync {
            let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })
    .await?;
    temp.path = None;
    if let Some(journal) = temp.journal.clone() {
        let journal_path = journal.path.clone();
        blocking(&context, "removing the resume journal", &journal.path, move || remove_if_present(&journal_path))
            .await?;
    }
    temp.keep();
    Ok(output)
}

/// The temporary file every worker writes into.
struct FileSink {
    file: Arc<std::fs::File>,
    path: PathBuf,
    context: ErrorContext,
    /// The resume journal each finished part is recorded in, if resumable.
    journal: Option<Arc<Journal>>,
    /// The thread every worker's batches are written by.
    writes: FileWrites,
}

impl FileSink {
    fn new(file: Arc<std::fs::File>, path: &Path, context: &ErrorContext, journal: Option<Arc<Journal>>) -> Self {
        Self { writes: FileWrites::start(file.clone()), file, path: path.to_owned(), context: context.clone(), journal }
    }
}

impl Sink for FileSink {
    type Writer = FileWriter;

    fn writer(&self) -> FileWriter {
        FileWriter {
            writes: self.writes.clone(),
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

    /// The part was flushed by its fetch: it is recorded in the journal, if any. A journal
    /// that cannot be written only costs the resumability of this part, so it is a warning.
    async fn finish_part(&self, _writer: &mut FileWriter, index: u64) -> Result<bool> {
        if let Some(journal) = &self.journal {
            if let Err(e) = journal.record(index).await {
                tracing::warn!(journal = %journal.path.display(), error = %e, "cannot record a finished part");
            }
        }
        Ok(true)
    }
}

/// A temporary file (and its resume journal, if any) that is removed unless [`TempFile::keep`]
/// was called.
struct TempFile {
    /// The temporary file, once named.
    path: Option<PathBuf>,
    /// The resume journal, if the download is journaled (its lock is held while this lives).
    journal: Option<Arc<Journal>>,
    armed: bool,
    flags: Arc<TempFlags>,
}

/// Called by a blocking task right after it created `path` for a [`TempFile`]: if the TempFile
/// was dropped meanwhile (its own unlink may have come before the file existed), removes it.
fn remove_if_dropped(flags: &TempFlags, path: &Path) {
    if flags.dropped.load(Ordering::SeqCst) {
        let _ = std::fs::remove_file(path);
    }
}

impl TempFile {
    fn keep(&mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Before the unlinks: a blocking task creating one of the files now removes it.
            self.flags.dropped.store(true, Ordering::SeqCst);
            // Unlinking is one quick metadata call; done inline so it also happens on cancellation.
            if let Some(path) = &self.path {
                let _ = std::fs::remove_file(path);
            }
            if let Some(journal) = &self.journal {
                let _ = std::fs::remove_file(&journal.path);
            }
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

/// The thread that writes one file: the workers' batches, one after the other, as they come.
///
/// A buffered write holds the file's inode lock for its whole copy (ext4, XFS and tmpfs take it
/// exclusively), so concurrent `pwritev`s into one file never ran side by side: with a blocking
/// task per batch, the waiting ones spun on the lock in the kernel (`rwsem_spin_on_owner`, 6% of a
/// loopback 1 GiB download's CPU at 16 workers, a fifth when the copies were slow). One thread
/// per file writes each batch as soon as the previous one is done, without a wake-up between
/// them, far faster than the network fills it; it ends when the sink and its writers are gone.
#[derive(Clone)]
struct FileWrites {
    jobs: std::sync::mpsc::Sender<WriteJob>,
}

/// One batch for a file's writing thread, and where its result (the emptied frame list) goes.
struct WriteJob {
    frames: Vec<Bytes>,
    offset: u64,
    done: oneshot::Sender<std::io::Result<Vec<Bytes>>>,
}

impl FileWrites {
    /// Starts the thread writing `file` (a task of the blocking pool).
    fn start(file: Arc<std::fs::File>) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<WriteJob>();
        tokio::task::spawn_blocking(move || {
            while let Ok(WriteJob { mut frames, offset, done }) = queue.recv() {
                let result = write_all_vectored_at(&file, &frames, offset);
                frames.clear();
                let _ = done.send(result.map(|()| frames));
            }
        });
        Self { jobs }
    }
}

/// Gathers a worker's frames and hands them to the file's writing thread ([`FileWrites`]), one
/// batch in flight while the next gathers.
struct FileWriter {
    writes: FileWrites,
    path: PathBuf,
    context: ErrorContext,
    /// Frames of the next write, contiguous from `staged_at`.
    staged: Vec<Bytes>,
    staged_len: usize,
    staged_at: u64,
    /// The other batch's (empty) frame list, while no write is in flight.
    spare: Option<Vec<Bytes>>,
    pending: Option<oneshot::Receiver<std::io::Result<Vec<Bytes>>>>,
}

impl FileWriter {
    fn io_error(&self, error: std::io::Error) -> Error {
        Error::io(self.context.clone(), "writing", &self.path, error)
    }

    /// The file's writing thread is gone (it panicked): the write cannot have happened.
    fn writer_gone(&self) -> Error {
        self.io_error(std::io::Error::other("the file's writing thread ended"))
    }

    async fn wait_pending(&mut self) -> Result<()> {
        if let Some(pending) = self.pending.take() {
            let frames = match pending.await {
                Ok(result) => result.map_err(|e| self.io_error(e))?,
                Err(_) => return Err(self.writer_gone()),
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
        let frames = std::mem::replace(&mut self.staged, next);
        self.staged_len = 0;
        let (done, pending) = oneshot::channel();
        if self.writes.jobs.send(WriteJob { frames, offset: self.staged_at, done }).is_err() {
            return Err(self.writer_gone());
        }
        self.pending = Some(pending);
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
