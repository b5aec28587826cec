//! Charts drawn on the server as SVG: bars over time (stacked when there are several series),
//! a line over time, and share bars. No script draws them; each bar carries a `<title>`, so
//! hovering shows its value. Colours are CSS classes (`c0`..`c7`, `err`), so both themes apply.

use maud::{html, Markup};
use sightline_core::time::format_rfc3339;

/// One series: its label, colour class and (bucket start ns, value) points.
pub struct Series {
    pub label: String,
    pub class: &'static str,
    pub points: Vec<(i64, f64)>,
}

/// The colour classes of stacked series, in order.
pub const PALETTE: [&str; 8] = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"];

/// The time axis: `[from, to)` cut into buckets of `bucket_ns` aligned to the epoch.
#[derive(Debug, Clone, Copy)]
pub struct Axis {
    pub from_ns: i64,
    pub to_ns: i64,
    pub bucket_ns: i64,
}

impl Axis {
    fn start(&self) -> i64 {
        self.from_ns.div_euclid(self.bucket_ns) * self.bucket_ns
    }

    /// How many bucket slots the window touches.
    fn slots(&self) -> usize {
        let n = (self.to_ns - 1 - self.start()).div_euclid(self.bucket_ns) + 1;
        n.clamp(1, 2_000) as usize
    }

    fn slot(&self, t: i64) -> Option<usize> {
        let i = (t - self.start()).div_euclid(self.bucket_ns);
        (i >= 0 && (i as usize) < self.slots()).then_some(i as usize)
    }

    /// A bucket start as a label: the clock for short windows, the date for long ones.
    fn label(&self, t: i64) -> String {
        let text = format_rfc3339(t);
        if self.to_ns - self.from_ns <= 2 * 86_400_000_000_000 {
            text.get(11..16).unwrap_or(&text).to_owned()
        } else {
            text.get(5..10).unwrap_or(&text).to_owned()
        }
    }
}

const H: f64 = 150.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 18.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 6.0;

/// A round number at or above `v`, for the top of the y axis.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

/// Frame: grid lines with y labels (formatted by `fmt`) and x labels every few slots.
fn frame(axis: &Axis, width: f64, max: f64, fmt: &dyn Fn(f64) -> String) -> Markup {
    let plot_w = width - LEFT - RIGHT;
    let slots = axis.slots();
    let every = (slots / 6).max(1);
    html! {
        @for frac in [0.0, 0.5, 1.0] {
            @let y = TOP + (H - TOP - BOTTOM) * (1.0 - frac);
            line.grid x1=(LEFT) x2=(width - RIGHT) y1=(y) y2=(y) {}
            text.ylabel x=(LEFT - 4.0) y=(y + 3.0) { (fmt(max * frac)) }
        }
        @for i in (0..slots).step_by(every) {
            @let x = LEFT + plot_w * (i as f64 + 0.5) / slots as f64;
            text.xlabel x=(x) y=(H - 4.0) { (axis.label(axis.start() + i as i64 * axis.bucket_ns)) }
        }
    }
}

/// Bars per bucket, stacked in series order; `fmt` formats values (axis and tooltips).
pub fn bars(series: &[Series], axis: Axis, width: f64, fmt: &dyn Fn(f64) -> String) -> Markup {
    let slots = axis.slots();
    let mut stacks = vec![vec![0.0f64; series.len()]; slots];
    for (s, ser) in series.iter().enumerate() {
        for (t, v) in &ser.points {
            if let Some(i) = axis.slot(*t) {
                stacks[i][s] += v.max(0.0);
            }
        }
    }
    let max = nice_max(
        stacks
            .iter()
            .map(|s| s.iter().sum::<f64>())
            .fold(0.0, f64::max),
    );
    let plot_w = width - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot_w = plot_w / slots as f64;
    let bar_w = (slot_w * 0.8).max(1.0);
    // (series, x, y, height, bucket start, value) of every drawn rectangle.
    let mut rects = Vec::new();
    for (i, stack) in stacks.iter().enumerate() {
        let x = LEFT + slot_w * i as f64 + (slot_w - bar_w) / 2.0;
        let t = axis.start() + i as i64 * axis.bucket_ns;
        let mut base = 0.0;
        for (s, v) in stack.iter().enumerate().filter(|(_, v)| **v > 0.0) {
            let y = TOP + plot_h * (1.0 - (base + v) / max);
            rects.push((s, x, y, (plot_h * v / max).max(0.5), t, *v));
            base += v;
        }
    }
    html! {
        svg.chart viewBox={ "0 0 " (width) " " (H) } role="img" {
            (frame(&axis, width, max, fmt))
            @for (s, x, y, h, t, v) in rects {
                rect class=(series[s].class) x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{bar_w:.1}")) height=(format!("{h:.1}")) {
                    title { (format_rfc3339(t).get(..16).unwrap_or("")) " · " (series[s].label) ": " (fmt(v)) }
                }
            }
        }
    }
}

/// One line over time (e.g. an error rate); buckets without a point are gaps.
pub fn line(series: &Series, axis: Axis, width: f64, fmt: &dyn Fn(f64) -> String) -> Markup {
    let slots = axis.slots();
    let mut values: Vec<Option<f64>> = vec![None; slots];
    for (t, v) in &series.points {
        if let Some(i) = axis.slot(*t) {
            values[i] = Some(*v);
        }
    }
    let max = nice_max(values.iter().flatten().fold(0.0, |a, b| a.max(*b)));
    let plot_w = width - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let point = |i: usize, v: f64| {
        (
            LEFT + plot_w * (i as f64 + 0.5) / slots as f64,
            TOP + plot_h * (1.0 - v / max),
        )
    };
    let mut path = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let (x, y) = point(i, *v);
                path.push_str(&format!(
                    "{}{x:.1},{y:.1} ",
                    if pen_down { "L" } else { "M" }
                ));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    html! {
        svg.chart viewBox={ "0 0 " (width) " " (H) } role="img" {
            (frame(&axis, width, max, fmt))
            path class={ "line " (series.class) } d=(path) {}
            @for (i, v) in values.iter().enumerate() {
                @if let Some(v) = v {
                    @let (x, y) = point(i, *v);
                    circle class={ "dot " (series.class) } cx=(x) cy=(y) r="2.2" {
                        title { (format_rfc3339(axis.start() + i as i64 * axis.bucket_ns).get(..16).unwrap_or("")) " · " (series.label) ": " (fmt(*v)) }
                    }
                }
            }
        }
    }
}

/// A horizontal share bar: `part / whole` of the width.
pub fn share(part: f64, whole: f64, class: &str) -> Markup {
    let frac = if whole > 0.0 {
        (part / whole).clamp(0.0, 1.0)
    } else {
        0.0
    };
    html! {
        svg.share viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true" {
            rect.track x="0" y="0" width="100" height="6" {}
            rect class=(class) x="0" y="0" width=(format!("{:.1}", frac * 100.0)) height="6" {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000_000_000;

    #[test]
    fn bars_stack_per_bucket_and_carry_their_values() {
        let axis = Axis {
            from_ns: 10 * MIN,
            to_ns: 20 * MIN,
            bucket_ns: MIN,
        };
        assert_eq!(axis.slots(), 10);
        assert_eq!(axis.slot(10 * MIN), Some(0));
        assert_eq!(axis.slot(19 * MIN + 5), Some(9));
        assert_eq!(axis.slot(20 * MIN), None);
        let series = vec![
            Series {
                label: "a <b>".into(),
                class: "c0",
                points: vec![(10 * MIN, 2.0), (11 * MIN, 1.0)],
            },
            Series {
                label: "b".into(),
                class: "c1",
                points: vec![(10 * MIN, 3.0)],
            },
        ];
        let svg = bars(&series, axis, 600.0, &|v| format!("{v}")).into_string();
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("a &lt;b&gt;: 2"), "labels are escaped: {svg}");
        assert!(svg.contains("00:10"), "{svg}");
        assert_eq!(nice_max(4.2), 5.0);
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(180.0), 200.0);
    }

    #[test]
    fn a_line_breaks_where_buckets_are_empty() {
        let axis = Axis {
            from_ns: 0,
            to_ns: 4 * MIN,
            bucket_ns: MIN,
        };
        let s = Series {
            label: "errors".into(),
            class: "err",
            points: vec![(0, 1.0), (MIN, 0.5), (3 * MIN, 0.25)],
        };
        let svg = line(&s, axis, 400.0, &|v| format!("{v}")).into_string();
        assert_eq!(svg.matches('M').count(), 2, "{svg}");
    }
}
