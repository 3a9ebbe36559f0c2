//! Message diagrams of a run: Mermaid `sequenceDiagram` text, and a self-contained HTML
//! page with an SVG space-time diagram (one lane per node, time flowing down, an arrow
//! per message copy from its send to its delivery, marks for drops, duplicates,
//! redeliveries, crashes and partitions, handlers that did not ack, the violating
//! records in red, payloads on hover).

use crate::harness::fmt_time;
use crate::harness::history::{mentions, Entry, Mark, NetWhat, Observation, Record, TraceFilter};
use crate::harness::system::Violation;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// Most rows drawn; past this the diagram says it was cut and how to filter.
pub const MAX_ROWS: usize = 4000;

#[derive(Clone, Debug)]
enum Item {
    /// A message copy: sent at `sent`, delivered (`Some`) or dropped (`None`) at `at`.
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
            Item::Message { at, .. } | Item::Mark { at, .. } | Item::Violation { at, .. } => *at,
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

impl Diagram {
    /// Builds the diagram from a history recorded with messages.
    pub fn build<O: Observation>(entries: &[Entry<O>], violations: &[Violation], nodes: &[String], filter: &TraceFilter) -> Diagram {
        let hot: Vec<String> = violations.iter().flat_map(|v| v.records.clone()).collect();
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
                        items.push(Item::Message {
                            id: *id,
                            from,
                            to,
                            kind,
                            text,
                            sent: at_send,
                            at: e.time,
                            delivered,
                            reason,
                            copy: *n > 1,
                        });
                    }
                },
                Record::Fault { text } => {
                    let style = if text.starts_with("quiet") { Style::Quiet } else { Style::Fault };
                    for node in nodes.iter().filter(|n| mentions(text, n)) {
                        items.push(Item::Mark { node: node.clone(), at: e.time, text: text.clone(), style });
                    }
                }
                Record::Observed(o) => {
                    if let (Some(mark), Some(node)) = (o.mark(), &e.node) {
                        items.push(Item::Mark { node: node.to_string(), at: e.time, text: o.to_string(), style: Style::Observed(mark) });
                    }
                }
                Record::Store { .. } => {}
            }
        }
        for v in violations {
            items.push(Item::Violation { at: v.time, text: format!("{}: {}", v.invariant, v.explanation), records: v.records.clone() });
        }
        items.retain(|item| keep(item, filter));
        items.sort_by_key(|i| i.at());
        let truncated = items.len().saturating_sub(MAX_ROWS);
        items.truncate(MAX_ROWS);
        // A lane per node something happens on: the run's nodes in fabric order, then
        // any other name the items use (a run that stopped early may not list its nodes).
        let used: Vec<&String> = items
            .iter()
            .flat_map(|i| match i {
                Item::Message { from, to, .. } => vec![from, to],
                Item::Mark { node, .. } => vec![node],
                Item::Violation { .. } => vec![],
            })
            .collect();
        let mut lanes: Vec<String> = nodes.iter().filter(|n| used.contains(n)).cloned().collect();
        for name in used {
            if !lanes.contains(name) {
                lanes.push(name.clone());
            }
        }
        Diagram { lanes, items, hot, truncated }
    }

    fn is_hot(&self, text: &str) -> bool {
        self.hot.iter().any(|r| mentions(text, r))
    }

    /// Mermaid `sequenceDiagram` text.
    pub fn mermaid(&self) -> String {
        let alias: BTreeMap<&str, String> = self.lanes.iter().enumerate().map(|(i, n)| (n.as_str(), format!("N{i}"))).collect();
        let mut out = String::from("sequenceDiagram\n");
        for lane in &self.lanes {
            let _ = writeln!(out, "    participant {} as {lane}", alias[lane.as_str()]);
        }
        for item in &self.items {
            match item {
                Item::Message { from, to, kind, text, at, delivered, reason, copy, .. } => {
                    let label = escape(&format!(
                        "{} {kind}: {text}{}{}",
                        fmt_time(*at),
                        if *copy { " (duplicate)" } else { "" },
                        if *delivered { String::new() } else { format!(" DROPPED ({reason})") }
                    ));
                    let arrow = if *delivered { "->>" } else { "-x" };
                    let hot = self.is_hot(text);
                    if hot {
                        out.push_str("    rect rgb(255, 215, 215)\n");
                    }
                    let _ =
                        writeln!(out, "    {}{arrow}{}: {}{label}", alias[from.as_str()], alias[to.as_str()], if hot { "⚠ " } else { "" });
                    if hot {
                        out.push_str("    end\n");
                    }
                }
                Item::Mark { node, at, text, .. } => {
                    let _ = writeln!(out, "    Note over {}: {} {}", alias[node.as_str()], fmt_time(*at), escape(text));
                }
                Item::Violation { at, text, .. } => {
                    if let (Some(first), Some(last)) = (self.lanes.first(), self.lanes.last()) {
                        let _ = writeln!(
                            out,
                            "    Note over {},{}: ⚠ {} {}",
                            alias[first.as_str()],
                            alias[last.as_str()],
                            fmt_time(*at),
                            escape(text)
                        );
                    }
                }
            }
        }
        if let (true, Some(first)) = (self.truncated > 0, self.lanes.first()) {
            let _ = writeln!(
                out,
                "    Note over {}: {} more events not drawn; filter with --record, --node, --from, --until",
                alias[first.as_str()],
                self.truncated
            );
        }
        out
    }

    /// A self-contained HTML page with the SVG space-time diagram (no network access needed).
    pub fn html(&self, title: &str) -> String {
        let g = Geometry::of(self);
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" font-family="monospace" font-size="11">"#,
            g.width, g.height
        );
        svg.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker><marker id="hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#d00"/></marker></defs>"##);
        for lane in &self.lanes {
            let lx = g.x(lane);
            let _ = write!(
                svg,
                r##"<text x="{lx:.0}" y="30" text-anchor="middle" font-weight="bold" font-size="12">{}</text><line class="lane" x1="{lx:.0}" y1="40" x2="{lx:.0}" y2="{:.0}" stroke="#bbb" stroke-width="2"/>"##,
                html_escape(lane),
                g.height
            );
        }
        for (i, t) in g.times.iter().enumerate() {
            if i % 5 == 0 {
                let _ = write!(svg, r##"<text x="4" y="{:.0}" fill="#888">{}</text>"##, TOP + ROW * i as f64 + 4.0, fmt_time(*t));
            }
        }
        for item in &self.items {
            match item {
                Item::Message { .. } => self.draw_message(&g, item, &mut svg),
                Item::Mark { node, at, text, style } => draw_mark(&g, node, *at, text, *style, &mut svg),
                Item::Violation { at, text, records } => draw_violation(&g, *at, text, records, &mut svg),
            }
        }
        svg.push_str("</svg>");
        let note = if self.truncated > 0 {
            format!("<p><b>{} more events not drawn</b>: filter with --record, --node, --from, --until.</p>", self.truncated)
        } else {
            String::new()
        };
        format!(
            r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:16px}} .message:hover line{{stroke-width:4}} .legend span{{margin-right:18px}}</style></head>
<body><h2>{title}</h2>
<p class="legend"><span style="color:#444">→ delivered</span><span style="color:#999">✗ dropped</span><span>- - duplicate copy</span><span style="color:#e80">→ redelivery</span><span style="color:#d00">✖ crash / ⚠ violation and its records</span><span style="color:#a0a">⌇ partition</span><span style="color:#07a">● restart, pause, broker events</span></p>
<p>Hover an arrow or mark for its payload. Time flows down; each row is one instant at which something happened.</p>
{note}
{svg}
</body></html>
"#,
            title = html_escape(title)
        )
    }

    fn draw_message(&self, g: &Geometry, item: &Item, svg: &mut String) {
        let Item::Message { id, from, to, kind, text, sent, at, delivered, reason, copy } = item else { return };
        let hot = self.is_hot(text);
        let color = if hot {
            "#d00"
        } else if !*delivered {
            "#999"
        } else if text.contains("(redelivery)") {
            "#e80"
        } else {
            "#444"
        };
        let (x1, y1, x2, y2) = (g.x(from), g.row(*sent), g.x(to), g.row(*at));
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
            let _ = write!(svg, r#"<text class="drop" x="{x2:.0}" y="{:.0}" text-anchor="middle" fill="{color}" font-size="14">✗</text>"#, y2 + 5.0);
        }
        if hot {
            let _ = write!(svg, r#"<text x="{:.0}" y="{:.0}" fill="{color}">{}</text>"#, (x1 + x2) / 2.0 + 4.0, (y1 + y2) / 2.0 - 2.0, html_escape(kind));
        }
        svg.push_str("</g>");
    }
}

const LANE: f64 = 150.0;
const ROW: f64 = 18.0;
const TOP: f64 = 60.0;
const LEFT: f64 = 90.0;

/// Where things go on the page: one row per distinct instant, one lane per node.
struct Geometry {
    times: Vec<Duration>,
    lanes: Vec<String>,
    width: f64,
    height: f64,
}

impl Geometry {
    fn of(d: &Diagram) -> Geometry {
        let mut times: Vec<Duration> = Vec::new();
        for item in &d.items {
            times.push(item.at());
            if let Item::Message { sent, .. } = item {
                times.push(*sent);
            }
        }
        times.sort();
        times.dedup();
        let width = LEFT + LANE * d.lanes.len().max(1) as f64 + 260.0;
        let height = TOP + ROW * (times.len() + 2) as f64;
        Geometry { times, lanes: d.lanes.clone(), width, height }
    }

    fn row(&self, t: Duration) -> f64 {
        TOP + ROW * self.times.binary_search(&t).unwrap_or(0) as f64
    }

    fn x(&self, node: &str) -> f64 {
        LEFT + LANE * self.lanes.iter().position(|n| n == node).unwrap_or(0) as f64 + LANE / 2.0
    }
}

fn draw_mark(g: &Geometry, node: &str, at: Duration, text: &str, style: Style, svg: &mut String) {
    let (mx, my) = (g.x(node), g.row(at));
    let (color, symbol, class) = match style {
        Style::Fault if text.starts_with("crash") => ("#d00", "✖", "fault"),
        Style::Fault if text.starts_with("partition") => ("#a0a", "⌇", "fault"),
        Style::Fault | Style::Quiet => ("#07a", "●", "fault"),
        Style::Observed(Mark::Failure) => ("#d00", "▲", "handler"),
        Style::Observed(Mark::Note) => ("#555", "◆", "handler"),
    };
    let shown = matches!(style, Style::Fault | Style::Observed(Mark::Failure));
    let _ = write!(
        svg,
        r#"<g class="{class}"><title>{}: {}</title><text x="{mx:.0}" y="{:.0}" text-anchor="middle" fill="{color}" font-size="15">{symbol}</text><text x="{:.0}" y="{:.0}" fill="{color}">{}</text></g>"#,
        fmt_time(at),
        html_escape(text),
        my + 5.0,
        mx + 10.0,
        my + 4.0,
        if shown { html_escape(text) } else { String::new() }
    );
}

fn draw_violation(g: &Geometry, at: Duration, text: &str, records: &[String], svg: &mut String) {
    let vy = g.row(at);
    let _ = write!(
        svg,
        r##"<g class="violation"><title>{}</title><line x1="{LEFT:.0}" y1="{vy:.0}" x2="{:.0}" y2="{vy:.0}" stroke="#d00" stroke-width="2" stroke-dasharray="8,4"/><text x="{LEFT:.0}" y="{:.0}" fill="#d00" font-weight="bold">⚠ {} ({})</text></g>"##,
        html_escape(text),
        g.width - 20.0,
        vy - 4.0,
        html_escape(text),
        html_escape(&records.join(", "))
    );
}

fn keep(item: &Item, filter: &TraceFilter) -> bool {
    let at = item.at();
    if filter.from.is_some_and(|f| at < f) || filter.until.is_some_and(|u| at > u) {
        return false;
    }
    let text_and_nodes = match item {
        Item::Message { from, to, text, .. } => (text.clone(), vec![from.clone(), to.clone()]),
        Item::Mark { node, text, .. } => (text.clone(), vec![node.clone()]),
        Item::Violation { text, records, .. } => (format!("{text} {}", records.join(" ")), vec![]),
    };
    if let Some(node) = &filter.node {
        if !text_and_nodes.1.contains(node) && !matches!(item, Item::Violation { .. }) {
            return false;
        }
    }
    if !filter.records.is_empty() && !filter.records.iter().any(|r| mentions(&text_and_nodes.0, r)) {
        return false;
    }
    true
}

fn escape(text: &str) -> String {
    text.replace('#', "#35;").replace(';', "#59;").replace("#35#59;", "#35;").replace('\n', " ")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
