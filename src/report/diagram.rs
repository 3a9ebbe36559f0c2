//! Message diagrams of a run: Mermaid `sequenceDiagram` text, and a self-contained HTML
//! page with an SVG space-time diagram: one lane per node and one per store, time
//! flowing down, an arrow per message copy from its send to its delivery, each store
//! call drawn as a round trip to its store (what it read, what it wrote), marks for
//! drops, duplicates, redeliveries, crashes, partitions and handlers that did not ack,
//! and the violation with the records it names in red.
//!
//! Every event has a row of its own and every label its own line in a column beside the
//! lanes, so labels never overlap. The page opens on a compact view: what names the
//! violation's records, up to the violation; the full run is one click away (a CSS
//! toggle: the page has no script). Lane headers stay in view while scrolling. Mermaid
//! text stays under Mermaid's default size limit by slicing to the same window, and
//! says so when it does.

use crate::harness::fmt_time;
use crate::harness::history::{mentions, Entry, Mark, NetWhat, Observation, Record, TraceFilter};
use crate::harness::system::Violation;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// Most events drawn; past this the diagram says it was cut and how to filter.
pub const MAX_ROWS: usize = 4000;
/// Mermaid's default `maxTextSize`: longer text does not render.
pub const MERMAID_LIMIT: usize = 50_000;
/// Events in the compact view (the last ones naming the violation's records before it).
pub const COMPACT_EVENTS: usize = 150;

#[derive(Clone, Debug)]
enum Item {
    /// A message copy: sent at `sent`, delivered or dropped at `at`.
    Message {
        id: u64,
        from: String,
        to: String,
        kind: &'static str,
        text: String,
        sent: Duration,
        at: Duration,
        delivered: bool,
        reason: &'static str,
        copy: bool,
    },
    /// A store call: from `node` to its store's lane at `began`, back at `at`.
    Store {
        node: String,
        store: String,
        call: &'static str,
        began: Duration,
        at: Duration,
        text: String,
        wrote: bool,
    },
    /// A fault or a broker event on a node, or what a system marks there (see
    /// [`Observation::mark`]).
    Mark {
        node: String,
        at: Duration,
        text: String,
        style: Style,
    },
    Violation {
        at: Duration,
        text: String,
        records: Vec<String>,
    },
}

/// How a mark is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// A fault the nemesis inflicted: symbol and text.
    Fault,
    /// The end of faults: a symbol, the text on hover.
    Quiet,
    /// An observation the system marks.
    Observed(Mark),
}

impl Item {
    fn at(&self) -> Duration {
        match self {
            Item::Message { at, .. } | Item::Store { at, .. } | Item::Mark { at, .. } | Item::Violation { at, .. } => *at,
        }
    }

    /// When it starts: a message's send, a store call's start.
    fn start(&self) -> Option<Duration> {
        match self {
            Item::Message { sent, .. } => Some(*sent),
            Item::Store { began, .. } => Some(*began),
            _ => None,
        }
    }

    /// The text searched by filters and for the violation's records.
    fn text(&self) -> String {
        match self {
            Item::Message { text, .. } | Item::Store { text, .. } | Item::Mark { text, .. } => text.clone(),
            Item::Violation { text, records, .. } => format!("{text} {}", records.join(" ")),
        }
    }

    fn lanes(&self) -> Vec<&String> {
        match self {
            Item::Message { from, to, .. } => vec![from, to],
            Item::Store { node, store, .. } => vec![node, store],
            Item::Mark { node, .. } => vec![node],
            Item::Violation { .. } => vec![],
        }
    }

    /// Its one-line label, as the label column shows it.
    fn label(&self) -> String {
        let cut = |t: &str| if t.chars().count() > 90 { format!("{}…", t.chars().take(90).collect::<String>()) } else { t.to_string() };
        match self {
            Item::Message { from, to, kind, text, at, delivered, reason, copy, .. } => {
                let state = if *delivered { String::new() } else { format!(" ✗ DROPPED ({reason})") };
                format!("{} {from} → {to} {kind}{}{state}: {}", fmt_time(*at), if *copy { " (duplicate)" } else { "" }, cut(text))
            }
            Item::Store { node, store, at, text, .. } => format!("{} {node} ⇄ {store}: {}", fmt_time(*at), cut(text)),
            Item::Mark { node, at, text, .. } => format!("{} {node}: {text}", fmt_time(*at)),
            Item::Violation { at, text, .. } => format!("{} ⚠ {}", fmt_time(*at), cut(text)),
        }
    }
}

/// A run's drawable content.
pub struct Diagram {
    lanes: Vec<String>,
    items: Vec<Item>,
    hot: Vec<String>,
    truncated: usize,
}

/// The lane of a service's store.
fn store_lane(store: &str) -> String {
    format!("{store} db")
}

impl Diagram {
    /// Builds the diagram from a history recorded with messages.
    pub fn build<O: Observation>(entries: &[Entry<O>], violations: &[Violation], nodes: &[String], filter: &TraceFilter) -> Diagram {
        let hot: Vec<String> = violations.iter().flat_map(|v| v.records.clone()).collect();
        let mut items = items_of(entries, nodes);
        for v in violations {
            items.push(Item::Violation { at: v.time, text: format!("{}: {}", v.invariant, v.explanation), records: v.records.clone() });
        }
        items.retain(|item| keep(item, filter));
        items.sort_by_key(|i| i.at());
        let truncated = items.len().saturating_sub(MAX_ROWS);
        items.truncate(MAX_ROWS);
        // A lane per node something happens on, in fabric order, then the stores, then
        // any other name the items use (a run that stopped early may not list its nodes).
        let used: Vec<&String> = items.iter().flat_map(Item::lanes).collect();
        let mut lanes: Vec<String> = nodes.iter().filter(|n| used.contains(n)).cloned().collect();
        let (stores, others): (Vec<&String>, Vec<&String>) = used.into_iter().partition(|n| n.ends_with(" db"));
        for name in others {
            if !lanes.contains(name) {
                lanes.push(name.clone());
            }
        }
        // A store's lane goes right after its service's last instance (`orders db` after
        // `orders-2`), so a round trip crosses no other lane.
        for store in stores {
            if lanes.contains(store) {
                continue;
            }
            let service = format!("{}-", store.trim_end_matches(" db"));
            let at = lanes.iter().rposition(|l| l.starts_with(&service)).map_or(lanes.len(), |i| i + 1);
            lanes.insert(at, store.clone());
        }
        Diagram { lanes, items, hot, truncated }
    }

    fn is_hot(&self, item: &Item) -> bool {
        let text = item.text();
        self.hot.iter().any(|r| mentions(&text, r))
    }

    /// The compact view: the violation(s), and the last [`COMPACT_EVENTS`] events before
    /// the first one that name its records (or, if none does, that come just before
    /// it). `None` when the run violated nothing (the full run is the view).
    fn compact(&self, events: usize) -> Option<Vec<usize>> {
        let first = self.items.iter().position(|i| matches!(i, Item::Violation { .. }))?;
        let until = self.items[first].at();
        let before: Vec<usize> =
            (0..self.items.len()).filter(|&i| self.items[i].at() <= until && !matches!(self.items[i], Item::Violation { .. })).collect();
        let hot: Vec<usize> = before.iter().copied().filter(|&i| self.is_hot(&self.items[i])).collect();
        let pick = if hot.is_empty() { before } else { hot };
        let mut chosen: Vec<usize> = pick[pick.len().saturating_sub(events)..].to_vec();
        chosen.extend((0..self.items.len()).filter(|&i| matches!(self.items[i], Item::Violation { .. })));
        chosen.sort();
        Some(chosen)
    }

    /// Mermaid `sequenceDiagram` text, under Mermaid's default size limit: a run too
    /// long for it is sliced to the window before the violation, which a note says.
    pub fn mermaid(&self) -> String {
        let all: Vec<usize> = (0..self.items.len()).collect();
        let full = self.mermaid_of(&all, None);
        if full.len() <= MERMAID_LIMIT {
            return full;
        }
        let mut events = COMPACT_EVENTS;
        loop {
            let chosen = self.compact(events).unwrap_or_else(|| all[..events.min(all.len())].to_vec());
            let note = format!(
                "sliced to {} of {} events ({}); the full run is in diagram.html, or narrow it with --record, --node, --from, --until",
                chosen.len(),
                self.items.len() + self.truncated,
                if self.compact(events).is_some() { "those naming the violation's records, up to it" } else { "the first ones" }
            );
            let text = self.mermaid_of(&chosen, Some(&note));
            if text.len() <= MERMAID_LIMIT || events <= 5 {
                return text;
            }
            events /= 2;
        }
    }

    fn mermaid_of(&self, chosen: &[usize], note: Option<&str>) -> String {
        let lanes: Vec<&String> = self.lanes.iter().filter(|l| chosen.iter().any(|&i| self.items[i].lanes().contains(l))).collect();
        let alias: BTreeMap<&str, String> = lanes.iter().enumerate().map(|(i, n)| (n.as_str(), format!("N{i}"))).collect();
        let mut out = String::from("sequenceDiagram\n");
        for lane in &lanes {
            let _ = writeln!(out, "    participant {} as {lane}", alias[lane.as_str()]);
        }
        let span = |out: &mut String, text: &str| {
            if let (Some(first), Some(last)) = (lanes.first(), lanes.last()) {
                let _ = writeln!(out, "    Note over {},{}: {}", alias[first.as_str()], alias[last.as_str()], escape(text));
            }
        };
        if let Some(note) = note {
            span(&mut out, note);
        }
        for item in chosen.iter().map(|&i| &self.items[i]) {
            let hot = self.is_hot(item);
            if hot {
                out.push_str("    rect rgb(255, 215, 215)\n");
            }
            let mark = if hot { "⚠ " } else { "" };
            match item {
                Item::Message { from, to, delivered, .. } => {
                    let arrow = if *delivered { "->>" } else { "-x" };
                    let _ =
                        writeln!(out, "    {}{arrow}{}: {mark}{}", alias[from.as_str()], alias[to.as_str()], escape(&short(&item.label())));
                }
                Item::Store { node, store, call, began, wrote, .. } => {
                    let _ = writeln!(out, "    {}->>{}: {mark}{} {call}", alias[node.as_str()], alias[store.as_str()], fmt_time(*began));
                    let back = if *wrote { "wrote" } else { "read" };
                    let _ = writeln!(
                        out,
                        "    {}-->>{}: {back}: {}",
                        alias[store.as_str()],
                        alias[node.as_str()],
                        escape(&short(&item.label()))
                    );
                }
                Item::Mark { node, .. } => {
                    let _ = writeln!(out, "    Note over {}: {mark}{}", alias[node.as_str()], escape(&item.label()));
                }
                Item::Violation { .. } => span(&mut out, &item.label()),
            }
            if hot {
                out.push_str("    end\n");
            }
        }
        if self.truncated > 0 && note.is_none() {
            span(&mut out, &format!("{} more events not drawn; filter with --record, --node, --from, --until", self.truncated));
        }
        out
    }

    /// A self-contained HTML page (no script, no network access): the compact view
    /// around the violation, and the full run behind a toggle.
    pub fn html(&self, title: &str) -> String {
        let all: Vec<usize> = (0..self.items.len()).collect();
        let compact = self.compact(COMPACT_EVENTS);
        let violations: Vec<&Item> = self.items.iter().filter(|i| matches!(i, Item::Violation { .. })).collect();
        let mut top = String::new();
        for (k, v) in violations.iter().enumerate() {
            let Item::Violation { at, text, records } = v else { continue };
            let named = if records.is_empty() { String::new() } else { format!(" (records: {})", html_escape(&records.join(", "))) };
            let _ = write!(top, r##"<li><a href="#v{k}">⚠ {} at {}</a>{named}</li>"##, html_escape(text), fmt_time(*at));
        }
        let views = match &compact {
            Some(chosen) => format!(
                r#"<input type="checkbox" id="full" class="toggle"><label for="full" class="toggle-label">show the full run ({} events)</label>
<div class="compact"><p class="what">The {} events before the violation that name its records; the violation in red.</p>{}</div>
<div class="full">{}</div>"#,
                self.items.len(),
                chosen.iter().filter(|&&i| !matches!(self.items[i], Item::Violation { .. })).count(),
                self.view(chosen, "v"),
                self.view(&all, "full-v")
            ),
            None => self.view(&all, "v"),
        };
        let note = if self.truncated > 0 {
            format!("<p><b>{} more events not drawn</b>: narrow the run with --record, --node, --from, --until.</p>", self.truncated)
        } else {
            String::new()
        };
        let summary =
            if top.is_empty() { "<p>No invariant violated.</p>".to_string() } else { format!("<ul class=\"violations\">{top}</ul>") };
        format!(
            r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font-family:sans-serif;margin:16px}}
.view{{overflow:auto;max-height:85vh;border:1px solid #ddd}}
.lanes{{position:sticky;top:0;background:#fff;z-index:1;border-bottom:1px solid #ddd}}
.message:hover line,.store:hover path{{stroke-width:4}}
.legend span{{margin-right:18px}}
.violations a{{color:#d00;font-weight:bold}}
.toggle{{margin-right:6px}} .full{{display:none}} #full:checked ~ .full{{display:block}} #full:checked ~ .compact{{display:none}}
.label{{white-space:pre}} .hot-label{{fill:#d00;font-weight:bold}}
</style></head>
<body><h2>{title}</h2>
{summary}
<p class="legend"><span style="color:#444">→ delivered</span><span style="color:#999">✗ dropped</span><span>- - duplicate copy</span><span style="color:#e80">→ redelivery</span><span style="color:#07a">⇄ store round trip (read / wrote)</span><span style="color:#d00">✖ crash, ▲ handler did not ack, ⚠ the violation and its records</span><span style="color:#a0a">⌇ partition</span><span style="color:#07a">● restart, pause, broker</span></p>
<p>Time flows down, one row per event; hover an arrow or mark for its payload.</p>
{note}
{views}
</body></html>
"#,
            title = html_escape(title)
        )
    }

    /// One view: the sticky lane headers over the diagram of the chosen events.
    fn view(&self, chosen: &[usize], anchor: &str) -> String {
        let g = Geometry::of(self, chosen);
        let mut head = String::new();
        let _ = write!(
            head,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="32" font-family="monospace" font-size="12">"#,
            g.width
        );
        for lane in &g.lanes {
            let _ =
                write!(head, r#"<text x="{:.0}" y="22" text-anchor="middle" font-weight="bold">{}</text>"#, g.x(lane), html_escape(lane));
        }
        head.push_str("</svg>");
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" font-family="monospace" font-size="11">"#,
            g.width, g.height
        );
        svg.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker><marker id="hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#d00"/></marker></defs>"##);
        for lane in &g.lanes {
            let lx = g.x(lane);
            let colour = if lane.ends_with(" db") { "#9cd" } else { "#bbb" };
            let _ = write!(
                svg,
                r##"<line class="lane" x1="{lx:.0}" y1="0" x2="{lx:.0}" y2="{:.0}" stroke="{colour}" stroke-width="2"/>"##,
                g.height
            );
        }
        let mut violation = 0;
        for &i in chosen {
            let item = &self.items[i];
            let hot = self.is_hot(item);
            match item {
                Item::Message { .. } => draw_message(&g, i, item, hot, &mut svg),
                Item::Store { .. } => draw_store(&g, i, item, hot, &mut svg),
                Item::Mark { node, at, text, style } => draw_mark(&g, g.end(i), node, *at, text, *style, &mut svg),
                Item::Violation { text, .. } => {
                    draw_violation(&g, g.end(i), text, &format!("{anchor}{violation}"), &mut svg);
                    violation += 1;
                }
            }
            let class = if hot || matches!(item, Item::Violation { .. }) { "label hot-label" } else { "label" };
            let _ = write!(
                svg,
                r#"<text class="{class}" x="{:.0}" y="{:.0}">{}</text>"#,
                g.labels_x,
                g.end(i) + 4.0,
                html_escape(&item.label())
            );
        }
        svg.push_str("</svg>");
        format!(r#"<div class="view"><div class="lanes">{head}</div>{svg}</div>"#)
    }
}

/// The events of a history worth drawing: message copies, store calls, faults, marks.
fn items_of<O: Observation>(entries: &[Entry<O>], nodes: &[String]) -> Vec<Item> {
    let mut sent: BTreeMap<u64, (String, String, &'static str, String, Duration)> = BTreeMap::new();
    let mut copies: BTreeMap<u64, usize> = BTreeMap::new();
    let mut items = Vec::new();
    for e in entries {
        match &e.record {
            Record::Net { id, from, to, kind, what } => match what {
                NetWhat::Sent(text) => {
                    sent.insert(*id, (from.to_string(), to.to_string(), kind, text.clone(), e.time));
                }
                NetWhat::Duplicated => {}
                NetWhat::Delivered | NetWhat::Dropped(_) => {
                    let Some((from, to, kind, text, at_send)) = sent.get(id).cloned() else { continue };
                    let n = copies.entry(*id).or_default();
                    *n += 1;
                    let (delivered, reason) = match what {
                        NetWhat::Dropped(reason) => (false, *reason),
                        _ => (true, ""),
                    };
                    items.push(Item::Message { id: *id, from, to, kind, text, sent: at_send, at: e.time, delivered, reason, copy: *n > 1 });
                }
            },
            Record::Store { store, call, began, wrote, .. } => {
                let Some(node) = &e.node else { continue };
                items.push(Item::Store {
                    node: node.to_string(),
                    store: store_lane(store),
                    call,
                    began: *began,
                    at: e.time,
                    text: e.record.to_string(),
                    wrote: !wrote.is_empty(),
                });
            }
            Record::Fault { event, text } => {
                let style = if *event == crate::harness::history::FaultEvent::Quiet { Style::Quiet } else { Style::Fault };
                for node in nodes.iter().filter(|n| mentions(text, n)) {
                    items.push(Item::Mark { node: node.clone(), at: e.time, text: text.clone(), style });
                }
            }
            Record::Observed(o) => {
                if let (Some(mark), Some(node)) = (o.mark(), &e.node) {
                    items.push(Item::Mark { node: node.to_string(), at: e.time, text: o.to_string(), style: Style::Observed(mark) });
                }
            }
        }
    }
    items
}

const LANE: f64 = 110.0;
const ROW: f64 = 16.0;
const TOP: f64 = 12.0;
const LEFT: f64 = 20.0;

/// Where things go in a view: one row per event point (a send or a store call's start,
/// and every event's end), in time order; one lane per node and store; the labels in a
/// column to the right of the lanes.
struct Geometry {
    /// Item index and whether it is its start point, to its row.
    rows: BTreeMap<(usize, bool), usize>,
    lanes: Vec<String>,
    labels_x: f64,
    width: f64,
    height: f64,
}

impl Geometry {
    fn of(d: &Diagram, chosen: &[usize]) -> Geometry {
        let mut points: Vec<(Duration, bool, usize)> = Vec::new();
        for &i in chosen {
            let item = &d.items[i];
            if let Some(start) = item.start() {
                points.push((start, true, i));
            }
            points.push((item.at(), false, i));
        }
        // In time order; at one instant starts before ends, then in item order.
        points.sort_by_key(|&(t, start, i)| (t, !start, i));
        let rows = points.iter().enumerate().map(|(row, &(_, start, i))| ((i, start), row)).collect();
        let lanes: Vec<String> = d.lanes.iter().filter(|l| chosen.iter().any(|&i| d.items[i].lanes().contains(l))).cloned().collect();
        let labels_x = LEFT + LANE * lanes.len().max(1) as f64 + 10.0;
        let longest = chosen.iter().map(|&i| d.items[i].label().chars().count()).max().unwrap_or(0);
        Geometry { rows, lanes, labels_x, width: labels_x + 7.0 * longest as f64 + 20.0, height: TOP + ROW * (points.len() + 1) as f64 }
    }

    fn row(&self, item: usize, start: bool) -> f64 {
        TOP + ROW * self.rows.get(&(item, start)).copied().unwrap_or(0) as f64
    }

    fn end(&self, item: usize) -> f64 {
        self.row(item, false)
    }

    fn x(&self, lane: &str) -> f64 {
        LEFT + LANE * self.lanes.iter().position(|n| n == lane).unwrap_or(0) as f64 + LANE / 2.0
    }
}

fn draw_message(g: &Geometry, i: usize, item: &Item, hot: bool, svg: &mut String) {
    let Item::Message { id, from, to, kind, text, sent, at, delivered, reason, copy } = item else { return };
    let color = if hot {
        "#d00"
    } else if !*delivered {
        "#999"
    } else if text.ends_with(crate::harness::fabric::REDELIVERY) {
        "#e80"
    } else {
        "#444"
    };
    let (x1, y1, x2, y2) = (g.x(from), g.row(i, true), g.x(to), g.end(i));
    let (x2, y2) = if *delivered { (x2, y2) } else { ((x1 + x2) / 2.0, y2) };
    let dash = if *copy { r#" stroke-dasharray="5,3""# } else { "" };
    let class = if hot { "message hot" } else { "message" };
    let marker = match (*delivered, hot) {
        (false, _) => "",
        (true, true) => r#" marker-end="url(#hot)""#,
        (true, false) => r#" marker-end="url(#arrow)""#,
    };
    let status = if *delivered { "delivered".to_string() } else { format!("DROPPED ({reason})") };
    let _ = write!(
        svg,
        r#"<g class="{class}"><title>#{id} {from} -> {to} {kind}{}
sent {} / {status} {}
{}</title><line x1="{x1:.0}" y1="{y1:.0}" x2="{x2:.0}" y2="{y2:.0}" stroke="{color}" stroke-width="{}"{dash}{marker}/>"#,
        if *copy { " (duplicate)" } else { "" },
        fmt_time(*sent),
        fmt_time(*at),
        html_escape(text),
        if hot { 2.5 } else { 1.2 }
    );
    if !*delivered {
        let _ = write!(
            svg,
            r#"<text class="drop" x="{x2:.0}" y="{:.0}" text-anchor="middle" fill="{color}" font-size="14">✗</text>"#,
            y2 + 5.0
        );
    }
    svg.push_str("</g>");
}

/// A store call: out to the store's lane when it began, the store at work down its
/// lane, and back when it answered (a read dashed, a write solid).
fn draw_store(g: &Geometry, i: usize, item: &Item, hot: bool, svg: &mut String) {
    let Item::Store { node, store, text, wrote, .. } = item else { return };
    let (xn, xs, y1, y2) = (g.x(node), g.x(store), g.row(i, true), g.end(i));
    let color = if hot { "#d00" } else { "#07a" };
    let dash = if *wrote { "" } else { r#" stroke-dasharray="3,3""# };
    let _ = write!(
        svg,
        r#"<g class="store{}"><title>{}</title><path d="M{xn:.0},{y1:.0} L{xs:.0},{y1:.0} L{xs:.0},{y2:.0} L{xn:.0},{y2:.0}" fill="none" stroke="{color}" stroke-width="{}"{dash} marker-end="url(#arrow)"/></g>"#,
        if hot { " hot" } else { "" },
        html_escape(text),
        if hot { 2.0 } else { 1.0 }
    );
}

fn draw_mark(g: &Geometry, my: f64, node: &str, at: Duration, text: &str, style: Style, svg: &mut String) {
    let mx = g.x(node);
    let (color, symbol, class) = match style {
        Style::Fault if text.starts_with("crash") => ("#d00", "✖", "fault"),
        Style::Fault if text.starts_with("partition") => ("#a0a", "⌇", "fault"),
        Style::Fault | Style::Quiet => ("#07a", "●", "fault"),
        Style::Observed(Mark::Failure) => ("#d00", "▲", "handler"),
        Style::Observed(Mark::Note) => ("#555", "◆", "handler"),
    };
    let _ = write!(
        svg,
        r#"<g class="{class}"><title>{}: {}</title><text x="{mx:.0}" y="{:.0}" text-anchor="middle" fill="{color}" font-size="14">{symbol}</text></g>"#,
        fmt_time(at),
        html_escape(text),
        my + 5.0,
    );
}

fn draw_violation(g: &Geometry, vy: f64, text: &str, id: &str, svg: &mut String) {
    let _ = write!(
        svg,
        r##"<g class="violation" id="{id}"><title>{}</title><line x1="{LEFT:.0}" y1="{vy:.0}" x2="{:.0}" y2="{vy:.0}" stroke="#d00" stroke-width="3" stroke-dasharray="8,4"/></g>"##,
        html_escape(text),
        g.labels_x - 10.0,
    );
}

fn keep(item: &Item, filter: &TraceFilter) -> bool {
    let at = item.at();
    if filter.from.is_some_and(|f| at < f) || filter.until.is_some_and(|u| at > u) {
        return false;
    }
    if let Some(node) = &filter.node {
        if !item.lanes().contains(&node) && !matches!(item, Item::Violation { .. }) {
            return false;
        }
    }
    let text = item.text();
    filter.records.is_empty() || filter.records.iter().any(|r| mentions(&text, r))
}

/// A Mermaid label kept short: long payloads would blow the size limit.
fn short(text: &str) -> String {
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text.to_string()
    }
}

fn escape(text: &str) -> String {
    text.replace('#', "#35;").replace(';', "#59;").replace("#35#59;", "#35;").replace('\n', " ")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
