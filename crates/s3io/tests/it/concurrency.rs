//! The client-wide concurrency controller, end to end: on an emulated network whose connections
//! are each bandwidth-bound it raises the requests in flight above its start of 16 (on a long
//! path, to four times the start at the first answer); on plain
//! loopback, where 8 already move all the machine can, it keeps connections few, transfer after
//! transfer; a pinned concurrency stays as pinned.

use s3io::config::TransferConfig;
use s3io_server::ServerConfig;

use crate::common::{test_data, TestServer, MIB};

/// Each connection 4 MB/s each way with a 5 ms round trip, no shared link: throughput grows
/// with every request added, as on a long, thin link to S3 (scaled down to keep the test short).
const THIN_LINK: &str = "rtt=5ms,bw=4MB/s";

/// A server holding `data` under `key`, restarted to emulate `network`, with a client whose
/// transfers use `part`-byte parts and `pinned` concurrency (adaptive if `None`).
async fn shaped(network: &str, key: &str, data: &[u8], part: usize, pinned: Option<usize>) -> TestServer {
    let server = TestServer::start().await;
    server.put(key, data).await;
    server
        .restart_configured(
            |config: ServerConfig| config.with_network(network.parse().expect("network spec")),
            |b| b.transfer(TransferConfig::default().with_part_size(part as u64).with_pinned_concurrency(pinned)),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_on_a_thin_link_raises_concurrency_above_the_start() {
    let part = 256 * 1024;
    // 64 MiB: a second at the start's 16 requests. The controller needs a warm-up interval, a
    // probe down and a round at the lower limit (100 ms or more each) before it grows on this
    // short path; with 32 MiB a fast run could end before the growth (one CI run did, at 659 ms).
    let data = test_data(64 * MIB, 41);
    let server = shaped(THIN_LINK, "thin", &data, part, None).await;
    let throttle = server.client.throttle();
    assert!(throttle.is_adaptive());
    assert_eq!(throttle.limit(), 16, "the controller starts at 16");

    let started = std::time::Instant::now();
    let bytes = server.client.download(&server.bucket, "thin").to_bytes().await.expect("download");
    let elapsed = started.elapsed();
    assert!(bytes[..] == data[..], "the download is not the object");

    let (max, peak) = (throttle.max_limit_reached(), throttle.peak_in_flight());
    let opened = server.client.connection_metrics().opened();
    // At 16 requests the link moves 64 MB/s; the controller found that more move more (a short
    // path: it grows by half a step, to 24 first).
    assert!(max >= 24, "the limit never rose above the start: at most {max} (peak in flight {peak}) in {elapsed:?}");
    assert!(peak > 16, "never more than {peak} requests in flight (limit up to {max})");
    assert!(opened > 16 && opened as usize <= max + 1, "{opened} connections for a limit of at most {max}");
    // 64 MiB at 16 × 4 MB/s would take 1.05 s after the ramp; more requests make it faster.
    assert!(elapsed < std::time::Duration::from_secs(10), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_on_a_long_path_jumps_to_four_times_the_start_at_its_first_answer() {
    // A 20 ms round trip: the first part's answer shows the path long while slow start warms
    // up, and the limit goes from 16 to 64 at once (not 16, 32, 64 over two intervals or more).
    let part = 256 * 1024;
    let data = test_data(32 * MIB, 46);
    let server = shaped("rtt=20ms,bw=8MB/s", "long", &data, part, None).await;
    let throttle = server.client.throttle();
    assert_eq!(throttle.limit(), 16, "the controller starts at 16");
    let bytes = server.client.download(&server.bucket, "long").to_bytes().await.expect("download");
    assert!(bytes[..] == data[..], "the download is not the object");
    let (max, peak) = (throttle.max_limit_reached(), throttle.peak_in_flight());
    assert_eq!(max, 64, "the limit reached {max} (peak in flight {peak})");
    assert!(peak > 32, "never more than {peak} requests in flight (limit up to {max})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_many_part_download_on_loopback_keeps_connections_few() {
    let part = 256 * 1024;
    let data = test_data(48 * MIB, 42);
    let server = TestServer::start().await;
    server.put("loop", &data).await;
    let client = server.client_with(|b| b.transfer(TransferConfig::default().with_part_size(part as u64))).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("loop.bin");
    let output = client.download(&server.bucket, "loop").to_file(&path).await.expect("download");
    assert_eq!(output.parts, 192);
    assert!(std::fs::read(&path).expect("read the file") == data, "the file is not the object");

    let throttle = client.throttle();
    let opened = client.connection_metrics().opened();
    // The controller starts at 16 and on loopback tries one half-step more (24) at most. A request
    // that finds no idle connection when it starts opens one, though another may come back to
    // the pool a moment later (hyper-util's pool races the two): connections stay within twice
    // the start, as they stayed within twice the former start of 8.
    assert!(
        opened <= 32,
        "{opened} connections opened for one download on loopback (limit up to {})",
        throttle.max_limit_reached()
    );
    assert!(throttle.max_limit_reached() <= 24, "the limit rose to {} on loopback", throttle.max_limit_reached());
    assert!(throttle.peak_in_flight() <= 24, "{} requests in flight at once", throttle.peak_in_flight());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_one_after_another_on_a_short_full_link_do_not_ratchet_the_limit_up() {
    // A short path whose link two connections fill, as loopback is filled by a few. Each
    // download after an idle time used to raise the limit it inherited by half a step, kept on
    // a noisy gain: 16, 24, 36, 54 over the transfers of one client. Now a carried-over limit
    // is checked by a probe down first, and grows only if fewer requests moved nearly
    // proportionally less.
    // Small parts keep the link's queue short (16 × 32 KiB at 80 MB/s: 6.5 ms), so that the
    // first-byte latency, which counts the time queued behind other answers, says "short path".
    let part = 32 * 1024;
    let data = test_data(24 * MIB, 45);
    let server = shaped("rtt=1ms,bw=40MB/s,link=80MB/s", "again", &data, part, None).await;
    let client = &server.client;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut limits = Vec::new();
    for round in 0..4 {
        let path = dir.path().join(format!("again-{round}.bin"));
        client.throttle().reset_peaks();
        client.download(&server.bucket, "again").to_file(&path).await.expect("download");
        assert!(std::fs::read(&path).expect("read the file") == data, "download {round} is not the object");
        limits.push((client.throttle().max_limit_reached(), client.throttle().limit()));
    }
    // 12 requests move as much as 16: no download tries more than the start (the old
    // controller tried 24 in each). On a loaded machine one noisy interval may make 12 look
    // slower and one download try 24, never more.
    let above = limits.iter().filter(|&&(max, _)| max > 16).count();
    assert!(above <= 1, "(highest, last) limit of each download: {limits:?}");
    assert!(
        limits.iter().all(|&(max, last)| max <= 24 && last <= 16),
        "(highest, last) limit of each download: {limits:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_concurrency_runs_as_pinned_on_a_thin_link() {
    let part = 256 * 1024;
    let data = test_data(4 * MIB, 43);
    let server = shaped(THIN_LINK, "pinned", &data, part, Some(4)).await;
    let client = &server.client;
    assert!(!client.throttle().is_adaptive());
    let bytes = client.download(&server.bucket, "pinned").to_bytes().await.expect("download");
    assert!(bytes[..] == data[..], "the download is not the object");
    // Four parts at a time, and the HEAD that fetches the checksum to verify beside them.
    let peak = client.throttle().peak_in_flight();
    assert!((4..=5).contains(&peak), "pinned at 4, {peak} requests in flight at once");
    assert!(client.connection_metrics().opened() <= 5, "{} connections", client.connection_metrics().opened());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_give_their_slots_back_so_other_downloads_go_on() {
    // Half of the GETs (by seed) hold their bodies back for 30 s: with the limit at 8, eight of
    // the sixteen or so such requests would otherwise keep every other download waiting for
    // their stall timeout.
    let server = TestServer::start().await;
    let data = test_data(2048, 44);
    for i in 0..32 {
        server.put(&format!("s/{i:02}"), &data).await;
    }
    let server = server
        .restart_with("seed=3,stall=0.5,stall-for=30s,methods=GET", |b| {
            b.retry(s3io::config::RetryConfig::default().with_max_attempts(1))
        })
        .await;
    assert!(server.client.throttle().is_adaptive());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let dir = tempfile::tempdir().expect("temp dir");
    let mut downloads = tokio::task::JoinSet::new();
    for i in 0..32 {
        let (client, bucket, done, data) = (server.client.clone(), server.bucket.clone(), done.clone(), data.clone());
        let path = dir.path().join(format!("{i:02}"));
        // To files: the first answer's body is read holding its request's slot.
        downloads.spawn(async move {
            if client.download(&bucket, format!("s/{i:02}")).to_file(&path).await.is_ok() {
                assert!(std::fs::read(&path).expect("read") == data, "object {i} is not what was uploaded");
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    // Every download not held back arrives well before the 10 s stall timeout frees the others.
    crate::common::wait_until(std::time::Duration::from_secs(6), "the downloads not held back", || {
        let stalls = server.server.fault_stats().stalls;
        stalls > 0 && done.load(std::sync::atomic::Ordering::Relaxed) + stalls == 32
    })
    .await;
    downloads.abort_all();
}
