//! The demo's picture: per-link throughput over time (host A → B) with the cut and the restore
//! marked, and the aggregate below it, as a hand-written SVG document.

use std::fmt::Write as _;

/// What to draw.
#[derive(Clone, Debug, Default)]
pub struct Plot {
    /// Title.
    pub title: String,
    /// Second line (measurements).
    pub subtitle: String,
    /// Link names, one line each.
    pub links: Vec<String>,
    /// Points: (seconds, Mbit/s per link in `links` order).
    pub points: Vec<(f64, Vec<f64>)>,
    /// Vertical markers: (seconds, label, colour).
    pub markers: Vec<(f64, String, String)>,
    /// End of the time axis in seconds (0: from the data).
    pub x_max: f64,
}

const W: f64 = 960.0;
const H: f64 = 600.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 80.0;
/// Top panel (per link) height.
const P1: f64 = 300.0;
/// Gap between panels.
const GAP: f64 = 50.0;
/// Bottom panel (aggregate) height.
const P2: f64 = 110.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
];

/// Escapes text for XML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" axis: (step, top) with top = k * step ≥ max, at most ~6 steps.
pub fn nice_axis(max: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (step, (max / step).ceil() * step)
}

struct Panel {
    y0: f64,
    h: f64,
    ymax: f64,
    step: f64,
    xmax: f64,
}

impl Panel {
    fn x(&self, t: f64) -> f64 {
        LEFT + t / self.xmax * (W - LEFT - RIGHT)
    }
    fn y(&self, v: f64) -> f64 {
        self.y0 + self.h - (v.max(0.0) / self.ymax) * self.h
    }
    fn frame(&self, out: &mut String, ylabel: &str) {
        let right = W - RIGHT;
        let mut v = 0.0;
        while v <= self.ymax + 1e-9 {
            let y = self.y(v);
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT:.1}" y1="{y:.1}" x2="{right:.1}" y2="{y:.1}" stroke="#e0e0e0"/>"##
            );
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12">{}</text>"##,
                LEFT - 6.0,
                y + 4.0,
                fmt_num(v)
            );
            v += self.step;
        }
        let _ = writeln!(
            out,
            r##"<rect x="{LEFT:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#444"/>"##,
            self.y0,
            right - LEFT,
            self.h
        );
        let cy = self.y0 + self.h / 2.0;
        let _ = writeln!(
            out,
            r##"<text x="22" y="{cy:.1}" text-anchor="middle" font-size="13" transform="rotate(-90 22 {cy:.1})">{}</text>"##,
            escape(ylabel)
        );
    }
    fn line(&self, out: &mut String, pts: &[(f64, f64)], colour: &str, width: f64) {
        if pts.is_empty() {
            return;
        }
        let mut d = String::new();
        for (t, v) in pts {
            let _ = write!(d, "{:.1},{:.1} ", self.x(*t), self.y(*v));
        }
        let _ = writeln!(
            out,
            r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-linejoin="round"/>"##,
            d.trim_end()
        );
    }
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Renders `p` as an SVG document.
pub fn render(p: &Plot) -> String {
    let xmax_data = p.points.iter().map(|(t, _)| *t).fold(0.0, f64::max);
    let (xstep, xmax) = if p.x_max > 0.0 {
        (nice_axis(p.x_max).0, p.x_max.max(xmax_data))
    } else {
        nice_axis(xmax_data.max(1.0))
    };
    let link_max = p
        .points
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0, f64::max);
    let totals: Vec<(f64, f64)> = p
        .points
        .iter()
        .map(|(t, v)| (*t, v.iter().sum::<f64>()))
        .collect();
    let total_max = totals.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let (s1, m1) = nice_axis(link_max * 1.1);
    let (s2, m2) = nice_axis(total_max * 1.1);
    let top = Panel {
        y0: TOP,
        h: P1,
        ymax: m1,
        step: s1,
        xmax,
    };
    let bottom = Panel {
        y0: TOP + P1 + GAP,
        h: P2,
        ymax: m2,
        step: s2,
        xmax,
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="30" font-size="18" font-weight="bold">{}</text>
<text x="{LEFT}" y="54" font-size="13" fill="#333">{}</text>"##,
        escape(&p.title),
        escape(&p.subtitle)
    );
    top.frame(&mut out, "per link, Mbit/s (A → B)");
    bottom.frame(&mut out, "all links, Mbit/s");
    // Time axis under the bottom panel, grid through both.
    let mut t = 0.0;
    let base = bottom.y0 + bottom.h;
    while t <= xmax + 1e-9 {
        let x = top.x(t);
        for pn in [&top, &bottom] {
            let _ = writeln!(
                out,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#f0f0f0"/>"##,
                pn.y0,
                pn.y0 + pn.h
            );
        }
        let _ = writeln!(
            out,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"##,
            base + 18.0,
            fmt_num(t)
        );
        t += xstep;
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">time since the traffic started (s)</text>"##,
        (LEFT + W - RIGHT) / 2.0,
        base + 40.0
    );
    for (t, label, colour) in &p.markers {
        let x = top.x(*t);
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{base:.1}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="6,4"/>"##,
            TOP - 8.0
        );
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="{colour}">{}</text>"##,
            x + 4.0,
            TOP - 10.0,
            escape(label)
        );
    }
    for (i, name) in p.links.iter().enumerate() {
        let colour = COLOURS.get(i % COLOURS.len()).copied().unwrap_or("#000");
        let pts: Vec<(f64, f64)> = p
            .points
            .iter()
            .map(|(t, v)| (*t, v.get(i).copied().unwrap_or(0.0)))
            .collect();
        top.line(&mut out, &pts, colour, 2.0);
        let ly = TOP + 20.0 + 22.0 * i as f64;
        let lx = W - RIGHT + 16.0;
        let _ = writeln!(
            out,
            r##"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="3"/>
<text x="{:.1}" y="{:.1}" font-size="13">{}</text>"##,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            escape(name)
        );
    }
    bottom.line(&mut out, &totals, "#222", 2.0);
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="13">all links</text>"##,
        W - RIGHT + 16.0,
        bottom.y0 + 16.0
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_axes() {
        assert_eq!(nice_axis(190.0), (50.0, 200.0));
        assert_eq!(nice_axis(30.0), (10.0, 30.0));
        assert_eq!(nice_axis(760.0), (200.0, 800.0));
        assert_eq!(nice_axis(0.0), (0.2, 1.0));
        assert_eq!(nice_axis(f64::NAN), (0.2, 1.0));
    }

    #[test]
    fn plot_has_a_line_per_link_markers_and_escaped_text() {
        let p = Plot {
            title: "lagd <demo> & more".into(),
            subtitle: "gap 3 ms".into(),
            links: vec!["eth0".into(), "eth1".into()],
            points: (1..=30)
                .map(|t| {
                    let t = f64::from(t);
                    (
                        t,
                        vec![
                            190.0,
                            if (10.0..20.0).contains(&t) {
                                0.0
                            } else {
                                190.0
                            },
                        ],
                    )
                })
                .collect(),
            markers: vec![
                (10.0, "cut eth1".into(), "#d62728".into()),
                (20.0, "restore eth1".into(), "#2ca02c".into()),
            ],
            x_max: 30.0,
        };
        let svg = render(&p);
        assert!(svg.starts_with("<?xml"));
        assert!(svg.trim_end().ends_with("</svg>"));
        // Two link lines and the aggregate line.
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("lagd &lt;demo&gt; &amp; more"));
        assert!(svg.contains(">cut eth1<") && svg.contains(">restore eth1<"));
        assert!(svg.contains(">eth0<") && svg.contains(">eth1<"));
        // Every coordinate is a finite number inside the picture.
        for poly in svg.split("points=\"").skip(1) {
            let pts = poly.split('"').next().unwrap();
            for xy in pts.split_whitespace() {
                let (x, y) = xy.split_once(',').unwrap();
                let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                assert!((0.0..=W).contains(&x) && (0.0..=H).contains(&y), "{xy}");
            }
        }
    }

    #[test]
    fn empty_plot_is_still_a_document() {
        let svg = render(&Plot::default());
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 0);
    }
}
