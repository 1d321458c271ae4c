//! The benchmark scenarios and what each one measures.
//!
//! The small and mixed scenarios run against one shared [`Client`], so connection reuse and the
//! buffer pool carry over between them as they would in a service; each large transfer runs on
//! a fresh client, as one `cp` would (its own connections, its controller from the start). Each
//! is measured from snapshots taken around its timed part only (set-up, such as uploading the
//! objects a download reads, is not timed); what the snapshots hold and the figures made of
//! them are in `result.rs`.
//!
//! `small-mixed` is the service scenario: objects of varied sizes (a seeded log-uniform draw,
//! 100 KiB to 16 MiB by default) downloaded into memory ([`s3io::Download::to_bytes`], pooled
//! buffers) several at a time, after a warm-up pass of the same draw. `null` runs the small
//! scenario's workers with no network at all (each operation copies the small object's bytes
//! between two buffers), so its p99/p50 is the machine's own latency noise.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::{Bytes, BytesMut};
use s3io::Client;

use super::result::{latency, ScenarioResult};
use super::Bench;
use crate::args::Scenario;

/// Distinct objects of the small-mixed scenario (at most; never more than --small-count): its
/// downloads draw among them, so set-up uploads a few hundred MiB, not gigabytes.
const MIXED_OBJECTS: usize = 100;

/// Seed of the small-mixed scenario's sizes and download order.
const MIXED_SEED: u64 = 18;

impl Bench {
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn large_file(&self) -> PathBuf {
        self.work_dir.join("s3io-bench-large.bin")
    }

    /// Writes the large test file (not timed).
    pub(crate) async fn prepare_large_file(&self) -> anyhow::Result<()> {
        let path = self.large_file();
        let size = self.size;
        tokio::task::spawn_blocking(move || write_test_file(&path, size)).await??;
        Ok(())
    }

    /// Removes the large file and the benchmark's objects.
    pub(crate) async fn clean_up(&self) -> anyhow::Result<()> {
        let _ = tokio::fs::remove_file(self.large_file()).await;
        let _ = tokio::fs::remove_file(self.work_dir.join("s3io-bench-download.bin")).await;
        let mut keys = Vec::new();
        let options = s3io::types::ListObjectsOptions::default().with_prefix(self.prefix.clone());
        use futures::TryStreamExt as _;
        let mut pages = std::pin::pin!(self.client.list_objects_v2_pages(&self.bucket, options));
        while let Some(page) = pages.try_next().await? {
            keys.extend(page.objects.into_iter().map(|o| o.key));
        }
        for batch in keys.chunks(s3io::config::MAX_DELETE_KEYS) {
            self.client.delete_objects(&self.bucket, batch).await?;
        }
        Ok(())
    }

    /// Runs one scenario.
    pub(crate) async fn run(&mut self, scenario: Scenario) -> anyhow::Result<ScenarioResult> {
        match scenario {
            Scenario::LargeUpload => {
                self.fresh_client().await?;
                let before = self.before();
                let (progress, timeline) = self.timeline();
                self.client
                    .upload(&self.bucket, self.key("large"))
                    .progress(progress)
                    .from_file(self.large_file())
                    .await?;
                Ok(self.large_result(scenario, before, timeline).await)
            }
            Scenario::LargeUploadStream => {
                let file = tokio::fs::File::open(self.large_file()).await.context("opening the large file")?;
                self.fresh_client().await?;
                let before = self.before();
                let (progress, timeline) = self.timeline();
                self.client.upload(&self.bucket, self.key("large-stream")).progress(progress).from_reader(file).await?;
                Ok(self.large_result(scenario, before, timeline).await)
            }
            Scenario::LargeDownload => {
                self.ensure_large_object().await?;
                self.fresh_client().await?;
                let target = self.work_dir.join("s3io-bench-download.bin");
                let before = self.before();
                let (progress, timeline) = self.timeline();
                self.client.download(&self.bucket, self.key("large")).progress(progress).to_file(&target).await?;
                let result = self.large_result(scenario, before, timeline).await;
                let _ = tokio::fs::remove_file(&target).await;
                Ok(result)
            }
            Scenario::LargeDownloadStream => {
                self.ensure_large_object().await?;
                self.fresh_client().await?;
                let before = self.before();
                let (progress, timeline) = self.timeline();
                self.client
                    .download(&self.bucket, self.key("large"))
                    .progress(progress)
                    .to_writer(tokio::io::sink())
                    .await?;
                Ok(self.large_result(scenario, before, timeline).await)
            }
            Scenario::Small => {
                self.ensure_small_objects().await?;
                // Warm-up: connections, pool, per-worker buffers.
                self.small_downloads(self.small_concurrency.min(self.small_count)).await?;
                let before = self.before();
                let latencies = self.small_downloads(self.small_count).await?;
                let bytes = self.small_count as u64 * self.small_size;
                let mut result = self.result(scenario, before, self.small_count as u64, bytes);
                result.latency = Some(latency(latencies));
                Ok(result)
            }
            Scenario::Mixed => {
                self.ensure_large_object().await?;
                self.ensure_small_objects().await?;
                let before = self.before();
                let large = self.client.download(&self.bucket, self.key("large")).to_writer(tokio::io::sink());
                let smalls = self.small_downloads(self.small_count / 2);
                let payload = Bytes::from(vec![7u8; self.small_size as usize]);
                let uploads = async {
                    for i in 0..self.small_count / 20 {
                        self.client
                            .upload(&self.bucket, self.key(&format!("mixed/{i:05}")))
                            .from_bytes(payload.clone())
                            .await?;
                    }
                    Ok::<_, s3io::Error>(())
                };
                let (large, smalls, uploads) = tokio::join!(large, smalls, uploads);
                large?;
                uploads?;
                let latencies = smalls?;
                let objects = 1 + (self.small_count / 2 + self.small_count / 20) as u64;
                let bytes = self.size + (self.small_count / 2 + self.small_count / 20) as u64 * self.small_size;
                let mut result = self.result(scenario, before, objects, bytes);
                result.latency = Some(latency(latencies));
                Ok(result)
            }
            Scenario::SmallMixed => {
                let sizes = self.mixed_sizes();
                anyhow::ensure!(!sizes.is_empty(), "small-mixed needs --small-count of at least 1");
                self.ensure_mixed_objects(&sizes).await?;
                let order = self.mixed_order(sizes.len());
                // Warm-up: the same draw once, so connections and the pool reach their steady state.
                self.mixed_downloads(&sizes, &order).await?;
                let before = self.before_keeping_the_pool();
                let latencies = self.mixed_downloads(&sizes, &order).await?;
                let bytes = order.iter().map(|&i| sizes[i]).sum();
                let mut result = self.result(scenario, before, order.len() as u64, bytes);
                result.latency = Some(latency(latencies));
                Ok(result)
            }
            Scenario::Null => {
                self.null_operations(self.small_concurrency).await?;
                let before = self.before();
                let latencies = self.null_operations(self.small_count).await?;
                let bytes = self.small_count as u64 * self.small_size;
                let mut result = self.result(scenario, before, self.small_count as u64, bytes);
                result.latency = Some(latency(latencies));
                Ok(result)
            }
        }
    }

    /// The small-mixed scenario's object sizes: log-uniform between the minimum and maximum.
    fn mixed_sizes(&self) -> Vec<u64> {
        let mut random = Random::new(MIXED_SEED);
        let (low, high) = (self.mixed_min_size.max(1) as f64, self.mixed_max_size.max(self.mixed_min_size) as f64);
        (0..MIXED_OBJECTS.min(self.small_count))
            .map(|_| (low * (high / low).powf(random.unit())).round() as u64)
            .collect()
    }

    /// The small-mixed scenario's downloads: which object each fetches, `small_count` of them.
    fn mixed_order(&self, objects: usize) -> Vec<usize> {
        let mut random = Random::new(MIXED_SEED + 1);
        (0..self.small_count).map(|_| (random.unit() * objects as f64) as usize % objects).collect()
    }

    async fn ensure_mixed_objects(&self, sizes: &[u64]) -> anyhow::Result<()> {
        let last = self.key(&format!("small-mixed/{:05}", sizes.len() - 1));
        if self.client.head_object(&self.bucket, &last).await.is_ok() {
            return Ok(());
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let workers = (0..self.small_concurrency).map(|_| async {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&size) = sizes.get(i) else { return Ok::<_, s3io::Error>(()) };
                let key = self.key(&format!("small-mixed/{i:05}"));
                let payload = Bytes::from(test_bytes(size as usize, 1000 + i as u64));
                self.client.put_object(&self.bucket, &key, payload, &Default::default()).await?;
            }
        });
        futures::future::try_join_all(workers).await?;
        Ok(())
    }

    /// Downloads the objects `order` names into memory (pooled `Bytes`), `small_concurrency` at a
    /// time; returns every latency. Each object's size is checked.
    async fn mixed_downloads(&self, sizes: &[u64], order: &[usize]) -> anyhow::Result<Vec<Duration>> {
        let (sizes, order): (Arc<[u64]>, Arc<[usize]>) = (sizes.into(), order.into());
        let count = order.len();
        self.workers(count, |next| {
            let (client, bucket, prefix) = (self.client.clone(), self.bucket.clone(), self.prefix.clone());
            let (sizes, order) = (sizes.clone(), order.clone());
            let per_worker = count / self.small_concurrency + 1;
            async move {
                let mut latencies = Vec::with_capacity(per_worker);
                let mut key = String::with_capacity(prefix.len() + 24);
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&object) = order.get(i) else { return Ok(latencies) };
                    key.clear();
                    use std::fmt::Write as _;
                    let _ = write!(key, "{prefix}small-mixed/{object:05}");
                    let started = Instant::now();
                    let bytes = client.download(&bucket, key.as_str()).to_bytes().await?;
                    latencies.push(started.elapsed());
                    anyhow::ensure!(
                        bytes.len() as u64 == sizes[object],
                        "{key}: {} bytes, expected {}",
                        bytes.len(),
                        sizes[object]
                    );
                }
            }
        })
        .await
    }

    /// The null scenario's work: `count` operations, `small_concurrency` at a time, each copying
    /// `small_size` bytes into the worker's own buffer and yielding to the runtime once (where a
    /// download would wait for the network); returns every latency.
    async fn null_operations(&self, count: usize) -> anyhow::Result<Vec<Duration>> {
        let source: Arc<[u8]> = test_bytes(self.small_size as usize, 2).into();
        self.workers(count, |next| {
            let source = source.clone();
            let per_worker = count / self.small_concurrency + 1;
            async move {
                let mut target = vec![0u8; source.len()];
                let mut latencies = Vec::with_capacity(per_worker);
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count {
                    let started = Instant::now();
                    target.copy_from_slice(std::hint::black_box(&source));
                    tokio::task::yield_now().await;
                    std::hint::black_box(&target);
                    latencies.push(started.elapsed());
                }
                Ok(latencies)
            }
        })
        .await
    }

    /// Runs `small_concurrency` workers, each made by `worker` from the counter of operations
    /// they share (`count` in all), and returns every latency they measured. Each worker is a
    /// task of its own, as a service's requests are: the runtime's threads share them (one task
    /// polling them all would run every operation on one thread, and its wake-ups poll them all).
    async fn workers<F, W>(&self, count: usize, worker: F) -> anyhow::Result<Vec<Duration>>
    where
        F: Fn(Arc<std::sync::atomic::AtomicUsize>) -> W,
        W: std::future::Future<Output = anyhow::Result<Vec<Duration>>> + Send + 'static,
    {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.small_concurrency {
            workers.spawn(worker(next.clone()));
        }
        let mut all = Vec::with_capacity(count);
        while let Some(joined) = workers.join_next().await {
            all.extend(joined??);
        }
        Ok(all)
    }

    /// Replaces the client with a fresh one made from the same settings (no connections, the
    /// controller at its start), for a transfer measured as one `cp` runs it.
    async fn fresh_client(&mut self) -> anyhow::Result<()> {
        self.client = Client::from_config(self.config.clone()).await.context("making a fresh client")?;
        Ok(())
    }

    async fn ensure_large_object(&self) -> anyhow::Result<()> {
        if self.client.head_object(&self.bucket, &self.key("large")).await.is_err() {
            self.client.upload(&self.bucket, self.key("large")).from_file(self.large_file()).await?;
        }
        Ok(())
    }

    async fn ensure_small_objects(&self) -> anyhow::Result<()> {
        let last = self.key(&format!("small/{:05}", self.small_count - 1));
        if self.client.head_object(&self.bucket, &last).await.is_ok() {
            return Ok(());
        }
        let payload = Bytes::from(test_bytes(self.small_size as usize, 1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let workers = (0..self.small_concurrency).map(|_| async {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= self.small_count {
                    return Ok::<_, s3io::Error>(());
                }
                let key = self.key(&format!("small/{i:05}"));
                self.client.put_object(&self.bucket, &key, payload.clone(), &Default::default()).await?;
            }
        });
        futures::future::try_join_all(workers).await?;
        Ok(())
    }

    /// Downloads `count` small objects, `small_concurrency` at a time, each worker into its own
    /// reused buffer; returns every latency.
    async fn small_downloads(&self, count: usize) -> anyhow::Result<Vec<Duration>> {
        self.workers(count, |next| {
            let (client, bucket, prefix) = (self.client.clone(), self.bucket.clone(), self.prefix.clone());
            let (small_count, per_worker) = (self.small_count, count / self.small_concurrency + 1);
            async move {
                let mut buffer = BytesMut::new();
                let mut latencies = Vec::with_capacity(per_worker);
                let mut key = String::with_capacity(prefix.len() + 16);
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count {
                        return Ok(latencies);
                    }
                    key.clear();
                    use std::fmt::Write as _;
                    let _ = write!(key, "{prefix}small/{:05}", i % small_count);
                    let started = Instant::now();
                    let (filled, _) = client.download(&bucket, key.as_str()).into_buffer(buffer).await?;
                    latencies.push(started.elapsed());
                    buffer = filled;
                }
            }
        })
        .await
    }
}

/// A seeded xorshift64* generator, for the small-mixed scenario's draws.
struct Random(u64);

impl Random {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Deterministic incompressible-looking bytes (xorshift64*).
fn test_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn write_test_file(path: &Path, size: u64) -> anyhow::Result<()> {
    use std::io::Write as _;
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
    let block = test_bytes(1 << 20, 42);
    let mut written = 0u64;
    let mut round = 0u64;
    while written < size {
        // Vary each block so no two MiB are equal (no accidental dedup or compression).
        let mut chunk = block.clone();
        chunk[..8].copy_from_slice(&round.to_le_bytes());
        let take = (size - written).min(chunk.len() as u64) as usize;
        writer.write_all(&chunk[..take]).with_context(|| format!("writing {}", path.display()))?;
        written += take as u64;
        round += 1;
    }
    writer.flush()?;
    Ok(())
}
