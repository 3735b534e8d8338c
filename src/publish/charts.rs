//! Charts drawn with plotters, each once as SVG (inlined in the HTML report)
//! and once as PNG (with the bundled DejaVu Sans font; no system fonts).
//! Colours are the Okabe–Ito palette, which stays distinguishable with the
//! common forms of colour blindness. Only published (disclosure-controlled)
//! figures are drawn: a suppressed or withheld cell is never drawn as zero.
//! Labels can come from data (categories and countries of bundles from other
//! organisations): the SVG backend escapes `<`, `>`, `&` and quotes in text,
//! and the control characters XML does not allow are shown as visible
//! escapes, so the SVG inlined in the HTML page is text and stays valid.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::table::WITHHELD;
use crate::error::{Error, Result};

const FONT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans.ttf"
));
const FAMILY: &str = "sans-serif";

/// Okabe & Ito (2008) colour-blind-safe palette, then greys.
const PALETTE: &[RGBColor] = &[
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(204, 121, 167),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];
/// One fixed colour per typology type (1 to 25, in order) and extension
/// category (the 7, in order), shared by every report, comparison and
/// bundle, so that a type keeps its colour whatever the selection: Paul
/// Tol's bright, muted, vibrant and light qualitative sets, then three of
/// Okabe–Ito's, none of them grey (grey means "other" or "not published").
const CATEGORY_COLOURS: [RGBColor; 32] = [
    RGBColor(0x44, 0x77, 0xAA),
    RGBColor(0xEE, 0x66, 0x77),
    RGBColor(0x22, 0x88, 0x33),
    RGBColor(0xCC, 0xBB, 0x44),
    RGBColor(0x66, 0xCC, 0xEE),
    RGBColor(0xAA, 0x33, 0x77),
    RGBColor(0x33, 0x22, 0x88),
    RGBColor(0x88, 0xCC, 0xEE),
    RGBColor(0x44, 0xAA, 0x99),
    RGBColor(0x11, 0x77, 0x33),
    RGBColor(0x99, 0x99, 0x33),
    RGBColor(0xDD, 0xCC, 0x77),
    RGBColor(0xCC, 0x66, 0x77),
    RGBColor(0x88, 0x22, 0x55),
    RGBColor(0xAA, 0x44, 0x99),
    RGBColor(0xEE, 0x77, 0x33),
    RGBColor(0x00, 0x77, 0xBB),
    RGBColor(0x33, 0xBB, 0xEE),
    RGBColor(0xEE, 0x33, 0x77),
    RGBColor(0xCC, 0x33, 0x11),
    RGBColor(0x00, 0x99, 0x88),
    RGBColor(0x77, 0xAA, 0xDD),
    RGBColor(0xEE, 0x88, 0x66),
    RGBColor(0xFF, 0xAA, 0xBB),
    RGBColor(0xBB, 0xCC, 0x33),
    RGBColor(0xAA, 0xAA, 0x00),
    RGBColor(0x99, 0xDD, 0xFF),
    RGBColor(0x44, 0xBB, 0x99),
    RGBColor(0xEE, 0xDD, 0x88),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x9E, 0x73),
];

/// The fixed colour of a type or extension category as the tables name it
/// (a type's name, an extension's code); None for anything else.
pub(crate) fn category_colour(label: &str) -> Option<RGBColor> {
    crate::classify::rules::published_categories()
        .iter()
        .position(|n| n == label)
        .and_then(|i| CATEGORY_COLOURS.get(i).copied())
}

/// Colours for labelled series: a type's own colour, otherwise the
/// palette in order.
fn colours_for(labels: &[String]) -> Vec<RGBColor> {
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| category_colour(l).unwrap_or(PALETTE[i % PALETTE.len()]))
        .collect()
}

const OTHER_GREY: RGBColor = RGBColor(170, 170, 170);
const LIGHT_GREY: RGBColor = RGBColor(215, 215, 215);
const SUPPRESSED_GREY: RGBColor = RGBColor(235, 235, 235);

/// A heatmap cell: a published share, a figure not published, or no
/// records at all (drawn differently: not published is never "none").
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum HeatCell {
    Share(f64),
    NotPublished,
    NoRecords,
}

/// One chart: its data, drawn on demand for each backend.
pub struct Chart {
    pub name: String,
    pub title: String,
    pub caption: String,
    pub svg: String,
    pub(crate) kind: Kind,
}

/// A point of a trend line: year, share, interval low, interval high.
pub type TrendPoint = (i32, f64, f64, f64);

pub(crate) enum Kind {
    /// Stacked bars: years × series of (label, counts by year).
    Stacked {
        years: Vec<i32>,
        series: Vec<(String, Vec<f64>)>,
        /// Per year, the records in suppressed cells (the year's published
        /// total less its published cells), drawn hatched on top.
        not_published: Vec<f64>,
        y_label: String,
    },
    /// Lines with bands: series of (label, points (year, share, lo, hi)).
    Trend {
        years: Vec<i32>,
        series: Vec<(String, Vec<TrendPoint>)>,
    },
    /// Rows × columns of shares.
    Heatmap {
        rows: Vec<String>,
        columns: Vec<String>,
        cells: Vec<Vec<HeatCell>>,
    },
    /// One trend panel per group (country) on a shared scale, the same
    /// series (types) in the same colours in every panel.
    SmallMultiples {
        years: Vec<i32>,
        labels: Vec<String>,
        /// (panel title, per series its points)
        panels: Vec<(String, Vec<Vec<TrendPoint>>)>,
    },
    /// Ranked horizontal bars of counts: (label, low, high, exact). A count
    /// not published is drawn hatched from its low to its high bound.
    Ranked { rows: Vec<(String, f64, f64, bool)> },
    /// Rows of grouped horizontal bars: (row label, values per group).
    Bars {
        rows: Vec<String>,
        groups: Vec<String>,
        values: Vec<Vec<Option<f64>>>,
    },
}

impl Kind {
    /// True when the chart would have nothing to draw: it then says so.
    fn is_empty(&self) -> bool {
        match self {
            Kind::Stacked {
                years,
                series,
                not_published,
                ..
            } => {
                years.is_empty()
                    || (series.iter().all(|s| s.1.iter().all(|v| *v == 0.0))
                        && not_published.iter().all(|v| *v == 0.0))
            }
            Kind::Trend { years, series } => {
                years.is_empty() || series.iter().all(|s| s.1.is_empty())
            }
            Kind::Heatmap { rows, cells, .. } => {
                rows.is_empty() || cells.iter().flatten().all(|c| *c == HeatCell::NoRecords)
            }
            Kind::SmallMultiples { years, panels, .. } => years.is_empty() || panels.is_empty(),
            // says itself when there is no gap
            Kind::Ranked { .. } => false,
            Kind::Bars { rows, values, .. } => {
                rows.is_empty() || values.iter().flatten().all(Option::is_none)
            }
        }
    }
}

fn chart_error<E: std::fmt::Debug>(e: E) -> Error {
    Error::Chart(format!("{e:?}"))
}

pub(crate) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Draws the chart as SVG into `chart.svg`.
pub fn render_svg(chart: &mut Chart) -> Result<()> {
    register_font();
    let mut svg = String::new();
    {
        let (w, h) = chart.size();
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        chart.draw(&root)?;
        root.present().map_err(chart_error)?;
    }
    // no control character in the XML (newlines are the backend's own)
    chart.svg = crate::base::escape::terminal_lines(&svg).into_owned();
    Ok(())
}

/// Ranked horizontal bars of counts, for the service gaps.
pub fn ranked(
    name: &str,
    title: &str,
    caption: &str,
    rows: Vec<(String, f64, f64, bool)>,
) -> Chart {
    Chart {
        name: name.into(),
        title: title.into(),
        caption: caption.into(),
        svg: String::new(),
        kind: Kind::Ranked { rows },
    }
}

/// Trend lines of shares, one panel per group on a shared scale (for the
/// comparison between countries). A point not published is a gap.
pub fn small_multiples(
    name: &str,
    title: &str,
    caption: &str,
    years: Vec<i32>,
    labels: Vec<String>,
    panels: Vec<(String, Vec<Vec<TrendPoint>>)>,
) -> Chart {
    Chart {
        name: name.into(),
        title: title.into(),
        caption: caption.into(),
        svg: String::new(),
        kind: Kind::SmallMultiples {
            years,
            labels,
            panels,
        },
    }
}

pub fn write_png(chart: &Chart, path: &Path) -> Result<()> {
    register_font();
    let (w, h) = chart.size();
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    chart.draw(&root)?;
    root.present().map_err(chart_error)
}

fn text_style(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

/// Width in pixels of the longest label, measured with the real font so that
/// long labels get the room they need instead of being cut.
fn label_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[String],
    size: u32,
) -> u32 {
    labels
        .iter()
        .filter_map(|l| area.estimate_text_size(l, &text_style(size)).ok())
        .map(|(w, _)| w)
        .max()
        .unwrap_or(0)
}

/// A legend drawn by hand in its own area: colour swatch and full label.
/// With `hatched_last`, the last entry is the hatched grey of figures not
/// published, drawn as the chart draws it, so that it is never mistaken
/// for the plain grey of "other types".
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
    hatched_last: bool,
) -> Result<()> {
    for (i, (label, color)) in entries.iter().enumerate() {
        let y = 40 + i as i32 * 22;
        if hatched_last && i + 1 == entries.len() {
            area.draw(&Rectangle::new(
                [(6, y), (20, y + 14)],
                SUPPRESSED_GREY.filled(),
            ))
            .map_err(chart_error)?;
            for line in (y + 2..y + 14).step_by(3) {
                area.draw(&PathElement::new(
                    vec![(6, line), (20, line)],
                    RGBColor(120, 120, 120).stroke_width(1),
                ))
                .map_err(chart_error)?;
            }
        } else {
            area.draw(&Rectangle::new([(6, y), (20, y + 14)], color.filled()))
                .map_err(chart_error)?;
        }
        // codes (`forced_marriage`) as words; type names stay as they are
        let shown = crate::publish::profiles::reader_label(label);
        area.draw(&Text::new(shown, (26, y + 1), text_style(13)))
            .map_err(chart_error)?;
    }
    Ok(())
}

/// Panels in a row of a small-multiples grid.
const PANELS_PER_ROW: usize = 4;

impl Chart {
    fn size(&self) -> (u32, u32) {
        match &self.kind {
            Kind::Stacked { .. } | Kind::Trend { .. } => (1000, 520),
            Kind::SmallMultiples { panels, .. } => {
                let columns = panels.len().clamp(1, PANELS_PER_ROW) as u32;
                let rows = panels.len().div_ceil(PANELS_PER_ROW).max(1) as u32;
                (320 * columns + 260, 50 + 300 * rows)
            }
            Kind::Heatmap { rows, columns, .. } => {
                // room above the grid for the longest column name, read upwards
                let longest = columns.iter().map(|c| c.chars().count()).max().unwrap_or(0) as u32;
                (1000, 90 + 8 * longest + 24 * rows.len() as u32)
            }
            Kind::Bars { rows, .. } => (1000, 110 + 54 * rows.len() as u32),
            Kind::Ranked { rows } => (1000, 110 + 30 * rows.len().max(1) as u32),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(chart_error)?;
        let root = root
            .titled(&self.title, text_style(20))
            .map_err(chart_error)?;
        if self.kind.is_empty() {
            // an empty frame with axes reads as "zero"; say what it is
            let (w, h) = root.dim_in_pixel();
            root.draw(&Text::new(
                "No data: the selection has no published figure for this chart.",
                (w as i32 / 2, h as i32 / 3),
                text_style(16).pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(chart_error)?;
            return Ok(());
        }
        match &self.kind {
            Kind::Stacked {
                years,
                series,
                not_published,
                y_label,
            } => self.draw_stacked(&root, years, series, not_published, y_label),
            Kind::Trend { years, series } => self.draw_trend(&root, years, series),
            Kind::SmallMultiples {
                years,
                labels,
                panels,
            } => self.draw_small_multiples(&root, years, labels, panels),
            Kind::Heatmap {
                rows,
                columns,
                cells,
            } => self.draw_heatmap(&root, rows, columns, cells),
            Kind::Bars {
                rows,
                groups,
                values,
            } => self.draw_bars(&root, rows, groups, values),
            Kind::Ranked { rows } => self.draw_ranked(&root, rows),
        }
    }

    fn draw_stacked<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        years: &[i32],
        series: &[(String, Vec<f64>)],
        not_published: &[f64],
        y_label: &str,
    ) -> Result<()> {
        let mut labels: Vec<String> = series.iter().map(|s| s.0.clone()).collect();
        let hatched = not_published.iter().any(|v| *v > 0.0);
        if hatched {
            labels.push("not published (hatched)".into());
        }
        let legend_width = label_width(root, &labels, 13) + 40;
        let (plot, key) = root.split_horizontally(root.dim_in_pixel().0 - legend_width);
        let max = (0..years.len())
            .map(|i| series.iter().map(|s| s.1[i]).sum::<f64>() + not_published[i])
            .fold(0.0, f64::max)
            .max(1.0);
        let mut chart = year_axes(&plot, years, 0.6, max, y_label, |y| format!("{y:.0}"))?;
        // the last three series (other types, extension, undetermined) are grey
        let greys = [OTHER_GREY, RGBColor(120, 120, 120), LIGHT_GREY];
        let colors: Vec<RGBColor> = (0..series.len())
            .map(|i| {
                if i + 3 < series.len() {
                    category_colour(&series[i].0).unwrap_or(PALETTE[i % 7])
                } else {
                    greys[i + 3 - series.len()]
                }
            })
            .collect();
        for (i, year) in years.iter().enumerate() {
            let mut base = 0.0;
            for (s, (_, values)) in series.iter().enumerate() {
                let top = base + values[i];
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(*year as f64 - 0.38, base), (*year as f64 + 0.38, top)],
                        colors[s].filled(),
                    )))
                    .map_err(chart_error)?;
                base = top;
            }
            if not_published[i] > 0.0 {
                let (x0, x1) = (*year as f64 - 0.38, *year as f64 + 0.38);
                let top = base + not_published[i];
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x0, base), (x1, top)],
                        SUPPRESSED_GREY.filled(),
                    )))
                    .map_err(chart_error)?;
                // Horizontal hatching, one line per 1/80 of the axis.
                let step = max / 80.0;
                let mut y = base + step / 2.0;
                while y < top {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(x0, y), (x1, y)],
                            RGBColor(120, 120, 120).stroke_width(1),
                        )))
                        .map_err(chart_error)?;
                    y += step;
                }
            }
        }
        let mut colors = colors;
        if hatched {
            colors.push(RGBColor(150, 150, 150));
        }
        legend(
            &key,
            &labels.into_iter().zip(colors).collect::<Vec<_>>(),
            hatched,
        )
    }

    fn draw_trend<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        years: &[i32],
        series: &[(String, Vec<TrendPoint>)],
    ) -> Result<()> {
        let labels: Vec<String> = series.iter().map(|s| s.0.clone()).collect();
        let legend_width = label_width(root, &labels, 13) + 40;
        let (plot, key) = root.split_horizontally(root.dim_in_pixel().0 - legend_width);
        let max = series
            .iter()
            .flat_map(|s| s.1.iter().map(|p| p.3))
            .fold(0.0, f64::max)
            .max(1.0);
        let mut chart = year_axes(&plot, years, 0.3, max, "Share of the year's records", |y| {
            format!("{y:.0}%")
        })?;
        let colors = colours_for(&labels);
        for ((_, points), color) in series.iter().zip(&colors) {
            draw_runs(&mut chart, points, *color)?;
        }
        legend(
            &key,
            &labels.into_iter().zip(colors).collect::<Vec<_>>(),
            false,
        )
    }

    fn draw_small_multiples<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        years: &[i32],
        labels: &[String],
        panels: &[(String, Vec<Vec<TrendPoint>>)],
    ) -> Result<()> {
        let legend_width = label_width(root, labels, 13) + 40;
        let (plot, key) = root.split_horizontally(root.dim_in_pixel().0 - legend_width);
        let colors = colours_for(labels);
        let columns = panels.len().clamp(1, PANELS_PER_ROW);
        let rows = panels.len().div_ceil(PANELS_PER_ROW).max(1);
        let areas = plot.split_evenly((rows, columns));
        for ((title, series), area) in panels.iter().zip(&areas) {
            // each panel its own scale, labelled: a type at 1% next to one
            // at 40% would otherwise be a flat line at the bottom
            let max = series
                .iter()
                .flatten()
                .map(|p| p.3)
                .fold(0.0, f64::max)
                .max(1.0);
            let area = area.titled(title, text_style(15)).map_err(chart_error)?;
            let mut chart = year_axes(&area, years, 0.3, max, "Share of records", |y| {
                format!("{y:.0}%")
            })?;
            if series.iter().all(Vec::is_empty) {
                let (w, h) = area.dim_in_pixel();
                area.draw(&Text::new(
                    "no published share",
                    (w as i32 / 2, h as i32 / 2),
                    text_style(12).pos(Pos::new(HPos::Center, VPos::Center)),
                ))
                .map_err(chart_error)?;
            }
            for (points, color) in series.iter().zip(&colors) {
                draw_runs(&mut chart, points, *color)?;
            }
        }
        legend(
            &key,
            &labels.iter().cloned().zip(colors).collect::<Vec<_>>(),
            false,
        )
    }

    fn draw_ranked<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        rows: &[(String, f64, f64, bool)],
    ) -> Result<()> {
        let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let left = label_width(root, &labels, 13) as i32 + 16;
        let (width, _) = root.dim_in_pixel();
        let plot_w = width as i32 - left - 90;
        let (top, row_h, bar_h) = (50, 30, 18);
        // an unbounded high end is drawn to the largest finite value
        let max = rows
            .iter()
            .map(|r| if r.2.is_finite() { r.2 } else { r.1 })
            .fold(1.0, f64::max);
        let x = |v: f64| left + (plot_w as f64 * v.min(max) / max).round() as i32;
        if rows.is_empty() {
            root.draw(&Text::new(
                "No gap found: every place with demand has a matching organization.",
                (left, top),
                text_style(14),
            ))
            .map_err(chart_error)?;
        }
        for (i, (label, lo, hi, exact)) in rows.iter().enumerate() {
            let y = top + i as i32 * row_h;
            root.draw(&Text::new(
                label.clone(),
                (left - 8, y + bar_h / 2),
                text_style(13).pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(chart_error)?;
            let value_text = if *exact {
                root.draw(&Rectangle::new(
                    [(left, y), (x(*lo).max(left + 1), y + bar_h)],
                    PALETTE[3].filled(),
                ))
                .map_err(chart_error)?;
                format!("{lo:.0}")
            } else {
                let (x0, x1) = (x(*lo), x(if hi.is_finite() { *hi } else { max }));
                root.draw(&Rectangle::new(
                    [(x0, y), (x1.max(x0 + 1), y + bar_h)],
                    SUPPRESSED_GREY.filled(),
                ))
                .map_err(chart_error)?;
                let mut hx = x0 + 3;
                while hx < x1 {
                    root.draw(&PathElement::new(
                        vec![(hx, y), (hx, y + bar_h)],
                        RGBColor(120, 120, 120).stroke_width(1),
                    ))
                    .map_err(chart_error)?;
                    hx += 6;
                }
                if hi.is_finite() {
                    format!("x ({lo:.0}–{hi:.0})")
                } else {
                    format!("x (at least {lo:.0})")
                }
            };
            let end = if *exact {
                x(*lo)
            } else {
                x(if hi.is_finite() { *hi } else { max })
            };
            root.draw(&Text::new(
                value_text,
                (end + 6, y + bar_h / 2),
                text_style(12).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(chart_error)?;
        }
        Ok(())
    }

    fn draw_heatmap<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        rows: &[String],
        columns: &[String],
        cells: &[Vec<HeatCell>],
    ) -> Result<()> {
        let left = label_width(root, rows, 13) as i32 + 16;
        let (width, _) = root.dim_in_pixel();
        let cell_w = ((width as i32 - left - 20) / columns.len().max(1) as i32).max(10);
        let cell_h = 24;
        let max = cells
            .iter()
            .flatten()
            .filter_map(|c| {
                if let HeatCell::Share(v) = c {
                    Some(*v)
                } else {
                    None
                }
            })
            .fold(0.0f64, f64::max)
            .max(1.0);
        let center = Pos::new(HPos::Center, VPos::Center);
        // the methods' names above their columns, read upwards, instead of
        // numbers and a key to look them up in
        let names: Vec<String> = columns
            .iter()
            .map(|c| crate::publish::profiles::reader_label(c))
            .collect();
        let top = 16 + label_width(root, &names, 12) as i32 + 10;
        for (c, name) in names.iter().enumerate() {
            let x = left + c as i32 * cell_w + cell_w / 2;
            root.draw(&Text::new(
                name.clone(),
                (x, top - 8),
                text_style(12)
                    .transform(FontTransform::Rotate270)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(chart_error)?;
        }
        for (r, name) in rows.iter().enumerate() {
            let y = top + r as i32 * cell_h;
            root.draw(&Text::new(
                crate::publish::profiles::reader_label(name),
                (left - 8, y + cell_h / 2),
                text_style(13).pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(chart_error)?;
            for (c, heat) in cells[r].iter().enumerate() {
                let x = left + c as i32 * cell_w;
                let rect = [(x, y), (x + cell_w - 2, y + cell_h - 2)];
                match *heat {
                    HeatCell::Share(v) => {
                        let t = v / max;
                        // white to Okabe–Ito blue
                        let color = RGBColor(
                            (255.0 - t * 255.0) as u8,
                            (255.0 - t * 141.0) as u8,
                            (255.0 - t * 77.0) as u8,
                        );
                        root.draw(&Rectangle::new(rect, color.filled()))
                            .map_err(chart_error)?;
                        let ink = if t > 0.55 { WHITE } else { BLACK };
                        root.draw(&Text::new(
                            format!("{v:.0}"),
                            (x + cell_w / 2 - 1, y + cell_h / 2),
                            text_style(11).color(&ink).pos(center),
                        ))
                        .map_err(chart_error)?;
                    }
                    HeatCell::NotPublished => {
                        root.draw(&Rectangle::new(rect, SUPPRESSED_GREY.filled()))
                            .map_err(chart_error)?;
                        root.draw(&Text::new(
                            WITHHELD.to_string(),
                            (x + cell_w / 2 - 1, y + cell_h / 2),
                            text_style(11).color(&OTHER_GREY).pos(center),
                        ))
                        .map_err(chart_error)?;
                    }
                    HeatCell::NoRecords => {
                        root.draw(&Rectangle::new(rect, LIGHT_GREY.stroke_width(1)))
                            .map_err(chart_error)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn draw_bars<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        rows: &[String],
        groups: &[String],
        values: &[Vec<Option<f64>>],
    ) -> Result<()> {
        let left = label_width(root, rows, 13) as i32 + 16;
        let (width, _) = root.dim_in_pixel();
        let legend_width = label_width(root, groups, 13) as i32 + 40;
        let plot_w = width as i32 - left - legend_width - 30;
        let top = 50;
        let row_h = 54;
        let bar_h = 14;
        let colors = series_colors(groups.len());
        // axis with 0, 25, 50, 75, 100 %
        for tick in [0, 25, 50, 75, 100] {
            let x = left + plot_w * tick / 100;
            root.draw(&PathElement::new(
                vec![(x, top - 6), (x, top + row_h * rows.len() as i32)],
                LIGHT_GREY.stroke_width(1),
            ))
            .map_err(chart_error)?;
            root.draw(&Text::new(
                format!("{tick}%"),
                (x, top - 20),
                text_style(12).pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(chart_error)?;
        }
        for (r, name) in rows.iter().enumerate() {
            let y = top + r as i32 * row_h + 4;
            root.draw(&Text::new(
                crate::publish::profiles::reader_label(name),
                (left - 8, y + row_h / 2 - 4),
                text_style(13).pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(chart_error)?;
            for (g, color) in colors.iter().enumerate() {
                let by = y + g as i32 * (bar_h + 1);
                match values[r][g] {
                    Some(v) => {
                        let x1 = left + (plot_w as f64 * v / 100.0).round() as i32;
                        root.draw(&Rectangle::new(
                            [(left, by), (x1.max(left + 1), by + bar_h)],
                            color.filled(),
                        ))
                        .map_err(chart_error)?;
                        root.draw(&Text::new(
                            format!("{v:.0}%"),
                            (x1 + 4, by + bar_h / 2),
                            text_style(11).pos(Pos::new(HPos::Left, VPos::Center)),
                        ))
                        .map_err(chart_error)?;
                    }
                    None => {
                        root.draw(&Text::new(
                            "x".to_string(),
                            (left + 4, by + bar_h / 2),
                            text_style(11)
                                .color(&OTHER_GREY)
                                .pos(Pos::new(HPos::Left, VPos::Center)),
                        ))
                        .map_err(chart_error)?;
                    }
                }
            }
        }
        let (_, key) = root.split_horizontally(width - legend_width as u32);
        legend(
            &key,
            &groups.iter().cloned().zip(colors).collect::<Vec<_>>(),
            false,
        )
    }
}

type YearChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes shared by the charts over years: years on x (padded by `pad`),
/// 0..max on y with the given label and tick format.
fn year_axes<'a, DB: DrawingBackend>(
    plot: &'a DrawingArea<DB, Shift>,
    years: &[i32],
    pad: f64,
    max: f64,
    y_desc: &str,
    y_format: impl Fn(&f64) -> String,
) -> Result<YearChart<'a, DB>> {
    let (first, last) = (*years.first().unwrap_or(&0), *years.last().unwrap_or(&0));
    // at most one year label per 48 pixels, so that labels never collide
    let room = (plot.dim_in_pixel().0.saturating_sub(90) / 48).max(2) as usize;
    let mut chart = ChartBuilder::on(plot)
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(first as f64 - pad..last as f64 + pad, 0.0..max * 1.05)
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(0)
        .x_labels(years.len().min(room))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&y_format)
        .x_desc("Year of registration")
        .y_desc(y_desc)
        .label_style(text_style(13))
        .axis_desc_style(text_style(14))
        .draw()
        .map_err(chart_error)?;
    Ok(chart)
}

/// A series of shares with its 95% band; only contiguous runs of years are
/// joined, so a withheld year is a gap, not a line through it.
fn draw_runs<DB: DrawingBackend>(
    chart: &mut YearChart<'_, DB>,
    points: &[TrendPoint],
    color: RGBColor,
) -> Result<()> {
    for run in runs(points) {
        let mut band: Vec<(f64, f64)> = run.iter().map(|p| (p.0 as f64, p.3)).collect();
        band.extend(run.iter().rev().map(|p| (p.0 as f64, p.2)));
        chart
            .draw_series(std::iter::once(Polygon::new(
                band,
                color.mix(0.18).filled(),
            )))
            .map_err(chart_error)?;
        chart
            .draw_series(LineSeries::new(
                run.iter().map(|p| (p.0 as f64, p.1)),
                color.stroke_width(2),
            ))
            .map_err(chart_error)?;
        chart
            .draw_series(
                run.iter()
                    .map(|p| Circle::new((p.0 as f64, p.1), 3, color.filled())),
            )
            .map_err(chart_error)?;
    }
    Ok(())
}

/// Colours for n series, from the palette.
fn series_colors(n: usize) -> Vec<RGBColor> {
    (0..n).map(|i| PALETTE[i % PALETTE.len()]).collect()
}

/// Splits points into runs of consecutive years.
fn runs(points: &[TrendPoint]) -> Vec<&[TrendPoint]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=points.len() {
        if i == points.len() || points[i].0 != points[i - 1].0 + 1 {
            if i > start {
                out.push(&points[start..i]);
            }
            start = i;
        }
    }
    out
}

#[cfg(test)]
mod colour_tests {
    use super::*;

    #[test]
    fn every_type_and_category_has_its_own_fixed_colour() {
        let names = crate::classify::rules::published_categories();
        assert_eq!(names.len(), 32, "{names:?}");
        assert_eq!(names[0], "Escort Services");
        // extension categories as the tables publish them: by code
        assert_eq!(names[25], "mining");
        let mut colours: Vec<(u8, u8, u8)> = names
            .iter()
            .map(|n| {
                let c = category_colour(n).unwrap();
                (c.0, c.1, c.2)
            })
            .collect();
        colours.sort();
        colours.dedup();
        assert_eq!(colours.len(), 32);
        assert_eq!(category_colour("other types"), None);
    }

    #[test]
    fn a_chart_without_data_says_so_instead_of_drawing_empty_axes() {
        let mut empty = Chart {
            name: "t".into(),
            title: "Share".into(),
            caption: String::new(),
            svg: String::new(),
            kind: Kind::Trend {
                years: vec![2020, 2021],
                series: vec![("Escort Services".into(), Vec::new())],
            },
        };
        render_svg(&mut empty).unwrap();
        assert!(empty.svg.contains("No data"), "{}", empty.svg);
        let mut drawn = Chart {
            kind: Kind::Trend {
                years: vec![2020, 2021],
                series: vec![(
                    "Escort Services".into(),
                    vec![(2020, 5.0, 4.0, 6.0), (2021, 6.0, 5.0, 7.0)],
                )],
            },
            ..empty
        };
        render_svg(&mut drawn).unwrap();
        assert!(!drawn.svg.contains("No data"));
        // the hatched swatch of "not published" is drawn with its lines
        let mut stacked = Chart {
            kind: Kind::Stacked {
                years: vec![2020],
                series: vec![("Escort Services".into(), vec![10.0])],
                not_published: vec![4.0],
                y_label: "records".into(),
            },
            ..drawn
        };
        render_svg(&mut stacked).unwrap();
        assert!(stacked.svg.contains("not published (hatched)"));
    }
}
