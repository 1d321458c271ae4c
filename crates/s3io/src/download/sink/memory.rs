//! The memory sink: a download into one buffer of the object's exact size.
//!
//! The buffer is cut into disjoint per-part pieces; a worker takes a part's piece, fills it in
//! place, and puts it back. The buffer is either a `BytesMut` ([`download`]) or memory lent by
//! the caller ([`download_lent`]):
//!
//! - A `BytesMut` is cut with `split_to` (no copy) and joined again with `unsplit`, which is free
//!   for adjacent pieces. A caller that passes the same buffer back for each download allocates
//!   no payload memory once the buffer is large enough, and its bytes are not zeroed first (every
//!   one is overwritten). [`Download::to_bytes`] passes the memory of a pooled buffer
//!   ([`PooledBuffer::take_storage`]).
//! - Lent memory (any `AsMut<[u8]>`: memory another runtime owns, such as a Python `bytearray`
//!   or NumPy array) cannot be split by ownership, so it is moved into a shared owner and cut
//!   into raw pieces, each holding a pointer to its own disjoint range and a reference to the
//!   owner. The owner, and so the memory, lives until the last piece is dropped: a worker task
//!   still running after its download was dropped writes into memory that is still there. The
//!   lent value is handed back once every piece is.
//!
//! [`Download::to_bytes`]: crate::Download::to_bytes
//! [`PooledBuffer::take_storage`]: crate::buffer::PooledBuffer::take_storage

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};

use super::{PartWriter, Sink};
use crate::download::part::FirstAnswer;
use crate::download::run::Run;
use crate::download::{Download, DownloadOutput, Plan};
use crate::error::{Error, Result};

/// One part's piece of the destination memory, filled in place.
pub(crate) trait Piece: Send + 'static {
    /// The piece's bytes.
    fn bytes_mut(&mut self) -> &mut [u8];
}

impl Piece for BytesMut {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

/// Runs a planned download into `buffer` (cut or extended to the object's size).
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
    let (pieces, output) = fill(download, plan, first, pieces).await?;
    let mut joined = BytesMut::new();
    for piece in pieces.into_iter().filter_map(take_piece) {
        joined.unsplit(piece);
    }
    Ok((joined, output))
}

/// Runs a planned download into the first `plan.size` bytes of the memory `buffer` lends, and
/// hands `buffer` back; fails before writing anything if that memory is shorter than the object.
pub(crate) async fn download_lent<B>(
    download: &Download,
    plan: Plan,
    first: FirstAnswer,
    buffer: B,
) -> Result<(B, DownloadOutput)>
where
    B: AsMut<[u8]> + Send + 'static,
{
    let owner = lent::Owner::new(buffer);
    let available = owner.len();
    if (available as u64) < plan.size {
        return Err(Error::BufferTooSmall {
            context: Box::new(download.context()),
            needed: plan.size,
            available: available as u64,
        });
    }
    let pieces = (0..plan.part_count())
        .map(|index| {
            let (start, end) = plan.part_range(index);
            Mutex::new(Some(lent::Piece::new(&owner, start as usize, end as usize)))
        })
        .collect();
    let (pieces, output) = fill(download, plan, first, pieces).await?;
    drop(pieces);
    let buffer = Arc::try_unwrap(owner)
        .map_err(|_| ())
        .expect("every piece has been handed back once every worker has finished")
        .into_inner();
    Ok((buffer, output))
}

/// Runs the workers over `pieces` (one per part, in order) and returns them filled, in the
/// vector they came in (no new one per download).
async fn fill<P: Piece>(
    download: &Download,
    plan: Plan,
    first: FirstAnswer,
    pieces: Vec<Mutex<Option<P>>>,
) -> Result<(Vec<Mutex<Option<P>>>, DownloadOutput)> {
    let run = Run::new(download, plan, MemorySink { pieces });
    run.run(run.worker_count(u64::MAX), first).await?;
    let verified = run.verify().await?;
    match Arc::try_unwrap(run) {
        Ok(mut run) => {
            // The run ends here: its ETag moves into the output instead of being copied.
            let etag = run.plan.etag.take();
            let mut output = run.output(verified);
            output.etag = etag;
            Ok((run.sink.pieces, output))
        }
        // A worker task not yet gone (it has handed its piece back): the pieces move out.
        Err(run) => {
            let output = run.output(verified);
            let pieces = run
                .sink
                .pieces
                .iter()
                .map(|piece| Mutex::new(piece.lock().unwrap_or_else(|p| p.into_inner()).take()))
                .collect();
            Ok((pieces, output))
        }
    }
}

/// A filled piece out of its slot.
fn take_piece<P>(slot: Mutex<Option<P>>) -> Option<P> {
    slot.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// The per-part pieces of the destination memory, each out while a worker fills it.
struct MemorySink<P> {
    pieces: Vec<Mutex<Option<P>>>,
}

impl<P> MemorySink<P> {
    fn slot(&self, index: u64) -> std::sync::MutexGuard<'_, Option<P>> {
        self.pieces[index as usize].lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<P: Piece> Sink for MemorySink<P> {
    type Writer = MemoryWriter<P>;

    fn writer(&self) -> MemoryWriter<P> {
        MemoryWriter { part: None, part_start: 0 }
    }

    async fn start_part(&self, writer: &mut MemoryWriter<P>, index: u64, range: (u64, u64)) -> Result<bool> {
        writer.part = self.slot(index).take();
        writer.part_start = range.0;
        Ok(true)
    }

    async fn finish_part(&self, writer: &mut MemoryWriter<P>, index: u64) -> Result<bool> {
        *self.slot(index) = writer.part.take();
        Ok(true)
    }
}

/// Copies a part's chunks into its piece of the destination memory.
struct MemoryWriter<P> {
    part: Option<P>,
    part_start: u64,
}

impl<P: Piece> PartWriter for MemoryWriter<P> {
    async fn write(&mut self, offset: u64, chunk: Bytes) -> Result<()> {
        let at = (offset - self.part_start) as usize;
        let part = self.part.as_mut().expect("a part's piece is taken before its bytes arrive");
        part.bytes_mut()[at..at + chunk.len()].copy_from_slice(&chunk);
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Lent memory cut into raw pieces: the one place this crate writes through raw pointers.
#[allow(unsafe_code)] // Disjoint mutable pieces of memory the crate does not own as a `BytesMut`.
mod lent {
    use std::cell::UnsafeCell;
    use std::sync::Arc;

    /// The lent value, not touched between [`Owner::new`] and [`Owner::into_inner`] but through
    /// the pieces' pointers.
    pub(super) struct Owner<B> {
        value: UnsafeCell<B>,
        ptr: *mut u8,
        len: usize,
    }

    // SAFETY: `Owner` moves `B` (which is `Send`) between threads and gives no shared access to
    // it: its value is reached only through the pieces' disjoint ranges (each piece used by one
    // thread at a time, see `Piece`) and, once no piece is left, by `into_inner`.
    unsafe impl<B: Send> Send for Owner<B> {}
    // SAFETY: as above: `&Owner` gives access to nothing but `len`.
    unsafe impl<B: Send> Sync for Owner<B> {}

    impl<B: AsMut<[u8]>> Owner<B> {
        /// Takes `value`, in place in the `Arc` before its memory is located, so that memory
        /// stays where `as_mut` said even when it lies inside the value (an array).
        pub(super) fn new(value: B) -> Arc<Self> {
            let mut owner = Arc::new(Self { value: UnsafeCell::new(value), ptr: std::ptr::null_mut(), len: 0 });
            let unique = Arc::get_mut(&mut owner).expect("an Arc just made has no other reference");
            let slice = unique.value.get_mut().as_mut();
            unique.len = slice.len();
            unique.ptr = slice.as_mut_ptr();
            owner
        }

        /// Bytes lent.
        pub(super) fn len(&self) -> usize {
            self.len
        }

        /// The value, once no piece refers to it.
        pub(super) fn into_inner(self) -> B {
            self.value.into_inner()
        }
    }

    /// Bytes `start..end` of an owner's memory.
    pub(super) struct Piece<B> {
        owner: Arc<Owner<B>>,
        start: usize,
        end: usize,
    }

    // SAFETY: a piece is the only handle to its range (pieces are disjoint and not cloned), so
    // moving it to another thread moves exclusive access to those bytes; `B: Send` covers the
    // owner it keeps alive.
    unsafe impl<B: Send> Send for Piece<B> {}

    impl<B: AsMut<[u8]>> Piece<B> {
        /// Piece `start..end` of `owner`'s memory; the caller makes the pieces of one owner
        /// disjoint.
        pub(super) fn new(owner: &Arc<Owner<B>>, start: usize, end: usize) -> Self {
            assert!(start <= end && end <= owner.len, "piece {start}..{end} of {} lent bytes", owner.len);
            Self { owner: owner.clone(), start, end }
        }
    }

    impl<B: Send + 'static> super::Piece for Piece<B> {
        fn bytes_mut(&mut self) -> &mut [u8] {
            let base = self.owner.ptr;
            // SAFETY: `base..base + len` is the memory the lent value's `as_mut` returned; the
            // value is kept alive by `self.owner` and not otherwise touched while pieces exist;
            // `start..end` lies within it (checked in `new`) and no other piece overlaps it; and
            // `&mut self` makes this the only live reference to those bytes.
            unsafe { std::slice::from_raw_parts_mut(base.add(self.start), self.end - self.start) }
        }
    }
}
