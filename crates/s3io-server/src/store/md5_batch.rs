//! Multi-buffer MD5: the MD5s of concurrent uploads computed together, in SIMD lanes.
//!
//! Every uploaded byte is MD5-hashed (the ETag), and one MD5 stream cannot be sped up: each
//! 64-byte block depends on the one before. Measured on this project's machine, MD5 was 63% of
//! the server's CPU for a 1 GiB multipart upload (one stream: about 490 MB/s with the `md-5`
//! crate's assembly, 620 MB/s with `md5-many`'s scalar path). Independent streams, though, fill
//! the lanes of one SIMD register: `md5-many` hashes 8 streams at once with AVX2, about 3.3 GB/s
//! in all on the same machine, but a register only partly filled gains little (4 streams: 880
//! MB/s in all).
//!
//! The parts of a multipart upload (and concurrent PUTs) are such independent streams.
//! [`Md5Lane::update`] hands a block and its stream's state to one batcher thread. The batcher
//! gathers one block from each stream in progress (up to a register's lanes), waiting at most
//! [`GATHER_WAIT`] for them, hashes them together with [`Md5Many::update_many`] and hands each
//! state back. Waiting costs a stream little: its next block fills from the socket meanwhile. A
//! lone stream never waits. The block travels by value and comes back with its state, so nothing
//! is copied or allocated per block.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender, SyncSender};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use md5_many::{Md5Many, Md5State};

/// At most this many blocks are hashed in one batch.
const MAX_BATCH: usize = 32;

/// How long the batcher waits for the blocks of the other streams in progress before hashing
/// what it has: about the time one stream of eight takes to receive a 1 MiB block at 400 MB/s.
const GATHER_WAIT: Duration = Duration::from_millis(25);

/// Streams with a lane now (uploads in progress): the batch size worth waiting for.
static ACTIVE_STREAMS: AtomicUsize = AtomicUsize::new(0);

/// A block to add to a stream, and where to hand the result.
struct Job {
    state: Md5State,
    block: Vec<u8>,
    done: SyncSender<Hashed>,
}

/// A stream's state after its block, and the block, handed back.
pub(crate) struct Hashed {
    pub(crate) state: Md5State,
    pub(crate) block: Vec<u8>,
}

/// The batcher's queue (each lane clones a `Sender` from it).
fn queue() -> &'static Mutex<Sender<Job>> {
    static QUEUE: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (sender, receiver) = channel();
        let started = std::thread::Builder::new().name("s3io-md5".into()).spawn(move || run(&receiver));
        if let Err(e) = started {
            // The receiver is gone with the closure: lanes hash on their own thread.
            tracing::warn!("no MD5 batcher thread ({e}); hashing per upload");
        }
        Mutex::new(sender)
    })
}

/// The batcher: waits for a block, gathers the blocks of the other streams in progress, hashes
/// them together.
fn run(receiver: &Receiver<Job>) {
    let engine = Md5Many::new();
    let lanes = engine.lanes().max(1);
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut states: Vec<Md5State> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = receiver.recv() {
        jobs.push(first);
        let deadline = Instant::now() + GATHER_WAIT;
        while jobs.len() < MAX_BATCH {
            let wanted = ACTIVE_STREAMS.load(Ordering::Relaxed).clamp(1, lanes);
            let job = if jobs.len() < wanted {
                match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(job) => job,
                    Err(_) => break,
                }
            } else {
                match receiver.try_recv() {
                    Ok(job) => job,
                    Err(_) => break,
                }
            };
            jobs.push(job);
        }
        hash_batch(engine, lanes, &mut jobs, &mut states);
    }
}

/// Hashes the gathered blocks, a register's lanes of equal-length blocks at a time through
/// `md5-many`'s equal-length kernel (its mixed-length and partial-register paths were slower
/// than one stream at a time, measured). A group short of a full register is padded with copies
/// of its first block whose results are dropped: a full register costs about 2.5 ms per 1 MiB
/// lane here against 1.6 ms per block one at a time, so padding pays from two blocks on; a
/// lone block is hashed alone.
fn hash_batch(engine: Md5Many, lanes: usize, jobs: &mut Vec<Job>, states: &mut Vec<Md5State>) {
    // Equal lengths side by side (all blocks but a stream's last are WRITE_BLOCK long).
    jobs.sort_unstable_by_key(|job| job.block.len());
    let mut start = 0;
    while start < jobs.len() {
        let len = jobs[start].block.len();
        let run = jobs[start..].iter().take_while(|job| job.block.len() == len).count();
        for group in jobs[start..start + run].chunks_mut(lanes) {
            if group.len() == 1 {
                group[0].state.update(&group[0].block);
                continue;
            }
            states.clear();
            states.extend(group.iter().map(|job| job.state));
            states.resize(lanes, group[0].state);
            let mut inputs: Vec<&[u8]> = group.iter().map(|job| job.block.as_slice()).collect();
            inputs.resize(lanes, group[0].block.as_slice());
            engine.update_many(states, &inputs);
            for (job, state) in group.iter_mut().zip(states.iter()) {
                job.state = *state;
            }
        }
        start += run;
    }
    for job in jobs.drain(..) {
        // A caller that went away needs no answer.
        let _ = job.done.send(Hashed { state: job.state, block: job.block });
    }
}

/// A stream's handle on the batcher, with its own reply channel, made once per stream.
pub(crate) struct Md5Lane {
    sender: Sender<Job>,
    done: SyncSender<Hashed>,
    replies: Receiver<Hashed>,
}

impl Md5Lane {
    /// A handle for one stream (one upload's body).
    pub(crate) fn new() -> Self {
        let sender = queue().lock().unwrap_or_else(PoisonError::into_inner).clone();
        let (done, replies) = std::sync::mpsc::sync_channel(1);
        ACTIVE_STREAMS.fetch_add(1, Ordering::Relaxed);
        Self { sender, done, replies }
    }

    /// Appends `block` to the stream `state`, hashed in a batch with other streams' blocks;
    /// blocks the calling thread (a blocking-pool thread) until done.
    ///
    /// # Errors
    /// When the batcher thread stopped after taking the block (it panicked).
    pub(crate) fn update(&self, state: Md5State, block: Vec<u8>) -> std::io::Result<Hashed> {
        let job = Job { state, block, done: self.done.clone() };
        if let Err(std::sync::mpsc::SendError(job)) = self.sender.send(job) {
            // No batcher: hash here.
            let (mut state, block) = (job.state, job.block);
            state.update(&block);
            return Ok(Hashed { state, block });
        }
        self.replies.recv().map_err(|_| std::io::Error::other("the MD5 batcher thread stopped"))
    }
}

impl Drop for Md5Lane {
    fn drop(&mut self) {
        ACTIVE_STREAMS.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Md5Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Md5Lane")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest as _, Md5};

    #[test]
    fn concurrent_streams_hash_as_one_stream_each() {
        let threads: Vec<_> = (0..12u32)
            .map(|t| {
                std::thread::spawn(move || {
                    let data: Vec<u8> =
                        (0..(3 << 20) + t * 977).map(|i| (i.wrapping_mul(2_654_435_761) >> (t % 24)) as u8).collect();
                    let lane = Md5Lane::new();
                    let mut state = Md5State::new();
                    // Blocks of one length in most streams (so they share registers), of a
                    // length that is no multiple of 64 in some (partial 64-byte blocks carry
                    // over between calls, in registers too).
                    let block_len = if t % 3 == 0 { 100_003 } else { 131_072 };
                    for block in data.chunks(block_len) {
                        let hashed = lane.update(state, block.to_vec()).unwrap();
                        assert_eq!(hashed.block, block, "the block came back changed");
                        state = hashed.state;
                    }
                    assert_eq!(state.finalize(), <[u8; 16]>::from(Md5::digest(&data)), "thread {t}");
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }

    #[test]
    fn padded_and_full_registers_match_one_stream_at_a_time() {
        let engine = Md5Many::new();
        let lanes = engine.lanes().max(1);
        for count in [1, 2, 3, lanes, lanes + 3, 2 * lanes + 1] {
            let (done, replies) = std::sync::mpsc::sync_channel(64);
            let mut expected = Vec::new();
            let mut jobs: Vec<Job> = (0..count)
                .map(|i| {
                    // A 10-byte prefix leaves a partial 64-byte block in every state.
                    let mut state = Md5State::new();
                    state.update(&[i as u8; 10]);
                    let len = if i % 4 == 3 { 4_096 } else { 70_001 };
                    let block: Vec<u8> = (0..len).map(|j| (j * 7 + i * 13) as u8).collect();
                    let mut reference = state;
                    reference.update(&block);
                    expected.push((block.clone(), reference.finalize()));
                    Job { state, block, done: done.clone() }
                })
                .collect();
            let mut states = Vec::new();
            hash_batch(engine, lanes, &mut jobs, &mut states);
            assert!(jobs.is_empty());
            let mut got: Vec<(Vec<u8>, [u8; 16])> =
                replies.try_iter().map(|hashed| (hashed.block, hashed.state.finalize())).collect();
            got.sort();
            expected.sort();
            assert_eq!(got, expected, "{count} blocks");
        }
    }
}
