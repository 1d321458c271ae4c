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
    assert!(svg.contains("large transfers: throughput over time"), "the throughput chart is missing");
    // A transfer is drawn from its throughput samples: one that ended before its second sample (a
    // 16 MiB transfer on a fast machine) has no line to draw (issue 16 asks for a finer sampling).
    for (name, result) in names[..4].iter().zip(&results[..4]) {
        if result["throughput"].as_array().is_some_and(|samples| samples.len() >= 2) {
            assert!(svg.contains(name), "the throughput chart has no line for {name}");
        }
    }
    // Its objects are removed and its large file too: only the chart is left.
    assert_eq!(entries(work.path()), ["bench.svg"]);
}
