//! The diagram's HTML page: the violations listed, a view of each, and the full run
//! behind a toggle. Self-contained: no script, no network access.

use super::{html_escape, Diagram, MAX_VIEWS};
use crate::harness::fmt_time;
use std::fmt::Write;

const STYLE: &str = r#"body{font-family:sans-serif;margin:16px;max-width:100%}
.view{overflow:auto;max-height:85vh;border:1px solid #ddd}
.lanes{position:sticky;top:0;background:#fff;z-index:1;border-bottom:1px solid #ddd}
.message:hover line,.store:hover path{stroke-width:4}
.legend span{margin-right:18px;display:inline-block}
.violations a{color:#d00;font-weight:bold}
section.violation-view{margin:18px 0 28px}
section.violation-view h3{color:#c00;margin:6px 0}
details.full summary{cursor:pointer;font-weight:bold;margin:12px 0}
.label{white-space:pre}
.note{background:#fff6d8;padding:4px 8px}"#;

const LEGEND: &str = r##"<p class="legend"><span style="color:#c00;font-weight:bold">red: the events that make the violation, tagged with its words</span><span style="color:#b55">light red: the rest of their spans (the request, its reads, its answer)</span><span style="color:#333">grey: other events naming its records</span><span style="color:#999">faint: everything else</span></p>
<p class="legend"><span>→ message delivered</span><span>✗ dropped</span><span>- - duplicate copy</span><span style="color:#e80">→ redelivery</span><span style="color:#07a">⇄ store round trip (dashed: read, solid: wrote)</span><span>▮ a handler's span: what it did leaves from it</span><span style="color:#d00">✖ crash ▲ handler did not ack</span><span style="color:#a0a">⌇ partition</span><span style="color:#07a">● restart, pause, broker</span></p>"##;

impl Diagram {
    /// A self-contained HTML page (no script, no network access).
    pub fn html(&self, title: &str) -> String {
        let mut body = String::new();
        let _ = write!(body, "<h2>{}</h2>\n{}", html_escape(title), self.summary());
        if let Some((file, words)) = &self.counterpart {
            let _ = write!(
                body,
                r#"<p class="counterpart"><a href="{}">{}: {}</a></p>"#,
                html_escape(file),
                html_escape(words),
                html_escape(file)
            );
        }
        body.push_str(LEGEND);
        body.push_str("<p>Time flows down, one row per event; hover an arrow, a store call or a span for its payload.</p>\n");
        for k in 0..self.violations.len().min(MAX_VIEWS) {
            body.push_str(&self.violation_section(k));
        }
        let (rows, left_out) = self.full_view();
        let open = if self.violations.is_empty() { " open" } else { "" };
        let _ = write!(
            body,
            r#"<details class="full"{open}><summary>The full run: {} events{}</summary>"#,
            self.items.len(),
            if self.violations.is_empty() { "" } else { ", everything but the violations' events faint" }
        );
        if left_out > 0 {
            let last = rows.iter().copied().rfind(|&i| i < super::MAX_ROWS).map_or(std::time::Duration::ZERO, |i| self.items[i].at);
            let _ = write!(
                body,
                r#"<p class="note"><b>{left_out} events after {} are not drawn</b> (the view draws the first {} and every violation and the events that make it); draw them with --from {}, or narrow the run with --record, --node, --until.</p>"#,
                fmt_time(last),
                super::MAX_ROWS,
                fmt_time(last)
            );
        }
        body.push_str(&self.view(&rows, None, "full-v"));
        body.push_str("</details>\n");
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\n{STYLE}\n</style></head>\n<body>\n{body}\n</body></html>\n",
            html_escape(title)
        )
    }

    /// Every violation, linked to its view (or, past [`MAX_VIEWS`], with how to draw it).
    fn summary(&self) -> String {
        if self.violations.is_empty() {
            return "<p>No invariant violated.</p>\n".to_string();
        }
        let mut list = String::new();
        for (k, v) in self.violations.iter().enumerate() {
            let what = format!("⚠ {} {}", fmt_time(v.time), v.invariant);
            let records = if v.records.is_empty() { String::new() } else { format!(" (records: {})", html_escape(&v.records.join(", "))) };
            if k < MAX_VIEWS {
                let _ = write!(list, r##"<li><a href="#v{k}">{}</a>: {}{records}</li>"##, html_escape(&what), html_escape(&v.explanation));
            } else {
                let _ = write!(
                    list,
                    r#"<li>{}: {}{records} <i>(no view here: past the first {MAX_VIEWS}; draw it with {})</i></li>"#,
                    html_escape(&what),
                    html_escape(&v.explanation),
                    html_escape(&draw_alone(v))
                );
            }
        }
        let n = crate::report::style::count(self.violations.len() as u64, "violation", "violations");
        format!("<p><b>{n}</b>, each with a view of the records it involves:</p>\n<ol class=\"violations\" start=\"1\">{list}</ol>\n")
    }

    /// Violation `k`'s section: what it says, and its view.
    fn violation_section(&self, k: usize) -> String {
        let v = &self.violations[k];
        let (rows, left_out) = self.view_of(k);
        let evidence = self.evidence[k].iter().filter(|i| rows.contains(i)).count();
        let how = if v.evidence.is_empty() {
            "the writes, drops, copies, redeliveries and failed handlers naming its records"
        } else {
            "named by the invariant"
        };
        let mut text = format!(
            r#"<section class="violation-view" id="v{k}" data-invariant="{}" data-records="{}"><h3>⚠ {} of {}: {} at {}</h3><p>{}</p><p>In red, the {evidence} events that make it ({how}); in light red, the rest of their spans; in grey, the other events naming {} up to it."#,
            v.invariant,
            html_escape(&v.records.join(" ")),
            k + 1,
            self.violations.len(),
            v.invariant,
            fmt_time(v.time),
            html_escape(&v.explanation),
            if v.records.is_empty() { "its records".to_string() } else { html_escape(&v.records.join(", ")) },
        );
        if left_out > 0 {
            let _ = write!(
                text,
                r#" <span class="note"><b>{left_out} earlier events naming them are not drawn here</b>: they are in the full run below, or draw them alone with {}.</span>"#,
                html_escape(&draw_alone(v))
            );
        }
        text.push_str("</p>");
        text.push_str(&self.view(&rows, Some(k), "v-row-"));
        text.push_str("</section>\n");
        text
    }
}

/// The flags that draw a violation's records alone, up to it.
fn draw_alone(v: &crate::harness::system::Violation) -> String {
    let records: String = v.records.iter().map(|r| format!("--record {r} ")).collect();
    // Rounded up to the millisecond, so the window holds the violation.
    let until = std::time::Duration::from_millis(v.time.as_nanos().div_ceil(1_000_000) as u64);
    format!("{records}--until {}", fmt_time(until))
}
