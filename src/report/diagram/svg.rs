//! One view of a diagram as SVG: lanes, rows, spans, arrows, marks and wrapped labels.
//!
//! Every event point (a send, a store call's start, every event's end) has a row of its
//! own, in time order; an event's label sits on its end row in a column right of the
//! lanes, wrapped to [`LABEL_CHARS`] and the row as tall as its lines, so labels never
//! overlap and are never cut. Lanes narrow (down to [`MIN_LANE`]) so that the lanes and
//! the labels fit [`FIT_WIDTH`]; past that the view scrolls under sticky headers.

use super::{html_escape, Diagram, Kind, Mark, Style, Tone};
use crate::harness::fmt_time;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Characters per label line.
pub const LABEL_CHARS: usize = 72;
/// Width the lanes and labels aim to fit in, in pixels (a 1,400 px window's page).
pub const FIT_WIDTH: f64 = 1340.0;
const MAX_LANE: f64 = 110.0;
const MIN_LANE: f64 = 66.0;
/// A label character's width at the labels' 11 px monospace, with room for the wider
/// symbols some fonts draw.
const CHAR: f64 = 7.2;
const LINE: f64 = 13.0;
const START_ROW: f64 = 7.0;
const TOP: f64 = 10.0;
const LEFT: f64 = 12.0;

/// Where things go in a view.
struct Geometry {
    /// (item, is its start point) to its row's top and height.
    rows: BTreeMap<(usize, bool), (f64, f64)>,
    lanes: Vec<String>,
    lane: f64,
    labels_x: f64,
    width: f64,
    height: f64,
}

impl Geometry {
    fn of(d: &Diagram, chosen: &[usize], labels: &BTreeMap<usize, Vec<String>>) -> Geometry {
        let mut points: Vec<(std::time::Duration, bool, usize)> = Vec::new();
        for &i in chosen {
            if let Some(start) = d.items[i].start() {
                points.push((start, true, i));
            }
            points.push((d.items[i].at, false, i));
        }
        // In time order; at one instant starts before ends, then in item order.
        points.sort_by_key(|&(t, start, i)| (t, !start, i));
        let mut rows = BTreeMap::new();
        let mut y = TOP;
        for &(_, start, i) in &points {
            let h = if start { START_ROW } else { LINE * labels.get(&i).map_or(1, Vec::len).max(1) as f64 + 3.0 };
            rows.insert((i, start), (y, h));
            y += h;
        }
        let lanes: Vec<String> = d.lanes.iter().filter(|l| chosen.iter().any(|&i| d.items[i].lanes().contains(l))).cloned().collect();
        let label_width = CHAR * LABEL_CHARS as f64 + 16.0;
        let n = lanes.len().max(1) as f64;
        let lane = ((FIT_WIDTH - LEFT - label_width) / n).clamp(MIN_LANE, MAX_LANE);
        let labels_x = LEFT + lane * n + 8.0;
        Geometry { rows, lanes, lane, labels_x, width: labels_x + label_width, height: y + LINE }
    }

    /// Where an item's point meets the lanes: near the top of its row.
    fn y(&self, item: usize, start: bool) -> f64 {
        let (top, _) = self.rows.get(&(item, start)).or_else(|| self.rows.get(&(item, false))).copied().unwrap_or((TOP, 0.0));
        top + 6.0
    }

    fn end(&self, item: usize) -> f64 {
        self.y(item, false)
    }

    fn x(&self, lane: &str) -> f64 {
        LEFT + self.lane * self.lanes.iter().position(|n| n == lane).unwrap_or(0) as f64 + self.lane / 2.0
    }
}

/// Colours by tone: the line's and the label's.
fn colour(tone: Tone) -> (&'static str, &'static str) {
    match tone {
        Tone::Evidence => ("#d00", "#c00"),
        Tone::Part => ("#e88", "#b55"),
        Tone::Context => ("#555", "#333"),
        Tone::Muted => ("#c4c4c4", "#999"),
    }
}

fn class(tone: Tone) -> &'static str {
    match tone {
        Tone::Evidence => "ev",
        Tone::Part => "part",
        Tone::Context => "ctx",
        Tone::Muted => "muted",
    }
}

impl Diagram {
    /// One view: the sticky lane headers over the diagram of the chosen items, toned for
    /// violation `k` (`None`: the full run). `anchor` prefixes the violation rows' ids.
    pub(super) fn view(&self, chosen: &[usize], k: Option<usize>, anchor: &str) -> String {
        let labels: BTreeMap<usize, Vec<String>> =
            chosen.iter().map(|&i| (i, textwrap::wrap(&self.label(i, k), LABEL_CHARS).into_iter().map(String::from).collect())).collect();
        let g = Geometry::of(self, chosen, &labels);
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg class="diagram" xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" font-family="monospace" font-size="11">"#,
            g.width, g.height
        );
        svg.push_str(MARKERS);
        for lane in &g.lanes {
            let lx = g.x(lane);
            let stroke = if lane.ends_with(" db") { "#9cd" } else { "#ddd" };
            let _ = write!(
                svg,
                r#"<line class="lane" x1="{lx:.0}" y1="0" x2="{lx:.0}" y2="{:.0}" stroke="{stroke}" stroke-width="2"/>"#,
                g.height
            );
        }
        self.draw_spans(&g, chosen, k, &mut svg);
        for &i in chosen {
            let tone = self.tone(i, k);
            match &self.items[i].kind {
                Kind::Message { .. } => self.draw_message(&g, i, tone, &mut svg),
                Kind::Store { .. } => self.draw_store(&g, i, tone, &mut svg),
                Kind::Mark { node, text, style } => draw_mark(&g, g.end(i), node, self.items[i].at, text, *style, &mut svg),
                Kind::Violation(v) => draw_violation(&g, g.end(i), &format!("{anchor}{v}"), &mut svg),
            }
            draw_label(&g, i, &labels[&i], tone, &self.names_in_view(i, k), &mut svg);
        }
        svg.push_str("</svg>");
        format!(r#"<div class="view"><div class="lanes">{}</div>{svg}</div>"#, headers(&g))
    }

    /// The violation records a label names, for the page's readers and its tests.
    fn names_in_view(&self, item: usize, k: Option<usize>) -> Vec<String> {
        let mut names: Vec<String> = self.considered(k).flat_map(|k| self.names(item, k)).map(String::from).collect();
        names.sort();
        names.dedup();
        names
    }

    /// A span per delivered message whose handler did something drawn here: a bar on the
    /// receiver's lane from the delivery to the handler's last drawn action.
    fn draw_spans(&self, g: &Geometry, chosen: &[usize], k: Option<usize>, svg: &mut String) {
        let drawn: std::collections::BTreeSet<usize> = chosen.iter().copied().collect();
        let mut ends: BTreeMap<usize, (f64, Tone)> = BTreeMap::new();
        for &i in chosen {
            let item = &self.items[i];
            let Some(owner) = item.owner else { continue };
            let y = if matches!(item.kind, Kind::Message { .. }) { g.y(i, true) } else { g.end(i) };
            let e = ends.entry(owner).or_insert((y, Tone::Muted));
            e.0 = e.0.max(y);
            e.1 = e.1.max(self.tone(i, k));
        }
        for (&d, &(last, tone)) in &ends {
            let Kind::Message { id, to, kind, .. } = &self.items[d].kind else { continue };
            if !drawn.contains(&d) {
                continue;
            }
            let (top, x) = (g.end(d), g.x(to));
            let tone = tone.max(self.tone(d, k));
            let tone = if k.is_some() { tone.max(Tone::Context) } else { tone };
            let (stroke, _) = colour(tone);
            let _ = write!(
                svg,
                r#"<rect class="span {}" x="{:.0}" y="{top:.0}" width="8" height="{:.0}" fill="{stroke}" fill-opacity="0.18" stroke="{stroke}"><title>#{id} {kind}: its handler's work on {to}</title></rect>"#,
                class(tone),
                x - 4.0,
                (last - top).max(4.0)
            );
        }
    }

    fn draw_message(&self, g: &Geometry, i: usize, tone: Tone, svg: &mut String) {
        let Kind::Message { id, from, to, kind, text, sent, delivered, reason, copy } = &self.items[i].kind else { return };
        let (stroke, _) =
            if tone <= Tone::Context && text.ends_with(crate::harness::fabric::REDELIVERY) { ("#e80", "") } else { colour(tone) };
        let (x1, y1, x2, y2) = (g.x(from), g.y(i, true), g.x(to), g.end(i));
        let (x2, y2) = if *delivered { (x2, y2) } else { ((x1 + x2) / 2.0, y2) };
        let dash = if *copy { r#" stroke-dasharray="5,3""# } else { "" };
        let marker = if *delivered { format!(r#" marker-end="url(#m-{})""#, class(tone)) } else { String::new() };
        let status = if *delivered { "delivered".to_string() } else { format!("DROPPED ({reason})") };
        let width = if tone == Tone::Evidence { 2.5 } else { 1.3 };
        let _ = write!(
            svg,
            r#"<g class="message {}"><title>#{id} {from} -> {to} {kind}{}
sent {} / {status} {}
{}</title><line x1="{x1:.0}" y1="{y1:.0}" x2="{x2:.0}" y2="{y2:.0}" stroke="{stroke}" stroke-width="{width}"{dash}{marker}/>"#,
            class(tone),
            if *copy { " (duplicate)" } else { "" },
            fmt_time(*sent),
            fmt_time(self.items[i].at),
            html_escape(text),
        );
        if !*delivered {
            let _ = write!(svg, r#"<text x="{x2:.0}" y="{:.0}" text-anchor="middle" fill="{stroke}" font-size="14">✗</text>"#, y2 + 5.0);
        }
        svg.push_str("</g>");
    }

    /// A store call: out to the store's lane when it began, down its lane while the store
    /// works, and back when it answered (a read dashed, a write solid).
    fn draw_store(&self, g: &Geometry, i: usize, tone: Tone, svg: &mut String) {
        let Kind::Store { node, store, text, wrote, .. } = &self.items[i].kind else { return };
        let (xn, xs, y1, y2) = (g.x(node), g.x(store), g.y(i, true), g.end(i));
        let stroke = match tone {
            Tone::Muted => "#b5d5e5",
            Tone::Context => "#07a",
            _ => colour(tone).0,
        };
        let dash = if *wrote { "" } else { r#" stroke-dasharray="3,3""# };
        let _ = write!(
            svg,
            r#"<g class="store {}"><title>{}</title><path d="M{xn:.0},{y1:.0} L{xs:.0},{y1:.0} L{xs:.0},{y2:.0} L{xn:.0},{y2:.0}" fill="none" stroke="{stroke}" stroke-width="{}"{dash} marker-end="url(#m-{})"/></g>"#,
            class(tone),
            html_escape(text),
            if tone == Tone::Evidence { 2.2 } else { 1.0 },
            class(tone),
        );
    }
}

/// The lane headers, in a strip that stays in view while the view scrolls.
fn headers(g: &Geometry) -> String {
    let mut head =
        format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="28" font-family="monospace" font-size="11">"#, g.width);
    for lane in &g.lanes {
        // A name wider than its lane is squeezed to fit, never cut.
        let fit = if lane.chars().count() as f64 * 7.0 > g.lane - 6.0 {
            format!(r#" textLength="{:.0}" lengthAdjust="spacingAndGlyphs""#, g.lane - 6.0)
        } else {
            String::new()
        };
        let _ = write!(
            head,
            r#"<text class="lane-name" x="{:.0}" y="19" text-anchor="middle" font-weight="bold"{fit}>{}</text>"#,
            g.x(lane),
            html_escape(lane)
        );
    }
    let _ = write!(head, r##"<text x="{:.0}" y="19" fill="#666">time and event</text></svg>"##, g.labels_x);
    head
}

const MARKERS: &str = concat!(
    "<defs>",
    r##"<marker id="m-ev" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#d00"/></marker>"##,
    r##"<marker id="m-part" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#e88"/></marker>"##,
    r##"<marker id="m-ctx" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>"##,
    r##"<marker id="m-muted" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#bbb"/></marker>"##,
    "</defs>"
);

fn draw_label(g: &Geometry, i: usize, lines: &[String], tone: Tone, names: &[String], svg: &mut String) {
    let (_, fill) = colour(tone);
    let weight = if tone == Tone::Evidence { r#" font-weight="bold""# } else { "" };
    let top = g.rows.get(&(i, false)).map_or(TOP, |r| r.0);
    let _ = write!(
        svg,
        r#"<text class="label {}" data-names="{}" x="{:.0}" y="{:.0}" fill="{fill}"{weight}>"#,
        class(tone),
        html_escape(&names.join(" ")),
        g.labels_x,
        top + 10.0
    );
    for (n, line) in lines.iter().enumerate() {
        let dy = if n == 0 { 0.0 } else { LINE };
        let _ = write!(svg, r#"<tspan x="{:.0}" dy="{dy:.0}">{}</tspan>"#, g.labels_x, html_escape(line));
    }
    svg.push_str("</text>");
}

fn draw_mark(g: &Geometry, my: f64, node: &str, at: std::time::Duration, text: &str, style: Style, svg: &mut String) {
    let mx = g.x(node);
    let (fill, symbol, class) = match style {
        Style::Fault if text.starts_with("crash") => ("#d00", "✖", "fault"),
        Style::Fault if text.starts_with("partition") => ("#a0a", "⌇", "fault"),
        Style::Fault | Style::Quiet => ("#07a", "●", "fault"),
        Style::Observed(Mark::Failure) => ("#d00", "▲", "handler"),
        Style::Observed(Mark::Note) => ("#555", "◆", "handler"),
    };
    let _ = write!(
        svg,
        r#"<g class="{class}"><title>{}: {}</title><text x="{mx:.0}" y="{:.0}" text-anchor="middle" fill="{fill}" font-size="14">{symbol}</text></g>"#,
        fmt_time(at),
        html_escape(text),
        my + 5.0,
    );
}

fn draw_violation(g: &Geometry, vy: f64, id: &str, svg: &mut String) {
    let _ = write!(
        svg,
        r##"<g class="violation" id="{id}"><line x1="{LEFT:.0}" y1="{vy:.0}" x2="{:.0}" y2="{vy:.0}" stroke="#d00" stroke-width="3" stroke-dasharray="8,4"/></g>"##,
        g.labels_x - 4.0,
    );
}
