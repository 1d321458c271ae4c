//! `--plot`: an SVG with the small downloads' latency distribution and the large transfers'
//! throughput over time, drawn with plotters.

use std::path::Path;

use plotters::prelude::*;

use super::scenario::ScenarioResult;

/// Chart size in pixels.
const SIZE: (u32, u32) = (1000, 800);

/// Draws the chart into `path`.
pub(crate) fn draw(path: &Path, results: &[ScenarioResult]) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let (top, bottom) = root.split_vertically(SIZE.1 / 2);
    latency_histogram(&top, results)?;
    throughput_over_time(&bottom, results)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("plotting: {e}")
}

fn latency_histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    results: &[ScenarioResult],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let samples: Vec<f64> = results
        .iter()
        .filter(|r| r.scenario == "small downloads")
        .filter_map(|r| r.latency.as_ref())
        .flat_map(|l| l.samples_ms.iter().copied())
        .collect();
    if samples.is_empty() {
        return Ok(());
    }
    const BUCKETS: usize = 50;
    let max = samples.iter().copied().fold(0.0f64, f64::max).max(0.001);
    let width = max / BUCKETS as f64;
    let mut counts = [0u32; BUCKETS];
    for s in &samples {
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

fn throughput_over_time<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    results: &[ScenarioResult],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let series: Vec<&ScenarioResult> = results.iter().filter(|r| !r.throughput.is_empty()).collect();
    if series.is_empty() {
        return Ok(());
    }
    let max_t = series.iter().flat_map(|r| r.throughput.iter().map(|p| p.0)).fold(0.0f64, f64::max).max(0.1);
    let max_rate = series.iter().flat_map(|r| r.throughput.iter().map(|p| p.1)).fold(0.0f64, f64::max).max(1.0);
    let mut chart = ChartBuilder::on(area)
        .caption("large transfers: throughput over time", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_t, 0.0..max_rate * 1.1)
        .map_err(plot_error)?;
    chart.configure_mesh().x_desc("seconds").y_desc("MiB/s").draw().map_err(plot_error)?;
    for (i, result) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(result.throughput.iter().copied(), color.stroke_width(2)))
            .map_err(plot_error)?
            .label(result.scenario)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(plot_error)?;
    Ok(())
}
