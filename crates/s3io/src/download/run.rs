//! Running a planned download: the one worker loop, and the checksum check at the end.
//!
//! A [`Run`] holds what the workers of one download share: the [`Plan`], the [`Sink`] the bytes
//! go to, the counter parts are taken from, and the per-part CRCs when verifying. A fixed set of
//! workers (as many as the pinned concurrency, or as the client's adaptive limit may reach, at
//! most 8 when the first answer came within 2 ms: [`NEAR_PATH_WORKERS`]; fewer for small
//! objects) each take the next part number,
//! let the sink ready a writer for it (the stream sink waits here for room in its reordering
//! window), fetch the part into that writer ([`fetch_part`]) and hand it back to the sink — no task
//! and no buffer per part. Worker 0 starts with the plan's first answer. Workers are tasks of a
//! `JoinSet`, all aborted when the run's future is dropped; the first error stops the rest.
//!
//! Once every part is in, [`Run::verify`] combines the part CRCs (computed as the bytes streamed
//! past, no second pass over the data), or takes a one-part download's MD5, and compares them with
//! the plan's full-object checksum (awaiting the plan's HEAD when it ran beside the parts).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use super::part::{fetch_part, FirstAnswer};
use super::sink::Sink;
use super::{Download, DownloadOutput, Plan};
use crate::checksum::{crc_combine, ChecksumValue, CrcCombiner, Hasher};
use crate::client::Client;
use crate::config::ChecksumAlgorithm;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// A first answer sooner than this after its request (connection included) comes from the same
/// host or a rack away: 2 ms (the 2 ms emulated shape answers after 4 ms, a connect and a
/// request's round trip).
pub(crate) const NEAR_PATH_LATENCY: Duration = Duration::from_millis(2);

/// Parts a download on a near path ([`NEAR_PATH_LATENCY`]) fetches at a time unless its
/// concurrency is pinned: 8. There one connection carries a gigabyte per second or more, and
/// what limits is the machine; each connection more only spreads the same bytes thinner, so
/// every `recv` brings less for the same kernel work. 1 GiB to a file from `s3io serve` on
/// loopback (`s3io bench --scenarios large-upload,large-upload-stream,large-download`, 3 runs):
/// 8 parts at a time 1756 MiB/s, 0.76 CPU s/GiB, 23 MiB; the client's 16, 1748, 0.82, 33 MiB.
/// The client's limit still bounds it, and caps the sum over transfers.
pub(crate) const NEAR_PATH_WORKERS: usize = 8;

/// The workers a download runs: the pinned concurrency, or what the client's limit may reach
/// (at most [`NEAR_PATH_WORKERS`] on a near path).
fn workers(download: &Download, plan: &Plan) -> usize {
    let pinned = download.transfer.concurrency;
    near_path_cap(download.client.transfer_workers(pinned), pinned.is_some(), plan.first_answer_after)
}

/// `workers`, capped at [`NEAR_PATH_WORKERS`] if not pinned and the first answer came within
/// [`NEAR_PATH_LATENCY`].
fn near_path_cap(workers: usize, pinned: bool, first_answer_after: Duration) -> usize {
    if !pinned && first_answer_after < NEAR_PATH_LATENCY {
        workers.min(NEAR_PATH_WORKERS)
    } else {
        workers
    }
}

/// State the workers of one download share.
pub(crate) struct Run<S> {
    pub(crate) client: Client,
    pub(crate) plan: Plan,
    pub(crate) sink: S,
    next_part: AtomicU64,
    /// Parts not to take from the counter (by index), when resuming: those already in the sink
    /// and the first answer's. Empty otherwise (the first answer is part 0).
    skip: Vec<bool>,
    /// Per-part CRCs, when verifying with a CRC.
    crcs: Mutex<Vec<Option<u64>>>,
    /// The whole object's digest, when verifying with MD5, SHA-256 or SHA-1 (one-part downloads
    /// only: those digests do not combine).
    digest: Mutex<Option<ChecksumValue>>,
    /// Counts bytes as they arrive, unless the sink counts them itself.
    progress: Option<Arc<Progress>>,
    /// The transfer's pinned concurrency, or what the client's limit may reach (at most
    /// [`NEAR_PATH_WORKERS`] on a near path).
    concurrency: usize,
}

impl<S: Sink> Run<S> {
    pub(crate) fn new(download: &Download, plan: Plan, sink: S) -> Arc<Self> {
        Self::resuming(download, plan, sink, Vec::new())
    }

    /// A run whose parts marked in `skip` are not fetched (they are in the sink already, or the
    /// first answer's); with an empty `skip`, every part but part 0 (the first answer's) is.
    pub(crate) fn resuming(download: &Download, plan: Plan, sink: S, skip: Vec<bool>) -> Arc<Self> {
        let parts = plan.part_count() as usize;
        Arc::new(Run {
            client: download.client.clone(),
            crcs: Mutex::new(vec![None; if plan.check.algorithm().is_some_and(is_crc) { parts } else { 0 }]),
            digest: Mutex::new(None),
            next_part: AtomicU64::new(if skip.is_empty() { 1 } else { 0 }),
            skip,
            sink,
            progress: if S::COUNTS_ITS_OWN_PROGRESS { None } else { download.progress.clone() },
            concurrency: workers(download, &plan),
            plan,
        })
    }

    /// Workers this run uses: the pinned concurrency or as many as the client's limit may reach
    /// (each takes a slot of the limit per request, so those beyond it wait), at most one per
    /// part, at most `cap`.
    pub(crate) fn worker_count(&self, cap: u64) -> usize {
        (self.concurrency as u64).min(self.plan.part_count()).min(cap).max(1) as usize
    }

    fn take_part(&self) -> Option<u64> {
        loop {
            let index = self.next_part.fetch_add(1, Ordering::Relaxed);
            if index >= self.plan.part_count() {
                return None;
            }
            if !self.skip.get(index as usize).copied().unwrap_or(false) {
                return Some(index);
            }
        }
    }

    /// Notes the CRC of part `index`, computed elsewhere (a resumed part read back from disk).
    pub(crate) fn record_crc(&self, index: u64, crc: u64) {
        if let Some(slot) = self.crcs.lock().unwrap_or_else(|p| p.into_inner()).get_mut(index as usize) {
            *slot = Some(crc);
        }
    }

    /// Runs `workers` workers until every part is in the sink; worker 0 starts with `first`.
    /// One worker runs in this task (no spawn); more run as tasks of a `JoinSet`.
    pub(crate) async fn run(self: &Arc<Self>, workers: usize, first: FirstAnswer) -> Result<()> {
        if workers <= 1 {
            return self.clone().worker(Some(first)).await;
        }
        let mut set = JoinSet::new();
        set.spawn(self.clone().worker(Some(first)));
        for _ in 1..workers {
            set.spawn(self.clone().worker(None));
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

    /// The worker loop: take a part, fetch it through the sink, until none is left (or the sink
    /// wants no more).
    async fn worker(self: Arc<Self>, mut first: Option<FirstAnswer>) -> Result<()> {
        let mut writer = self.sink.writer();
        let mut index = match &first {
            Some(first) => Some(first.index),
            None => self.take_part(),
        };
        while let Some(part) = index {
            if !self.part(&mut writer, part, first.take()).await? {
                return Ok(());
            }
            index = self.take_part();
        }
        Ok(())
    }

    /// Fetches part `index` into `writer` and hands it to the sink, unless the sink says the
    /// part was overtaken (written already) first. `false` when the sink wants no more parts.
    pub(crate) async fn part(&self, writer: &mut S::Writer, index: u64, first: Option<FirstAnswer>) -> Result<bool> {
        let range = self.plan.part_range(index);
        if !self.sink.start_part(writer, index, range).await? {
            return Ok(false);
        }
        let fetched = tokio::select! {
            fetched = self.fetch(writer, index, first) => Some(fetched),
            () = self.sink.overtaken(index) => None,
        };
        match fetched {
            Some(fetched) => {
                fetched?;
                self.sink.finish_part(writer, index).await
            }
            None => Ok(true),
        }
    }

    async fn fetch(&self, writer: &mut S::Writer, index: u64, first: Option<FirstAnswer>) -> Result<()> {
        let mut hasher = self.plan.check.algorithm().map(Hasher::new);
        fetch_part(&self.client, &self.plan, index, first, writer, hasher.as_mut(), self.progress.as_ref()).await?;
        if let Some(hasher) = hasher {
            match hasher.crc() {
                Some(crc) => self.crcs.lock().unwrap_or_else(|p| p.into_inner())[index as usize] = Some(crc),
                None => *self.digest.lock().unwrap_or_else(|p| p.into_inner()) = Some(hasher.finish()),
            }
        }
        Ok(())
    }

    /// Combines the part CRCs (or takes the one-part MD5) and compares them with the plan's
    /// full-object checksum, waiting for the plan's HEAD if it runs beside the parts.
    pub(crate) async fn verify(&self) -> Result<Option<ChecksumValue>> {
        let Some(expected) = self.plan.expected().await? else { return Ok(None) };
        let plan = &self.plan;
        if !expected.algorithm.is_crc() {
            let digest = self.digest.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let Some(computed) = digest.filter(|_| plan.part_count() == 1) else {
                let name = expected.algorithm.name();
                return Err(Error::invalid_response(
                    plan.context.clone(),
                    format!("no {name} computed for the object"),
                ));
            };
            return check_equal(plan, expected, computed);
        }
        let crcs = self.crcs.lock().unwrap_or_else(|p| p.into_inner());
        // Every part but the last has the part size: one precomputed operator serves them all
        // (not computed for a one-part download, which has nothing to combine).
        let combiner = (crcs.len() > 1).then(|| CrcCombiner::new(expected.algorithm, plan.part_size));
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
                (Some(acc), _) if end - start == plan.part_size => {
                    combiner.as_ref().map_or(crc, |combiner| combiner.combine(acc, crc))
                }
                (Some(acc), algorithm) => crc_combine(algorithm, acc, crc, end - start),
            });
        }
        let combined = combined.unwrap_or_default();
        if Hasher::crc_matches(expected.algorithm, combined, &expected) {
            return Ok(Some(expected));
        }
        let computed = Hasher::value_from_crc(expected.algorithm, combined);
        check_equal(plan, expected, computed)
    }

    /// What the finished download reports.
    pub(crate) fn output(&self, verified_checksum: Option<ChecksumValue>) -> DownloadOutput {
        DownloadOutput {
            size: self.plan.size,
            etag: self.plan.etag.clone(),
            parts: self.plan.part_count(),
            verified_checksum,
            hedged_parts: 0,
            last_modified: self.plan.last_modified,
            resumed_bytes: 0,
        }
    }
}

/// Whether `algorithm` is a CRC (its part values combine); MD5 and the SHAs are not.
fn is_crc(algorithm: ChecksumAlgorithm) -> bool {
    algorithm.is_crc()
}

/// `Ok(Some(expected))` when `computed` matches it, else the checksum-mismatch error.
fn check_equal(plan: &Plan, expected: ChecksumValue, computed: ChecksumValue) -> Result<Option<ChecksumValue>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_path_caps_the_workers_unless_pinned() {
        let ms = Duration::from_millis;
        // Loopback: the client's 16 (or 64) become 8; fewer stay as they are.
        assert_eq!(near_path_cap(16, false, Duration::from_micros(400)), NEAR_PATH_WORKERS);
        assert_eq!(near_path_cap(64, false, ms(1)), NEAR_PATH_WORKERS);
        assert_eq!(near_path_cap(4, false, ms(1)), 4);
        // The 2 ms shape answers after a connect and a round trip (4 ms): not near.
        assert_eq!(near_path_cap(16, false, NEAR_PATH_LATENCY), 16);
        assert_eq!(near_path_cap(64, false, ms(4)), 64);
        // A pinned concurrency is what the caller asked for.
        assert_eq!(near_path_cap(32, true, Duration::from_micros(400)), 32);
    }
}
