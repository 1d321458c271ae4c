//! `s3io bench`, the README's main command: a small suite against the embedded server, its
//! JSON and its chart.

use std::process::{Command, Stdio};

use crate::common::*;

#[test]
fn bench_runs_every_scenario_and_reports_json_and_a_chart() {
    let work = tempfile::tempdir().unwrap();
    let plot = work.path().join("bench.svg");
    let mut command = Command::new(env!("CARGO_BIN_EXE_s3io"));
    clean_env(&mut command);
    let output = command
        .args(["bench", "--size", "16MiB", "--small-count", "50", "--mixed-max-size", "2MiB", "--json", "--plot"])
        .arg(&plot)
        .arg("--work-dir")
        .arg(work.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "s3io bench failed: {}", stderr(&output));
    let results: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&output)));
    let names: Vec<&str> = results.iter().map(|r| r["scenario"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "large upload (file)",
            "large upload (stream)",
            "large download (file)",
            "large download (stream)",
            "small downloads",
            "mixed",
            "small-mixed downloads"
        ]
    );
    for result in &results {
        let name = result["scenario"].as_str().unwrap();
        for field in ["seconds", "mib_per_second", "requests_per_second"] {
            let value = result[field].as_f64().unwrap_or_else(|| panic!("{name}: no {field} in {result}"));
            assert!(value > 0.0 && value.is_finite(), "{name}: {field} = {value}");
        }
        // CPU time comes in clock ticks (10 ms): a 16 MiB transfer may cost less than one.
        let cpu = result["cpu_seconds_per_gib"].as_f64().unwrap_or_else(|| panic!("{name}: no CPU in {result}"));
        assert!(cpu >= 0.0 && cpu.is_finite(), "{name}: cpu_seconds_per_gib = {cpu}");
        for field in ["objects", "bytes", "requests"] {
            let value = result[field].as_u64().unwrap_or_else(|| panic!("{name}: no {field} in {result}"));
            assert!(value > 0, "{name}: {field} = 0");
        }
        // A scenario may run on connections an earlier one opened; file transfers stream through
        // worker-owned buffers, not the pool.
        for field in ["pool_acquired", "pool_allocated", "retries", "connections_opened", "connections_reused"] {
            assert!(result[field].as_u64().is_some(), "{name}: no {field} in {result}");
        }
        // Allocations are counted only by a binary built with the `alloc-count` feature.
        if cfg!(feature = "alloc-count") {
            assert!(result["allocations"].as_u64().is_some(), "{name}: no allocations in {result}");
            assert!(result["allocations_per_object"].as_f64().is_some(), "{name}: {result}");
        } else {
            assert!(result["allocations"].is_null(), "{name}: allocations counted without alloc-count: {result}");
            assert!(result["allocations_per_object"].is_null(), "{name}: {result}");
        }
        assert!(result["retries_by_reason"].is_object(), "{name}: {result}");
        // No faults were injected: nothing was retried.
        assert_eq!(result["retries"], 0, "{name}");
    }
    let large = 16 * 1024 * 1024;
    for result in &results[..4] {
        assert_eq!(result["bytes"], large, "{}", result["scenario"]);
        assert_eq!(result["objects"], 1, "{}", result["scenario"]);
    }
    let small = &results[4];
    assert_eq!(small["objects"], 50);
    assert_eq!(small["bytes"], 50 * 1_258_291, "50 × 1.2 MiB");
    let latency = &small["latency"];
    let (p50, p99) = (latency["p50_ms"].as_f64().unwrap(), latency["p99_ms"].as_f64().unwrap());
    assert!(p50 > 0.0 && p50 <= latency["p90_ms"].as_f64().unwrap() && p50 <= p99, "{latency}");
    // The small downloads land in buffers of their own size, not pooled ones: a reuse rate is
    // reported exactly when the pool was used.
    match small["pool_acquired"].as_u64().unwrap() {
        0 => assert!(small["pool_reuse_rate"].is_null(), "{small}"),
        _ => {
            let reuse = small["pool_reuse_rate"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&reuse), "pool reuse rate {reuse}");
        }
    }
    // Objects of varied sizes into memory: every one through the pool, reported per size class,
    // whose counts add up.
    let varied = &results[6];
    assert_eq!(varied["objects"], 50);
    let acquired = varied["pool_acquired"].as_u64().unwrap();
    assert_eq!(acquired, 50, "one pooled buffer per download into memory: {varied}");
    let classes = varied["pool_classes"].as_array().unwrap_or_else(|| panic!("no pool_classes: {varied}"));
    assert!(classes.len() > 1, "sizes from 100 KiB to 2 MiB fall in several classes: {varied}");
    let per_class: u64 = classes.iter().map(|c| c["acquired"].as_u64().unwrap()).sum();
    assert_eq!(per_class, acquired, "{varied}");
    assert!(varied["latency"]["p99_ms"].as_f64().unwrap() > 0.0, "{varied}");

    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") || svg.contains("<svg "), "not an SVG: {}", &svg[..svg.len().min(200)]);
    assert!(svg.contains("small downloads: latency distribution"), "the latency chart is missing");
    // Every large transfer has its panel (throughput, connections open, concurrency), drawn from
    // samples taken every 10 ms plus one at the end, so even a 16 MiB transfer that ends within
    // a few ms has a line from its start to its end; the title says the network is loopback.
    for (name, result) in names[..4].iter().zip(&results[..4]) {
        let timeline = result["timeline"].as_array().unwrap_or_else(|| panic!("{name}: no timeline in {result}"));
        assert!(timeline.len() >= 2, "{name}: {} samples", timeline.len());
        let last = timeline.last().unwrap();
        assert_eq!(last["bytes"], large, "{name}: the last sample has not every byte: {last}");
        assert!(last["connections"].as_u64().unwrap() > 0, "{name}: no connection open at the end: {last}");
        assert!(last["concurrency"].as_u64().unwrap() > 0, "{name}: {last}");
        let points = result["throughput"].as_array().unwrap();
        assert_eq!(points.len(), timeline.len() - 1, "{name}: a throughput point per sample after the first");
        assert!(svg.contains(&format!("{name}: ")), "no panel for {name}");
        assert!(svg.contains("connections open") && svg.contains("concurrency"), "the panels' legends are missing");
        assert!(result["network"].is_null(), "{name}: {result}");
    }
    assert!(svg.contains("— loopback"), "the panels do not say the network is loopback");
    // Its objects are removed and its large file too: only the chart is left.
    assert_eq!(entries(work.path()), ["bench.svg"]);
}

#[test]
fn bench_on_an_emulated_network_is_paced_and_says_so() {
    let work = tempfile::tempdir().unwrap();
    let plot = work.path().join("bench.svg");
    let mut command = Command::new(env!("CARGO_BIN_EXE_s3io"));
    clean_env(&mut command);
    // One 20 MB/s link for every connection: 8 MiB take ~0.42 s each way, whatever the concurrency.
    let output = command
        .args(["bench", "--size", "8MiB", "--scenarios", "large-download", "--network", "link=20MB/s,rtt=2ms"])
        .args(["--json", "--plot"])
        .arg(&plot)
        .arg("--work-dir")
        .arg(work.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "s3io bench failed: {}", stderr(&output));
    let results: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&output)));
    assert_eq!(results.len(), 1);
    let result = &results[0];
    assert_eq!(result["network"], "rtt=2ms,link=20MB/s", "the spec in its canonical form: {result}");
    let link = 20e6 / (1u64 << 20) as f64;
    let rate = result["mib_per_second"].as_f64().unwrap();
    assert!(rate >= 0.5 * link && rate <= 1.3 * link, "{rate:.1} MiB/s through a {link:.1} MiB/s link");
    // Paced over ~0.4 s, the transfer has tens of samples.
    assert!(result["timeline"].as_array().unwrap().len() >= 20, "{result}");
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("network rtt=2ms,link=20MB/s"), "the panel's title does not name the network");

    // Without the embedded server there is nothing to shape.
    let mut command = Command::new(env!("CARGO_BIN_EXE_s3io"));
    clean_env(&mut command);
    let output = command
        .args(["--endpoint-url", "http://127.0.0.1:9", "bench", "--bucket", "b", "--network", "rtt=20ms"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--network needs the embedded server"), "{}", stderr(&output));
    // A spec that does not parse is named.
    let mut command = Command::new(env!("CARGO_BIN_EXE_s3io"));
    clean_env(&mut command);
    let output = command.args(["bench", "--network", "rtt=fast"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("rtt=fast") || stderr(&output).contains("\"fast\""), "{}", stderr(&output));
}
