//! `--plot`: an SVG with the small downloads' latency distribution and, for each large transfer,
//! a panel of its throughput (left axis) with the connections the client has open and its
//! concurrency (right axis) over time, from the samples of [`super::timeline`] (every 10 ms,
//! throughput over a 50 ms window, longer when the byte count moves in steps). Titles name the emulated network, or loopback. Drawn with
//! plotters; for a PNG, render the SVG (`rsvg-convert -o chart.png chart.svg`, Debian's
//! `librsvg2-bin`).

use std::path::Path;

use plotters::prelude::*;

use super::result::ScenarioResult;

/// Chart width in pixels.
const WIDTH: u32 = 1000;
/// Height of the latency histogram and of each transfer's panel, in pixels.
const PANEL_HEIGHT: u32 = 360;

/// Draws the chart into `path`; `network` is the emulated network's spec, if any.
pub(crate) fn draw(path: &Path, results: &[ScenarioResult], network: Option<&str>) -> anyhow::Result<()> {
    let latencies = latency_samples(results);
    let transfers: Vec<&ScenarioResult> = results.iter().filter(|r| r.timeline.len() >= 2).collect();
    let panels = u32::from(!latencies.is_empty()) + transfers.len() as u32;
    let root = SVGBackend::new(path, (WIDTH, PANEL_HEIGHT * panels.max(1))).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let areas = root.split_evenly((panels.max(1) as usize, 1));
    let mut areas = areas.iter();
    if !latencies.is_empty() {
        if let Some(area) = areas.next() {
            latency_histogram(area, &latencies)?;
        }
    }
    let shape = network.map_or_else(|| "loopback".to_owned(), |n| format!("network {n}"));
    for (result, area) in transfers.iter().zip(areas) {
        transfer_over_time(area, result, &shape)?;
    }
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("plotting: {e}")
}

/// Every small download's latency, in milliseconds.
fn latency_samples(results: &[ScenarioResult]) -> Vec<f64> {
    results
        .iter()
        .filter(|r| r.scenario == "small downloads")
        .filter_map(|r| r.latency.as_ref())
        .flat_map(|l| l.samples_ms.iter().copied())
        .collect()
}

fn latency_histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    samples: &[f64],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    const BUCKETS: usize = 50;
    let max = samples.iter().copied().fold(0.0f64, f64::max).max(0.001);
    let width = max / BUCKETS as f64;
    let mut counts = [0u32; BUCKETS];
    for s in samples {
        counts[((s / width) as usize).min(BUCKETS - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1);
    let mut chart = ChartBuilder::on(area)
        .caption("small downloads: latency distribution", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..max, 0u32..top + top / 10 + 1)
        .map_err(plot_error)?;
    chart.configure_mesh().x_desc("latency (ms)").y_desc("downloads").draw().map_err(plot_error)?;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &c)| {
            let x0 = i as f64 * width;
            Rectangle::new([(x0, 0), (x0 + width, c)], BLUE.mix(0.6).filled())
        }))
        .map_err(plot_error)?;
    Ok(())
}

/// One large transfer's panel: throughput on the left axis, connections open and concurrency
/// on the right.
fn transfer_over_time<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    result: &ScenarioResult,
    shape: &str,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let timeline = &result.timeline;
    let max_t = timeline.last().map_or(0.0, |s| s.seconds).max(0.01);
    let max_rate = result.throughput.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1.0);
    let max_count = timeline.iter().map(|s| s.connections.max(s.concurrency as u64)).max().unwrap_or(0).max(1);
    let most_open = timeline.iter().map(|s| s.connections).max().unwrap_or(0);
    let caption = format!(
        "{}: {:.0} MiB/s in {:.2} s, {most_open} connections open at most ({} opened) — {shape}",
        result.scenario, result.mib_per_second, result.seconds, result.connections_opened
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .right_y_label_area_size(50)
        .build_cartesian_2d(0.0..max_t, 0.0..max_rate * 1.1)
        .map_err(plot_error)?
        .set_secondary_coord(0.0..max_t, 0.0..(max_count as f64 * 1.2).ceil());
    let window = result.throughput_window_ms.unwrap_or(0.0);
    let y_desc = format!("MiB/s (over {window:.0} ms)");
    chart.configure_mesh().x_desc("seconds").y_desc(y_desc).draw().map_err(plot_error)?;
    chart.configure_secondary_axes().y_desc("connections, concurrency").draw().map_err(plot_error)?;
    let blue = BLUE.to_rgba();
    chart
        .draw_series(LineSeries::new(result.throughput.iter().copied(), blue.stroke_width(2)))
        .map_err(plot_error)?
        .label("throughput (MiB/s)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
    let red = RED.to_rgba();
    chart
        .draw_secondary_series(LineSeries::new(
            timeline.iter().map(|s| (s.seconds, s.connections as f64)),
            red.stroke_width(2),
        ))
        .map_err(plot_error)?
        .label("connections open")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(2)));
    let green = GREEN.mix(0.9);
    chart
        .draw_secondary_series(LineSeries::new(
            timeline.iter().map(|s| (s.seconds, s.concurrency as f64)),
            green.stroke_width(2),
        ))
        .map_err(plot_error)?
        .label("concurrency")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], green.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    Ok(())
}
