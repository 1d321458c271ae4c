//! The stream sink: a download written in order into an `AsyncWrite` (stdout in the CLI).
//!
//! Each part is read into a pooled part-sized buffer and handed to the writing side, which writes
//! parts in order. The download holds at most its stream buffer
//! ([`TransferConfig::stream_buffer`](crate::config::TransferConfig::stream_buffer), within the
//! memory limit) in part buffers, and runs no more workers than that holds: a worker does not
//! start a part until it is within the reordering window (the budget's parts past the next one to
//! write), so memory stays under the budget however far ahead the other parts run. When the head-of-line part is still missing
//! [`HEDGE_DELAY_FACTOR`] times the typical part time (at least [`HEDGE_MIN_DELAY`]) after it became
//! the head, it is requested again (up to [`MAX_HEDGES_PER_PART`] times); the first answer wins,
//! and the other requests for that part stop as soon as it is written. One part of the memory
//! limit is kept for that second request: a later hedge of the same part replaces the earlier one
//! (aborted, its buffer back in the pool, before the new one starts), so the window and the hedge
//! together never hold more than the limit. Progress counts bytes as the writer takes them, so a
//! hedged part is never counted twice.
//!
//! **Long paths.** Since the budget is counted in whole parts, it caps the requests in flight
//! (48 MiB: six parts of 8 MiB), and on a path where each request waits tens of milliseconds
//! for its first byte and one connection carries tens of MB/s, six requests are far too few.
//! When the first answer came after the controller's long-path latency, the parts after the
//! first are cut so that 16 fit the budget ([`long_path_part_size`]: 3 MiB at the defaults). A
//! 1 GiB stream on an emulated 20 ms path with 40 MB/s per connection (`s3io bench --network
//! rtt=20ms,bw=40MB/s,link=1GB/s --scenarios large-download-stream`) went from 174 to 383
//! MiB/s (3 runs each, 58 and 66 MiB peak RSS); on loopback the parts stay whole (2381 MiB/s
//! to `/dev/null` either way).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::{PartWriter, Sink};
use crate::buffer::{BufferPool, PooledBuffer};
use crate::download::part::FirstAnswer;
use crate::download::run::Run;
use crate::download::{Download, DownloadOutput, Plan};
use crate::error::{Error, ErrorContext, Result};

/// A hedge waits at least this long after the part became the head of line.
pub(crate) const HEDGE_MIN_DELAY: Duration = Duration::from_millis(100);

/// A hedge waits this many times the typical (moving average) part fetch time.
pub(crate) const HEDGE_DELAY_FACTOR: u32 = 3;

/// A lagging head-of-line part is requested again at most this many times.
pub(crate) const MAX_HEDGES_PER_PART: u32 = 2;

/// Where the writing side puts the parts, in order.
pub(crate) trait Output: Send {
    /// Writes one part; its buffer goes back to the pool (and its share of the budget with it)
    /// once it is written.
    fn write_part(&mut self, part: HeldBuffer) -> impl std::future::Future<Output = std::io::Result<()>> + Send;

    /// Writes out whatever the output still holds.
    fn finish(self) -> impl std::future::Future<Output = std::io::Result<()>> + Send;
}

/// An [`AsyncWrite`] as the output: each part is written from its buffer.
pub(crate) struct AsyncOutput<W>(pub(crate) W);

impl<W: AsyncWrite + Unpin + Send> Output for AsyncOutput<W> {
    async fn write_part(&mut self, part: HeldBuffer) -> std::io::Result<()> {
        self.0.write_all(part.buffer.as_slice()).await
    }

    async fn finish(mut self) -> std::io::Result<()> {
        self.0.flush().await
    }
}

/// A blocking [`std::io::Write`] (stdout, a pipe) as the output, written on tokio's blocking
/// pool: each part's pooled buffer goes to a blocking thread with the writer and is written from
/// there, so no byte is copied on the way (tokio's `Stdout` copies every write into a buffer of
/// its own first, 2 MiB at a time) and the runtime's threads never block on a slow reader. One
/// part is written at a time, as through an `AsyncWrite`: the buffer comes back to the pool as
/// soon as it is written, so the output holds no more memory than the writing side did.
pub(crate) struct BlockingOutput<W> {
    /// `None` only while a part is being written, or after a write failed.
    writer: Option<W>,
}

impl<W: std::io::Write + Send + 'static> BlockingOutput<W> {
    pub(crate) fn new(writer: W) -> Self {
        Self { writer: Some(writer) }
    }

    /// Runs `write` on the writer on the blocking pool.
    async fn blocking(
        &mut self,
        write: impl FnOnce(&mut W) -> std::io::Result<()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Some(mut writer) = self.writer.take() else {
            return Err(std::io::Error::other("an earlier write to the output failed"));
        };
        let (writer, written) = tokio::task::spawn_blocking(move || {
            let written = write(&mut writer);
            (writer, written)
        })
        .await
        .map_err(std::io::Error::other)?;
        self.writer = Some(writer);
        written
    }
}

impl<W: std::io::Write + Send + 'static> Output for BlockingOutput<W> {
    async fn write_part(&mut self, part: HeldBuffer) -> std::io::Result<()> {
        // The part (buffer and budget share) is let go of on the blocking thread, once written.
        self.blocking(move |writer| writer.write_all(part.buffer.as_slice())).await
    }

    async fn finish(mut self) -> std::io::Result<()> {
        self.blocking(std::io::Write::flush).await
    }
}

/// Runs a planned download into `output`, in order.
pub(crate) async fn download<O: Output>(
    download: &Download,
    mut plan: Plan,
    first: FirstAnswer,
    mut output: O,
) -> Result<DownloadOutput> {
    let context = plan.context.clone();
    // Its part waits for a pooled buffer before its body is read: it must not hold a request
    // slot meanwhile (memory first, then a slot, as every other part does).
    let mut first = first;
    first.answer.body.release_slot();
    let memory = download.transfer.stream_memory();
    let cut = long_path_part_size(plan.part_size, plan.first_answer_after, memory);
    // With room for two parts or more, one part's worth is kept for hedging the head of line.
    // Counted in pooled buffers of the part's class, the memory a part really takes.
    let class = |size: u64| BufferPool::class_size(size.min(usize::MAX as u64) as usize) as u64;
    let budget = if cut < plan.part_size && plan.part_count() > 1 {
        // The first part keeps the size it was asked for: its buffer is counted apart.
        let first_memory = class(plan.part_size);
        plan.cut_rest(cut);
        1 + memory.saturating_sub(first_memory) / class(cut)
    } else {
        download.transfer.stream_parts(class(plan.part_size))
    };
    let hedging = budget >= 2;
    let window = if hedging { budget - 1 } else { 1 };
    let (written_tx, written_rx) = watch::channel(0u64);
    let (parts_tx, mut parts_rx) = mpsc::unbounded_channel::<FetchedPart>();
    let sink = StreamSink {
        pool: download.client.buffer_pool().clone(),
        written: written_rx,
        parts: parts_tx,
        window,
        held: Arc::new(Semaphore::new(budget as usize)),
    };
    let run = Run::new(download, plan, sink);
    let hedged = AtomicU64::new(0);
    let total = run.plan.part_count();
    let fetching = run.run(run.worker_count(window), first);
    let writing = async {
        let mut waiting: BTreeMap<u64, HeldBuffer> = BTreeMap::new();
        let mut hedges = JoinSet::new();
        // The head of line, since when it has been the head, and how often it was requested again.
        let mut head: (u64, tokio::time::Instant, u32) = (0, tokio::time::Instant::now(), 0);
        let mut typical: Option<Duration> = None;
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
                        waiting.entry(fetched.index).or_insert(fetched.held);
                    }
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                    head.2 += 1;
                    hedged.fetch_add(1, Ordering::Relaxed);
                    // The hedge's part of the budget is one buffer: a later hedge replaces an
                    // earlier one still running (it lags too), which gives its buffer back first.
                    hedges.abort_all();
                    while hedges.join_next().await.is_some() {}
                    tracing::debug!(part = next, ?delay, "head of line lags; requesting it again");
                    let run = run.clone();
                    let part = next;
                    hedges.spawn(async move {
                        let mut writer = run.sink.writer();
                        if let Err(error) = run.part(&mut writer, part, None).await {
                            tracing::debug!(error = %crate::error::Chain(&error), part, "hedged request failed");
                        }
                    });
                }
            }
            while let Some(held) = waiting.remove(&next) {
                let size = held.buffer.as_slice().len() as u64;
                output.write_part(held).await.map_err(|e| stream_error(&context, e))?;
                if let Some(progress) = &download.progress {
                    progress.add(size);
                }
                next += 1;
                let _ = written_tx.send(next);
            }
        }
        hedges.abort_all();
        output.finish().await.map_err(|e| stream_error(&context, e))?;
        Ok::<u64, Error>(next)
    };
    // The first error ends both sides: the sink holds a sender of parts (for hedges too), so the
    // writing side would never see the channel close if the workers failed.
    let ((), written) = tokio::try_join!(fetching, writing)?;
    if written != total {
        return Err(Error::invalid_response(context, format!("only {written} of {total} parts arrived")));
    }
    let verified = run.verify().await?;
    let mut result = run.output(verified);
    result.hedged_parts = hedged.load(Ordering::Relaxed);
    Ok(result)
}

fn stream_error(context: &ErrorContext, error: std::io::Error) -> Error {
    Error::io(context.clone(), "writing to", "the output stream", error)
}

/// A part fetched into its pooled buffer, with how long the fetch took.
struct FetchedPart {
    index: u64,
    held: HeldBuffer,
    elapsed: Duration,
}

/// A part's pooled buffer with its share of the download's budget ([`StreamSink::held`]), given
/// back together when the part is written or dropped.
pub(crate) struct HeldBuffer {
    buffer: PooledBuffer,
    _permit: OwnedSemaphorePermit,
}

/// Parts a stream download keeps in flight on a long path, at least: its parts are cut so that
/// this many fit its memory.
const LONG_PATH_PARTS: u64 = crate::controller::START_LIMIT as u64;

/// The smallest part a stream download cuts its parts to: 1 MiB.
const MIN_LONG_PATH_PART: u64 = 1024 * 1024;

/// The size of a stream download's parts after the first: `part_size`, unless the first answer
/// came after [`LONG_PATH_LATENCY`](crate::controller::LONG_PATH_LATENCY) or more. An in-order
/// stream holds whole parts, so its `memory` bounds the parts in flight (48 MiB: six parts of
/// 8 MiB), and on a long path each request waits a round trip for its first byte and moves
/// only what one connection carries: there the parts are cut, to whole MiB, so that
/// [`LONG_PATH_PARTS`] of them fit (3 MiB at the defaults), and at least 1 MiB. On a short path
/// they are not: there more, smaller requests cost throughput (a 1 GiB stream to `/dev/null` on
/// loopback: 2438 MiB/s at 8 MiB, 2251 at 4 or 3 MiB, 2111 at 2 MiB).
fn long_path_part_size(part_size: u64, first_answer_after: Duration, memory: u64) -> u64 {
    if first_answer_after < crate::controller::LONG_PATH_LATENCY {
        return part_size;
    }
    let fit = memory / LONG_PATH_PARTS / MIN_LONG_PATH_PART * MIN_LONG_PATH_PART;
    fit.max(MIN_LONG_PATH_PART).min(part_size)
}

/// The workers' side of the stream: the reordering window and the channel to the writing side.
struct StreamSink {
    pool: BufferPool,
    /// Parts written so far (the next part to write).
    written: watch::Receiver<u64>,
    parts: mpsc::UnboundedSender<FetchedPart>,
    /// Parts that may be held past the next one to write.
    window: u64,
    /// The download's memory budget in part buffers, workers and hedge together: the index
    /// window bounds reordering, this bounds what is held while a part overtaken by its hedge
    /// is still letting go of its buffer.
    held: Arc<Semaphore>,
}

impl Sink for StreamSink {
    type Writer = StreamPartWriter;

    const COUNTS_ITS_OWN_PROGRESS: bool = true;

    fn writer(&self) -> StreamPartWriter {
        StreamPartWriter { held: None, started: Instant::now() }
    }

    /// Waits until the part is inside the reordering window, then takes a pooled buffer for it.
    async fn start_part(&self, writer: &mut StreamPartWriter, index: u64, range: (u64, u64)) -> Result<bool> {
        // A worker's writer still holds the buffer of a part it gave up when a hedge overtook it:
        // let go of it before waiting for the window, or it would be held beside the new one.
        writer.held = None;
        let mut written = self.written.clone();
        while index >= *written.borrow_and_update() + self.window {
            if written.changed().await.is_err() {
                return Ok(false);
            }
        }
        let Ok(permit) = self.held.clone().acquire_owned().await else { return Ok(false) };
        writer.started = Instant::now();
        let buffer = self.pool.acquire((range.1 - range.0) as usize).await?;
        writer.held = Some(HeldBuffer { buffer, _permit: permit });
        Ok(true)
    }

    async fn finish_part(&self, writer: &mut StreamPartWriter, index: u64) -> Result<bool> {
        let Some(held) = writer.held.take() else { return Ok(true) };
        let fetched = FetchedPart { index, held, elapsed: writer.started.elapsed() };
        Ok(self.parts.send(fetched).is_ok())
    }

    /// A hedge that wins makes the part written: the other fetch of it stops then.
    async fn overtaken(&self, index: u64) {
        let mut written = self.written.clone();
        let _ = written.wait_for(|written| *written > index).await;
    }
}

/// Collects one part into its pooled buffer.
struct StreamPartWriter {
    held: Option<HeldBuffer>,
    started: Instant,
}

impl PartWriter for StreamPartWriter {
    async fn write(&mut self, _offset: u64, chunk: Bytes) -> Result<()> {
        if let Some(held) = &mut self.held {
            held.buffer.extend_from_slice(&chunk);
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn parts_are_cut_on_a_long_path_only() {
        let (short, long) = (Duration::from_millis(2), Duration::from_millis(25));
        assert_eq!(long_path_part_size(8 * MIB, short, 48 * MIB), 8 * MIB);
        assert_eq!(long_path_part_size(8 * MIB, long, 48 * MIB), 3 * MIB);
        // Whole MiB, at least one, never larger than asked.
        assert_eq!(long_path_part_size(8 * MIB, long, 40 * MIB), 2 * MIB);
        assert_eq!(long_path_part_size(8 * MIB, long, 4 * MIB), MIB);
        assert_eq!(long_path_part_size(8 * MIB, long, 1024 * MIB), 8 * MIB);
        assert_eq!(long_path_part_size(512 * 1024, long, 48 * MIB), 512 * 1024);
    }
}
