//! `s3io bench`: the built-in benchmark.
//!
//! With no `--endpoint-url` it starts the embedded server (`s3io serve`, in a child process on a
//! temporary root) and runs the standard suite against it; with an endpoint and `--bucket` it
//! runs the same suite against any S3-compatible store, under a unique prefix whose objects it
//! deletes afterwards. Scenarios: a large object (default 1 GiB) uploaded from a file and from a
//! stream, downloaded to a file and to a stream; many small objects (default 1,000 × 1.2 MiB, 16
//! at a time) with latency percentiles; a mixed workload; objects of varied sizes downloaded into
//! memory (`small-mixed`, the service scenario); and, on request, a `null` scenario without I/O
//! (the machine's own latency noise). Each reports throughput, requests
//! per second, client CPU seconds per GiB, its own peak RSS, heap allocations per object,
//! buffer-pool reuse (per size class too), retries (in all and by reason), the concurrency the
//! client chose (`conc`: its limit at the end / at its highest, adaptive unless `--concurrency`
//! pins it; `peak`: the most requests in flight at once) and connections opened and reused: as a
//! table, as JSON (`--json`), and as an SVG chart (`--plot`: the small downloads' latency
//! distribution and, per large transfer, throughput, connections open and concurrency every
//! 10 ms). Each large transfer runs on a fresh client, as one `cp` would: its own connections,
//! and a concurrency controller that starts from its start instead of from where the set-up
//! (the upload of the large object, over the same emulated network) left the shared one, so the
//! figures and the chart show the ramp. With `--faults` the embedded server injects faults, so
//! the same figures show what retries cost; with `--network` it emulates a network (bandwidth,
//! round trips, a shared link), so they show the engine off loopback.

mod measure;
mod plot;
mod result;
mod scenario;
mod server;
mod timeline;

use std::path::PathBuf;

use anyhow::Context as _;
use s3io::config::{AddressingStyle, ClientConfig};
use s3io::{Client, CredentialsSource};

use crate::args::{BenchArgs, GlobalArgs, Scenario};
use crate::printer::Printer;
use crate::settings;
use result::ScenarioResult;

/// The allocation column of a binary that does not count allocations.
const NO_ALLOCATION_COUNT: &str = "n/a (build with --features alloc-count)";

/// What the scenarios share.
pub(crate) struct Bench {
    pub(crate) client: Client,
    /// What `client` was made from: each large transfer runs on a fresh client made from it.
    pub(crate) config: ClientConfig,
    pub(crate) bucket: String,
    pub(crate) prefix: String,
    pub(crate) size: u64,
    pub(crate) small_count: usize,
    pub(crate) small_size: u64,
    pub(crate) small_concurrency: usize,
    pub(crate) mixed_min_size: u64,
    pub(crate) mixed_max_size: u64,
    pub(crate) work_dir: PathBuf,
}

/// Runs the benchmark.
pub(crate) async fn run(global: &GlobalArgs, args: BenchArgs, out: &mut Printer) -> anyhow::Result<()> {
    if args.small_count == 0 || args.small_concurrency == 0 {
        return Err(crate::exit::UsageError::new("--small-count and --small-concurrency must be at least 1").into());
    }
    let mut config = settings::client_config(global)?;
    if let (Some(endpoint), Some(_)) = (&config.endpoint, &args.faults) {
        return Err(crate::exit::UsageError::new(format!(
            "--faults needs the embedded server; it cannot be used with the endpoint {endpoint}"
        ))
        .into());
    }
    if let (Some(endpoint), Some(_)) = (&config.endpoint, &args.network) {
        return Err(crate::exit::UsageError::new(format!(
            "--network needs the embedded server; it cannot be used with the endpoint {endpoint}"
        ))
        .into());
    }
    let network = args.network.as_ref().map(ToString::to_string);
    let (server, bucket) = match (&config.endpoint, &args.bucket) {
        (None, _) => {
            let server = server::EmbeddedServer::start(args.faults.as_ref(), args.network.as_ref()).await?;
            config.endpoint = Some(server.endpoint.clone());
            config.addressing_style = AddressingStyle::Path;
            config.credentials =
                CredentialsSource::static_keys(s3io_server::DEFAULT_ACCESS_KEY, s3io_server::DEFAULT_SECRET_KEY);
            (Some(server), "s3io-bench".to_owned())
        }
        (Some(_), Some(bucket)) => (None, bucket.clone()),
        (Some(endpoint), None) => {
            return Err(crate::exit::UsageError::new(format!("--bucket is needed to benchmark {endpoint}")).into());
        }
    };
    let client = Client::from_config(config.clone()).await?;
    if server.is_some() {
        client.create_bucket(&bucket).await?;
    }
    let target =
        server.as_ref().map_or_else(|| client.endpoint().to_string(), |s| format!("{} (embedded)", s.endpoint));
    let mut bench = Bench {
        prefix: format!("s3io-bench-{:08x}/", rand_suffix()),
        client,
        config,
        bucket,
        size: args.size.bytes(),
        small_count: args.small_count,
        small_size: args.small_size.bytes(),
        small_concurrency: args.small_concurrency,
        mixed_min_size: args.mixed_min_size.bytes(),
        mixed_max_size: args.mixed_max_size.bytes(),
        work_dir: args.work_dir.clone().unwrap_or_else(std::env::temp_dir),
    };
    let scenarios = if args.scenarios.is_empty() { Scenario::ALL.to_vec() } else { args.scenarios.clone() };
    if !args.json {
        out.status(&format!(
            "s3io bench: {} large object, {} × {} small objects ({} at a time) against {target}",
            args.size, args.small_count, args.small_size, args.small_concurrency
        ))
        .await?;
        if let Some(faults) = &args.faults {
            out.status(&format!("faults injected: {faults}")).await?;
        }
        if let Some(network) = &network {
            out.status(&format!("emulated network: {network}")).await?;
        }
    }
    // Only when a scenario reads it: the large file (1 GiB by default) takes seconds to write and
    // a GiB of disk that `small`, `small-mixed` and `null` do not need, and the kernel writes its
    // dirty pages back while those scenarios run (their figures did not measurably change: peak
    // RSS 44.5-47.4 MiB for `small` with the file, 46.9-48.3 without, in alternating runs).
    if scenarios.iter().any(|s| s.uses_large_file()) {
        bench.prepare_large_file().await?;
    }
    let mut results = Vec::with_capacity(scenarios.len());
    let outcome = async {
        for scenario in scenarios {
            let mut result = bench.run(scenario).await.with_context(|| format!("bench scenario {scenario:?}"))?;
            result.network.clone_from(&network);
            results.push(result);
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    let cleaned = bench.clean_up().await;
    outcome?;
    cleaned.context("removing the benchmark's objects")?;
    if args.json {
        out.data(&serde_json::to_string_pretty(&results)?).await?;
    } else {
        for line in table(&results) {
            out.data(&line).await?;
        }
    }
    if let Some(path) = &args.plot {
        plot::draw(path, &results, network.as_deref()).with_context(|| format!("drawing {}", path.display()))?;
        if !args.json {
            out.status(&format!("chart written to {}", path.display())).await?;
        }
    }
    Ok(())
}

fn rand_suffix() -> u32 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}

/// The results as an aligned text table.
fn table(results: &[ScenarioResult]) -> Vec<String> {
    let header = [
        "scenario",
        "objects",
        "MiB/s",
        "req/s",
        "CPU s/GiB",
        "peak RSS MiB",
        "allocs/obj",
        "pool reuse",
        "retries",
        "conc",
        "peak",
        "conns",
        "reused",
        "p50 ms",
        "p90 ms",
        "p99 ms",
    ];
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let latency =
                |f: fn(&result::Latency) -> f64| r.latency.as_ref().map_or("-".into(), |l| format!("{:.2}", f(l)));
            vec![
                r.scenario.to_owned(),
                r.objects.to_string(),
                format!("{:.0}", r.mib_per_second),
                format!("{:.0}", r.requests_per_second),
                format!("{:.2}", r.cpu_seconds_per_gib),
                r.peak_rss_mib.map_or("-".into(), |m| format!("{m:.1}")),
                r.allocations_per_object.map_or(NO_ALLOCATION_COUNT.into(), |a| format!("{a:.0}")),
                r.pool_reuse_rate.map_or("-".into(), |p| format!("{:.1}%", p * 100.0)),
                r.retries.to_string(),
                match r.concurrency_adaptive {
                    true => format!("{}/{}", r.concurrency, r.concurrency_max),
                    false => "pinned".into(),
                },
                r.peak_in_flight.to_string(),
                r.connections_opened.to_string(),
                r.connections_reused.to_string(),
                latency(|l| l.p50_ms),
                latency(|l| l.p90_ms),
                latency(|l| l.p99_ms),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].len()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| if i == 0 { format!("{c:<w$}", w = widths[i]) } else { format!("{c:>w$}", w = widths[i]) })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut lines = vec![line(header.iter().map(|h| h.to_string()).collect())];
    lines.extend(rows.into_iter().map(line));
    for result in results.iter().filter(|r| !r.pool_classes.is_empty()) {
        lines.push(format!("pool reuse by size class in {}:", result.scenario));
        lines.push(format!(
            "  {:>10}  {:>8}  {:>8}  {:>9}  {:>7}",
            "class KiB", "acquired", "reused", "allocated", "reuse"
        ));
        for class in &result.pool_classes {
            lines.push(format!(
                "  {:>10}  {:>8}  {:>8}  {:>9}  {:>6.1}%",
                class.size / 1024,
                class.acquired,
                class.reused,
                class.allocated,
                class.reuse_rate * 100.0
            ));
        }
    }
    lines.extend(results.iter().filter(|r| !r.retries_by_reason.is_empty()).map(|r| {
        let reasons: Vec<String> = r.retries_by_reason.iter().map(|(reason, n)| format!("{n} {reason}")).collect();
        format!("retries in {}: {}", r.scenario, reasons.join(", "))
    }));
    lines
}
