//! Where downloaded bytes go: a file, memory, or an in-order stream; and the worker set that
//! feeds them.
//!
//! - **File**: the object is written to a temporary file next to the target, preallocated to the
//!   object's size. Each worker gathers the HTTP body's frames (`Bytes`, no copy) until
//!   [`STAGING_BUFFER_SIZE`] bytes are staged, then writes them at their offset with one
//!   `pwritev` on the blocking pool while it gathers the next batch: the bytes go from hyper's read
//!   buffer straight to the page cache. Memory is a few MiB whatever the object size.
//!   The file is renamed into place only when every part is in and verified; on failure,
//!   cancellation or a dropped future the temporary file is removed.
//! - **Memory**: one buffer of the object's size, cut into disjoint per-part pieces that workers
//!   fill in place and that are joined again without a copy.
//! - **Stream**: each part is read into a pooled part-sized buffer and handed to the writer, which
//!   writes parts in order. A worker does not request a part until it is within the reordering
//!   window (`memory_limit / part_size` parts past the next one to write), so memory stays under
//!   the limit however far ahead the other parts run.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::task::JoinSet;

use super::worker::{fetch_part, first_request, PartWriter};
use super::{Download, DownloadOutput, Plan};
use crate::buffer::PooledBuffer;
use crate::checksum::{crc32c_combine, crc64nvme_combine, ChecksumValue, CrcCombiner, Hasher};
use crate::client::Client;
use crate::config::{ChecksumAlgorithm, ChecksumMode};
use crate::error::{Error, ErrorContext, Result};
use crate::progress::Progress;
use crate::s3::object::GetObjectOutput;

/// Bytes a file-download worker gathers before one positional write: 512 KiB, large enough that
/// a `pwritev` per batch costs little, small enough that 16 workers hold 16 MiB (two batches each).
pub const STAGING_BUFFER_SIZE: usize = 512 * 1024;

/// Most frames gathered into one `pwritev` (far below Linux's `IOV_MAX` of 1024).
const MAX_FRAMES_PER_WRITE: usize = 64;

/// State the workers of one download share.
struct Shared {
    client: Client,
    plan: Plan,
    next_part: AtomicU64,
    /// Per-part CRCs, when verifying.
    crcs: Mutex<Vec<Option<u64>>>,
    verify: Option<ChecksumAlgorithm>,
    progress: Option<Arc<Progress>>,
    /// Head-of-line parts requested a second time (stream sink).
    hedged: AtomicU64,
}

impl Shared {
    fn take_part(&self) -> Option<u64> {
        let index = self.next_part.fetch_add(1, Ordering::Relaxed);
        (index < self.plan.part_count()).then_some(index)
    }

    fn hasher(&self) -> Option<Hasher> {
        self.verify.map(Hasher::new)
    }

    fn record_crc(&self, index: u64, hasher: Option<Hasher>) {
        if let Some(crc) = hasher.and_then(|h| h.crc()) {
            self.crcs.lock().unwrap_or_else(|p| p.into_inner())[index as usize] = Some(crc);
        }
    }
}

/// The checksum to verify against, and the algorithm to compute.
struct Verification {
    expected: Option<ChecksumValue>,
}

/// Decides what to verify. A whole-object answer carries the checksum itself; for a multi-part
/// download a HEAD (one round-trip, once per large object) fetches it and checks the ETag.
async fn verification(download: &Download, plan: &Plan, first: &GetObjectOutput) -> Result<Verification> {
    if download.transfer.checksum_mode == ChecksumMode::WhenRequired {
        return Ok(Verification { expected: None });
    }
    if plan.part_count() == 1 {
        return Ok(Verification { expected: pick_checksum(&first.info.checksums, true) });
    }
    let head = download.client.head_object(&plan.bucket, &plan.key).await?;
    if head.etag.is_some() && head.etag != plan.etag {
        return Err(Error::service(
            plan.context.clone(),
            crate::error::ServiceError {
                status: 412,
                code: "PreconditionFailed".into(),
                message: Some("the object changed during the download (its ETag changed)".into()),
                request_id: None,
            },
        ));
    }
    Ok(Verification { expected: pick_checksum(&head.checksums, false) })
}

/// CRC64NVME when present; CRC32C too for single-request objects (multi-part downloads compute
/// only CRC64NVME, the default of current AWS SDKs, to keep one CRC pass per byte).
fn pick_checksum(checksums: &[ChecksumValue], allow_crc32c: bool) -> Option<ChecksumValue> {
    let find = |a| checksums.iter().find(|c| c.algorithm == a).cloned();
    find(ChecksumAlgorithm::Crc64Nvme).or_else(|| if allow_crc32c { find(ChecksumAlgorithm::Crc32c) } else { None })
}

fn new_shared(download: &Download, plan: Plan, verification: &Verification) -> Arc<Shared> {
    let parts = plan.part_count() as usize;
    Arc::new(Shared {
        client: download.client.clone(),
        verify: verification.expected.as_ref().map(|c| c.algorithm),
        crcs: Mutex::new(vec![None; if verification.expected.is_some() { parts } else { 0 }]),
        next_part: AtomicU64::new(1),
        plan,
        progress: download.progress.clone(),
        hedged: AtomicU64::new(0),
    })
}

/// Combines the part CRCs and compares with the expected value.
fn verify(shared: &Shared, verification: Verification) -> Result<Option<ChecksumValue>> {
    let Some(expected) = verification.expected else { return Ok(None) };
    let crcs = shared.crcs.lock().unwrap_or_else(|p| p.into_inner());
    let plan = &shared.plan;
    // Every part but the last has the part size: one precomputed operator serves them all.
    let combiner = CrcCombiner::new(expected.algorithm, plan.part_size);
    let mut combined: Option<u64> = None;
    for (index, crc) in crcs.iter().enumerate() {
        let Some(crc) = *crc else {
            return Err(Error::invalid_response(
                plan.context.clone(),
                format!("no checksum computed for part {index}"),
            ));
        };
        let (start, end) = plan.part_range(index as u64);
        combined = Some(match (combined, expected.algorithm) {
            (None, _) => crc,
            (Some(acc), _) if end - start == plan.part_size => combiner.combine(acc, crc),
            (Some(acc), ChecksumAlgorithm::Crc32c) => u64::from(crc32c_combine(acc as u32, crc as u32, end - start)),
            (Some(acc), _) => crc64nvme_combine(acc, crc, end - start),
        });
    }
    let computed = Hasher::value_from_crc(expected.algorithm, combined.unwrap_or_default());
    if computed != expected {
        return Err(Error::ChecksumMismatch {
            context: Box::new(plan.context.clone()),
            algorithm: expected.algorithm.name(),
            expected: expected.value,
            computed: computed.value,
        });
    }
    Ok(Some(expected))
}

/// Runs `make_worker(first_answer)` for worker 0 and `make_worker(None)` for the others, as tasks
/// of a `JoinSet` (all aborted if this future is dropped); the first error stops the rest.
async fn run_workers<F, Fut>(workers: usize, first: GetObjectOutput, make_worker: F) -> Result<()>
where
    F: Fn(Option<GetObjectOutput>) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let mut set = JoinSet::new();
    set.spawn(make_worker(Some(first)));
    for _ in 1..workers {
        set.spawn(make_worker(None));
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                set.abort_all();
                return Err(error);
            }
            Err(join_error) if join_error.is_panic() => std::panic::resume_unwind(join_error.into_panic()),
            Err(_) => {}
        }
    }
    Ok(())
}

fn worker_count(download: &Download, plan: &Plan) -> usize {
    (download.transfer.concurrency as u64).min(plan.part_count()).max(1) as usize
}

fn output(plan: &Plan, verified_checksum: Option<ChecksumValue>) -> DownloadOutput {
    DownloadOutput {
        size: plan.size,
        etag: plan.etag.clone(),
        parts: plan.part_count(),
        verified_checksum,
        hedged_parts: 0,
        last_modified: plan.last_modified,
    }
}

// ---------------------------------------------------------------------------------------------
// File sink

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

pub(crate) async fn download_to_file(download: Download, path: PathBuf) -> Result<DownloadOutput> {
    let (plan, first) = first_request(&download).await?;
    let verification = verification(&download, &plan, &first).await?;
    let context = plan.context.clone();
    let temp = TempFile { path: temp_path(&path), armed: true };
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
    let file = Arc::new(file);
    let workers = worker_count(&download, &plan);
    let shared = new_shared(&download, plan, &verification);
    run_workers(workers, first, |first| {
        let shared = shared.clone();
        let file = file.clone();
        let path = temp_path.clone();
        async move {
            let mut writer = FileWriter {
                file,
                path,
                context: shared.plan.context.clone(),
                staged: Vec::with_capacity(MAX_FRAMES_PER_WRITE),
                staged_len: 0,
                staged_at: 0,
                spare: Some(Vec::with_capacity(MAX_FRAMES_PER_WRITE)),
                pending: None,
            };
            let mut first = first;
            let mut index = if first.is_some() { Some(0) } else { shared.take_part() };
            while let Some(part) = index {
                let mut hasher = shared.hasher();
                fetch_part(
                    &shared.client,
                    &shared.plan,
                    part,
                    first.take(),
                    &mut writer,
                    hasher.as_mut(),
                    shared.progress.as_ref(),
                )
                .await?;
                shared.record_crc(part, hasher);
                index = shared.take_part();
            }
            Ok(())
        }
    })
    .await?;
    let verified = verify(&shared, verification)?;
    drop(file);
    let target = path.clone();
    blocking(&context, "renaming into place", &path, move || std::fs::rename(&temp_path, &target)).await?;
    temp.keep();
    Ok(output(&shared.plan, verified))
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

// ---------------------------------------------------------------------------------------------
// Memory sink

pub(crate) async fn download_to_memory(download: Download, mut buffer: BytesMut) -> Result<(BytesMut, DownloadOutput)> {
    let (plan, first) = first_request(&download).await?;
    let verification = verification(&download, &plan, &first).await?;
    buffer.clear();
    buffer.resize(plan.size as usize, 0);
    if plan.part_count() == 1 {
        // One request: fill in place in this task, no worker needed.
        let shared = new_shared(&download, plan, &verification);
        let mut writer = MemoryWriter { part: buffer, part_start: 0 };
        let mut hasher = shared.hasher();
        fetch_part(
            &shared.client,
            &shared.plan,
            0,
            Some(first),
            &mut writer,
            hasher.as_mut(),
            shared.progress.as_ref(),
        )
        .await?;
        shared.record_crc(0, hasher);
        let verified = verify(&shared, verification)?;
        return Ok((writer.part, output(&shared.plan, verified)));
    }
    // Cut the buffer into per-part pieces; workers fill them; unsplit joins them without a copy.
    let mut pieces = Vec::with_capacity(plan.part_count() as usize);
    for index in 0..plan.part_count() {
        let (start, end) = plan.part_range(index);
        let piece = if index + 1 == plan.part_count() {
            std::mem::take(&mut buffer)
        } else {
            buffer.split_to((end - start) as usize)
        };
        pieces.push(Mutex::new(Some(piece)));
    }
    let pieces = Arc::new(pieces);
    let workers = worker_count(&download, &plan);
    let shared = new_shared(&download, plan, &verification);
    run_workers(workers, first, |first| {
        let shared = shared.clone();
        let pieces = pieces.clone();
        async move {
            let mut first = first;
            let mut index = if first.is_some() { Some(0) } else { shared.take_part() };
            while let Some(part) = index {
                let piece = pieces[part as usize].lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default();
                let mut writer = MemoryWriter { part: piece, part_start: shared.plan.part_range(part).0 };
                let mut hasher = shared.hasher();
                fetch_part(
                    &shared.client,
                    &shared.plan,
                    part,
                    first.take(),
                    &mut writer,
                    hasher.as_mut(),
                    shared.progress.as_ref(),
                )
                .await?;
                shared.record_crc(part, hasher);
                *pieces[part as usize].lock().unwrap_or_else(|p| p.into_inner()) = Some(writer.part);
                index = shared.take_part();
            }
            Ok(())
        }
    })
    .await?;
    let verified = verify(&shared, verification)?;
    let mut joined = BytesMut::new();
    for piece in pieces.iter() {
        let piece = piece.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default();
        joined.unsplit(piece);
    }
    Ok((joined, output(&shared.plan, verified)))
}

/// Copies a part's chunks into its piece of the destination buffer.
struct MemoryWriter {
    part: BytesMut,
    part_start: u64,
}

impl PartWriter for MemoryWriter {
    async fn write(&mut self, offset: u64, chunk: Bytes) -> Result<()> {
        let at = (offset - self.part_start) as usize;
        self.part[at..at + chunk.len()].copy_from_slice(&chunk);
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Stream sink

pub(crate) async fn download_to_writer<W: AsyncWrite + Unpin + Send>(
    download: Download,
    mut writer: W,
) -> Result<DownloadOutput> {
    let (plan, first) = first_request(&download).await?;
    let verification = verification(&download, &plan, &first).await?;
    let context = plan.context.clone();
    let part_size = plan.part_size;
    // With room for two parts or more, one part's worth is kept for hedging the head of line.
    let budget = (download.transfer.memory_limit / part_size).max(1);
    let hedging = budget >= 2;
    let window = if hedging { budget - 1 } else { 1 };
    let workers = (worker_count(&download, &plan) as u64).min(window) as usize;
    let shared = new_shared(&download, plan, &verification);
    let (written_tx, written_rx) = tokio::sync::watch::channel(0u64);
    let (parts_tx, mut parts_rx) = tokio::sync::mpsc::unbounded_channel::<FetchedPart>();
    let hedge_tx = parts_tx.clone();
    let worker_shared = shared.clone();
    let worker_written = written_rx.clone();
    let fetching = run_workers(workers, first, move |first| {
        let shared = worker_shared.clone();
        let parts_tx = parts_tx.clone();
        let mut written_rx = worker_written.clone();
        async move {
            let mut first = first;
            let mut index = if first.is_some() { Some(0) } else { shared.take_part() };
            while let Some(part) = index {
                // Wait until the part is inside the reordering window.
                while part >= *written_rx.borrow_and_update() + window {
                    if written_rx.changed().await.is_err() {
                        return Ok(());
                    }
                }
                // A hedge that wins makes the part written: stop this fetch then.
                let mut overtaken = written_rx.clone();
                tokio::select! {
                    fetched = fetch_stream_part(&shared, part, first.take()) => {
                        if parts_tx.send(fetched?).is_err() {
                            return Ok(());
                        }
                    }
                    _ = overtaken.wait_for(|written| *written > part) => {}
                }
                index = shared.take_part();
            }
            Ok(())
        }
    });
    let total = shared.plan.part_count();
    let writing = async {
        let mut waiting: BTreeMap<u64, PooledBuffer> = BTreeMap::new();
        let mut hedges = JoinSet::new();
        // The head of line, since when it has been the head, and how often it was requested again.
        let mut head: (u64, tokio::time::Instant, u32) = (0, tokio::time::Instant::now(), 0);
        let mut typical: Option<std::time::Duration> = None;
        let mut next = 0u64;
        while next < total {
            if head.0 != next {
                head = (next, tokio::time::Instant::now(), 0);
            }
            // The head lags when it stays the head for several typical part times (whether later
            // parts have arrived or every worker is stuck): it is requested again, at most
            // MAX_HEDGES_PER_PART times, each after a further delay.
            let delay = typical.map(|t| (t * HEDGE_DELAY_FACTOR).max(HEDGE_MIN_DELAY));
            let deadline =
                delay.filter(|_| hedging && head.2 < MAX_HEDGES_PER_PART).map(|delay| head.1 + delay * (head.2 + 1));
            tokio::select! {
                received = parts_rx.recv() => {
                    let Some(fetched) = received else { break };
                    // A typical part time: a moving average that ignores the laggards themselves.
                    typical = Some(match typical {
                        None => fetched.elapsed,
                        Some(t) if fetched.elapsed > t * 4 => t,
                        Some(t) => (t * 7 + fetched.elapsed) / 8,
                    });
                    if fetched.index >= next {
                        waiting.entry(fetched.index).or_insert(fetched.buffer);
                    }
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                    head.2 += 1;
                    shared.hedged.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(part = next, ?delay, "head of line lags; requesting it again");
                    let shared = shared.clone();
                    let hedge_tx = hedge_tx.clone();
                    let mut overtaken = written_rx.clone();
                    let part = next;
                    hedges.spawn(async move {
                        tokio::select! {
                            fetched = fetch_stream_part(&shared, part, None) => match fetched {
                                Ok(fetched) => { let _ = hedge_tx.send(fetched); }
                                Err(error) => tracing::debug!(%error, part, "hedged request failed"),
                            },
                            _ = overtaken.wait_for(|written| *written > part) => {}
                        }
                    });
                }
            }
            while let Some(buffer) = waiting.remove(&next) {
                writer.write_all(buffer.as_slice()).await.map_err(|e| stream_error(&context, e))?;
                if let Some(progress) = &shared.progress {
                    progress.add(buffer.as_slice().len() as u64);
                }
                drop(buffer);
                next += 1;
                let _ = written_tx.send(next);
            }
        }
        hedges.abort_all();
        writer.flush().await.map_err(|e| stream_error(&context, e))?;
        Ok::<u64, Error>(next)
    };
    // The first error ends both sides: the writer holds a sender for hedges, so it would never
    // see the channel close if the workers failed.
    let ((), written) = tokio::try_join!(fetching, writing)?;
    if written != total {
        return Err(Error::invalid_response(context, format!("only {written} of {total} parts arrived")));
    }
    let verified = verify(&shared, verification)?;
    let mut result = output(&shared.plan, verified);
    result.hedged_parts = shared.hedged.load(Ordering::Relaxed);
    Ok(result)
}

/// A hedge waits at least this long after the part became the head of line.
pub const HEDGE_MIN_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// A hedge waits this many times the typical (moving average) part fetch time.
pub const HEDGE_DELAY_FACTOR: u32 = 3;

/// A lagging head-of-line part is requested again at most this many times.
pub const MAX_HEDGES_PER_PART: u32 = 2;

/// A part fetched into its pooled buffer, with how long the fetch took.
struct FetchedPart {
    index: u64,
    buffer: PooledBuffer,
    elapsed: std::time::Duration,
}

/// Fetches one part into a pooled buffer. Progress counts bytes as the writer takes them (see
/// [`download_to_writer`]), so a hedged part is never counted twice.
async fn fetch_stream_part(shared: &Shared, index: u64, first: Option<GetObjectOutput>) -> Result<FetchedPart> {
    let started = std::time::Instant::now();
    let (start, end) = shared.plan.part_range(index);
    let buffer = shared.client.buffer_pool().acquire((end - start) as usize).await?;
    let mut part_writer = StreamPartWriter { buffer };
    let mut hasher = shared.hasher();
    fetch_part(&shared.client, &shared.plan, index, first, &mut part_writer, hasher.as_mut(), None).await?;
    shared.record_crc(index, hasher);
    Ok(FetchedPart { index, buffer: part_writer.buffer, elapsed: started.elapsed() })
}

fn stream_error(context: &ErrorContext, error: std::io::Error) -> Error {
    Error::io(context.clone(), "writing to", "the output stream", error)
}

/// Collects one part into its pooled buffer.
struct StreamPartWriter {
    buffer: PooledBuffer,
}

impl PartWriter for StreamPartWriter {
    async fn write(&mut self, _offset: u64, chunk: Bytes) -> Result<()> {
        self.buffer.extend_from_slice(&chunk);
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}
