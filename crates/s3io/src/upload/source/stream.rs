//! Uploading from a stream of unknown length (any `AsyncRead`, stdin in the CLI).
//!
//! A stream cannot be re-read, so each part must sit in memory until its UploadPart succeeds
//! (a retry resends it). A reader fills part-sized buffers from the client's [`BufferPool`]
//! in order and hands them to the workers over a channel of one slot; a buffer goes back to the
//! pool when its part is uploaded. The reader waits for a buffer when the pool's cap is reached
//! (and for a slot of this transfer's own budget: its stream buffer,
//! [`TransferConfig::upload_stream_buffer`](crate::config::TransferConfig::upload_stream_buffer), within the
//! memory limit), so no more than that budget of payload is ever held, however fast the stream
//! and however slow the store; the workers are as many as the budget holds parts.
//!
//! If the stream ends within the first part, the object goes as one PutObject. To tell "exactly
//! one part" from "more to come" without a second buffer, the reader reads one byte past the
//! first part and carries it into the second.
//!
//! [`BufferPool`]: crate::BufferPool

use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, Mutex, OwnedSemaphorePermit, Semaphore};

use super::{bytes_checksum, PartBody, PartSource, SourcePart};
use crate::buffer::PooledBuffer;
use crate::config::MAX_UPLOAD_PARTS;
use crate::error::{Error, Result};
use crate::upload::plan::check_part_size;
use crate::upload::run::PartDone;
use crate::upload::{Upload, UploadOutput};

/// A part read from the stream, with this transfer's memory slot (freed once the part is sent).
struct StreamPart {
    number: u32,
    bytes: Bytes,
    slot: OwnedSemaphorePermit,
}

/// The parts the stream's reader filled, in order, taken by the workers from a channel of one
/// slot.
struct StreamSource {
    receiver: Mutex<mpsc::Receiver<StreamPart>>,
}

impl PartSource for StreamSource {
    type Scratch = ();

    async fn next_part(&self, upload: &Upload, (): &mut ()) -> Result<Option<SourcePart>> {
        let next = self.receiver.lock().await.recv().await;
        let Some(StreamPart { number, bytes, slot }) = next else { return Ok(None) };
        let header = match upload.algorithm() {
            None => None,
            Some(algorithm) => Some(bytes_checksum(algorithm, bytes.clone(), &upload.context()).await?),
        };
        let len = bytes.len() as u64;
        Ok(Some(SourcePart { number, len, body: PartBody::Bytes(bytes), header, trailer: None, slot: Some(slot) }))
    }
}

impl Upload {
    /// Reads the stream into `buffer` (after any carried byte) until it is full or the stream
    /// ends; returns whether the stream ended.
    async fn fill<R: AsyncRead + Unpin>(&self, reader: &mut R, buffer: &mut PooledBuffer) -> Result<bool> {
        let start = buffer.len();
        let capacity = buffer.capacity();
        let slice = buffer.fill_slice(capacity);
        let mut filled = start;
        let result = loop {
            if filled == capacity {
                break Ok(false);
            }
            match reader.read(&mut slice[filled..]).await {
                Ok(0) => break Ok(true),
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(Error::io(self.context(), "reading", "the input stream", e)),
            }
        };
        buffer.truncate(filled);
        result
    }

    /// Reads one byte to see whether the stream goes on.
    async fn peek_byte<R: AsyncRead + Unpin>(&self, reader: &mut R) -> Result<Option<u8>> {
        let mut byte = [0u8; 1];
        loop {
            match reader.read(&mut byte).await {
                Ok(0) => return Ok(None),
                Ok(_) => return Ok(Some(byte[0])),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(self.context(), "reading", "the input stream", e)),
            }
        }
    }

    /// Uploads everything `reader` yields.
    pub(crate) async fn upload_stream<R: AsyncRead + Unpin + Send>(&self, mut reader: R) -> Result<UploadOutput> {
        self.check_cancelled()?;
        let part_size = self.config.part_size;
        let pool = self.client.buffer_pool().clone();
        let context = &self.context();
        // This transfer's own share of memory: its stream buffer in whole parts (at least one).
        let memory_parts = self.config.upload_stream_parts(part_size) as usize;
        let slots = Arc::new(Semaphore::new(memory_parts));
        let acquire = || async {
            let slot = slots.clone().acquire_owned().await.map_err(|_| Error::cancelled(context.clone()))?;
            let buffer = pool.acquire(part_size as usize).await?;
            Ok::<_, Error>((slot, buffer))
        };

        let (first_slot, mut first) = self.cancellable(acquire()).await?;
        let ended = self.cancellable(self.fill(&mut reader, &mut first)).await?;
        let acquire = &acquire;
        let carry = if ended { None } else { self.cancellable(self.peek_byte(&mut reader)).await? };
        let Some(carry) = carry else {
            // The whole stream fit in one part: one PutObject.
            let size = first.len() as u64;
            if let Some(progress) = &self.progress {
                progress.add_total(size);
            }
            let bytes = first.freeze();
            let checksum = match self.algorithm() {
                Some(algorithm) => Some(bytes_checksum(algorithm, bytes.clone(), context).await?),
                None => None,
            };
            let output = self.put(PartBody::Bytes(bytes), size, checksum).await;
            drop(first_slot);
            return output;
        };
        check_part_size(part_size)?;

        self.multipart(|upload_id| async move {
            let (sender, receiver) = mpsc::channel::<StreamPart>(1);
            let reader_task = async {
                let mut total = first.len() as u64;
                sender
                    .send(StreamPart { number: 1, bytes: first.freeze(), slot: first_slot })
                    .await
                    .map_err(|_| Error::cancelled(context.clone()))?;
                let mut carry = Some(carry);
                let mut number = 1u32;
                loop {
                    let (slot, mut buffer) = acquire().await?;
                    if let Some(byte) = carry.take() {
                        buffer.extend_from_slice(&[byte]);
                    }
                    let ended = self.fill(&mut reader, &mut buffer).await?;
                    if buffer.is_empty() {
                        break;
                    }
                    if u64::from(number) >= MAX_UPLOAD_PARTS {
                        return Err(Error::InvalidConfig(format!(
                            "the stream is longer than {MAX_UPLOAD_PARTS} parts of {part_size} bytes; raise the part size"
                        )));
                    }
                    number += 1;
                    total += buffer.len() as u64;
                    sender
                        .send(StreamPart { number, bytes: buffer.freeze(), slot })
                        .await
                        .map_err(|_| Error::cancelled(context.clone()))?;
                    if ended {
                        break;
                    }
                }
                drop(sender);
                if let Some(progress) = &self.progress {
                    progress.add_total(total);
                }
                Ok::<_, Error>(())
            };
            let source = StreamSource { receiver: Mutex::new(receiver) };
            // As many workers as the transfer's memory holds parts, within the pinned concurrency or
            // what the client's limit may reach.
            let workers = self.client.transfer_workers(self.config.concurrency).min(memory_parts);
            let workers = self.upload_parts(&upload_id, &source, workers);
            let ((), parts) = futures::future::try_join(reader_task, workers).await?;
            Ok::<Vec<PartDone>, Error>(parts)
        })
        .await
    }
}
