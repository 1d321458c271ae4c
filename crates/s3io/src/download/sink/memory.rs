//! The memory sink: a download into one buffer of the object's exact size.
//!
//! The buffer is cut into disjoint per-part pieces (`BytesMut::split_to`, no copy); a worker takes
//! a part's piece, fills it in place, and puts it back; the pieces are joined again with
//! `unsplit`, which is free for adjacent pieces. A caller that passes the same buffer back for
//! each download allocates no payload memory once the buffer is large enough, and its bytes are
//! not zeroed first (every one is overwritten). [`Download::to_bytes`] passes the memory of a
//! pooled buffer ([`PooledBuffer::take_storage`]).
//!
//! [`Download::to_bytes`]: crate::Download::to_bytes
//! [`PooledBuffer::take_storage`]: crate::buffer::PooledBuffer::take_storage

use std::sync::Mutex;

use bytes::{Bytes, BytesMut};

use super::{PartWriter, Sink};
use crate::download::part::FirstAnswer;
use crate::download::run::Run;
use crate::download::{Download, DownloadOutput, Plan};
use crate::error::Result;

/// Runs a planned download into `buffer` (cleared first).
pub(crate) async fn download(
    download: &Download,
    plan: Plan,
    first: FirstAnswer,
    mut buffer: BytesMut,
) -> Result<(BytesMut, DownloadOutput)> {
    // Every byte of the object is written below, so a buffer long enough already is only cut to
    // length (no zeroing pass over bytes about to be overwritten); a shorter one is extended.
    let size = plan.size as usize;
    if buffer.len() >= size {
        buffer.truncate(size);
    } else {
        buffer.resize(size, 0);
    }
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
    let run = Run::new(download, plan, MemorySink { pieces });
    run.run(run.worker_count(u64::MAX), first).await?;
    let verified = run.verify().await?;
    let mut joined = BytesMut::new();
    for piece in &run.sink.pieces {
        joined.unsplit(piece.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or_default());
    }
    Ok((joined, run.output(verified)))
}

/// The per-part pieces of the destination buffer, each out while a worker fills it.
struct MemorySink {
    pieces: Vec<Mutex<Option<BytesMut>>>,
}

impl MemorySink {
    fn slot(&self, index: u64) -> std::sync::MutexGuard<'_, Option<BytesMut>> {
        self.pieces[index as usize].lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Sink for MemorySink {
    type Writer = MemoryWriter;

    fn writer(&self) -> MemoryWriter {
        MemoryWriter { part: BytesMut::new(), part_start: 0 }
    }

    async fn start_part(&self, writer: &mut MemoryWriter, index: u64, range: (u64, u64)) -> Result<bool> {
        writer.part = self.slot(index).take().unwrap_or_default();
        writer.part_start = range.0;
        Ok(true)
    }

    async fn finish_part(&self, writer: &mut MemoryWriter, index: u64) -> Result<bool> {
        *self.slot(index) = Some(std::mem::take(&mut writer.part));
        Ok(true)
    }
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
