//! Bar charts drawn on the server as SVG shapes (no script, no library): one bar per run,
//! the newest on the right, each with the text a table beside it gives for screen readers.

/// The drawing's coordinate space; the SVG scales to its box through its viewBox.
pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 200;
/// The least height a bar is drawn with, so that a run of zero (a failure) still shows.
const MIN_BAR: u32 = 3;

/// One run's value.
pub struct Point {
    /// When it started, as the table shows it.
    pub label: String,
    pub value: u64,
    /// The value as the table shows it (`1.5 MiB`, `3 min 12 s`).
    pub text: String,
    /// The run's status (`success`, `partial`, `failed`, `interrupted`), for its colour.
    pub status: &'static str,
    pub run: i64,
}

/// A bar, in the drawing's coordinates.
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub status: &'static str,
    /// Shown on hover: `2026-11-30 02:00 — 1.5 MiB`.
    pub title: String,
}

/// A chart ready for its template.
pub struct Chart {
    pub bars: Vec<Bar>,
    pub points: Vec<Point>,
    /// The largest value, as text, for the scale.
    pub max_text: String,
}

impl Chart {
    /// The SVG's coordinate space.
    pub fn view_box(&self) -> String {
        format!("0 0 {WIDTH} {HEIGHT}")
    }

    /// `points` oldest first, in `slots` places (the newest in the last); `max_text` is how
    /// the largest value reads.
    pub fn bars(points: Vec<Point>, slots: usize, max_text: impl Fn(u64) -> String) -> Chart {
        let slots = slots.max(points.len()).max(1);
        let step = WIDTH / u32::try_from(slots).unwrap_or(u32::MAX).max(1);
        let width = (step * 7 / 10).max(1);
        let max = points.iter().map(|p| p.value).max().unwrap_or(0);
        let first_slot = slots - points.len();
        let bars = points
            .iter()
            .enumerate()
            .map(|(i, point)| {
                let slot = u32::try_from(first_slot + i).unwrap_or(0);
                let height = scaled(point.value, max).max(MIN_BAR);
                Bar {
                    x: slot * step + (step - width) / 2,
                    y: HEIGHT - height,
                    width,
                    height,
                    status: point.status,
                    title: format!("{} — {}", point.label, point.text),
                }
            })
            .collect();
        Chart {
            bars,
            max_text: max_text(max),
            points,
        }
    }
}

/// `value` as a height out of `HEIGHT`, the largest value reaching the top.
fn scaled(value: u64, max: u64) -> u32 {
    if max == 0 {
        return 0;
    }
    let height = u128::from(value) * u128::from(HEIGHT) / u128::from(max);
    u32::try_from(height).unwrap_or(HEIGHT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(value: u64, status: &'static str) -> Point {
        Point {
            label: format!("run {value}"),
            value,
            text: format!("{value} B"),
            status,
            run: 1,
        }
    }

    #[test]
    fn the_largest_run_reaches_the_top_and_a_failure_still_shows() {
        let chart = Chart::bars(
            vec![
                point(50, "success"),
                point(0, "failed"),
                point(100, "success"),
            ],
            30,
            |max| format!("{max} B"),
        );
        let heights: Vec<u32> = chart.bars.iter().map(|b| b.height).collect();
        assert_eq!(heights, vec![HEIGHT / 2, MIN_BAR, HEIGHT]);
        assert_eq!(chart.bars[2].y, 0);
        assert_eq!(chart.max_text, "100 B");
        assert_eq!(chart.bars[1].title, "run 0 — 0 B");
    }

    #[test]
    fn the_newest_run_is_in_the_last_place_and_bars_stay_inside() {
        let chart = Chart::bars(vec![point(1, "success"), point(2, "success")], 30, |_| {
            String::new()
        });
        let step = WIDTH / 30;
        let last = &chart.bars[1];
        assert_eq!(last.x / step, 29);
        assert_eq!(chart.bars[0].x / step, 28);
        assert!(last.x + last.width <= WIDTH);
    }

    #[test]
    fn more_runs_than_places_get_a_place_each() {
        let points = (0..40).map(|v| point(v, "success")).collect();
        let chart = Chart::bars(points, 30, |_| String::new());
        assert_eq!(chart.bars.len(), 40);
        assert!(chart.bars.iter().all(|b| b.x + b.width <= WIDTH));
    }

    #[test]
    fn nothing_to_draw_draws_nothing() {
        let chart = Chart::bars(Vec::new(), 90, |max| format!("{max}"));
        assert!(chart.bars.is_empty());
        assert_eq!(chart.max_text, "0");
    }
}
