//! The diagram as Mermaid `sequenceDiagram` text, under Mermaid's default size limit.

use super::{Diagram, Kind, Tone, CONTEXT_EVENTS, MERMAID_LIMIT};
use crate::harness::fmt_time;
use std::collections::BTreeMap;
use std::fmt::Write;

impl Diagram {
    /// Mermaid text of the run, or, when that is over Mermaid's limit, of the first
    /// violation's view (or the run's first events), fewer and fewer until it fits; a
    /// note says what it was sliced to.
    pub fn mermaid(&self) -> String {
        let all: Vec<usize> = (0..self.items.len()).collect();
        let full = self.mermaid_of(&all, None);
        if full.len() <= MERMAID_LIMIT {
            return full;
        }
        let mut events = CONTEXT_EVENTS;
        loop {
            let (chosen, what) = match self.violations.is_empty() {
                false => {
                    let (rows, _) = self.view_of(0);
                    let must: Vec<usize> = rows.iter().copied().filter(|&i| self.tone(i, Some(0)) > Tone::Context).collect();
                    let rest: Vec<usize> = rows.iter().copied().filter(|&i| self.tone(i, Some(0)) <= Tone::Context).collect();
                    let mut chosen: Vec<usize> = rest[rest.len().saturating_sub(events)..].to_vec();
                    chosen.extend(must);
                    chosen.sort();
                    (chosen, "the first violation, what makes it and the events naming its records before it")
                }
                true => (all[..events.min(all.len())].to_vec(), "the first ones"),
            };
            let note = format!(
                "sliced to {} of {} events ({what}); the full run is in diagram.html, or narrow it with --record, --node, --from, --until",
                chosen.len(),
                self.items.len()
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
        for &i in chosen {
            let item = &self.items[i];
            // Only what makes a violation stands out.
            let hot = self.tone(i, None) == Tone::Evidence && !item.is_violation();
            if hot {
                out.push_str("    rect rgb(255, 215, 215)\n");
            }
            // Payloads are kept short (the page has them whole); marks and violations not.
            let label = match item.kind {
                Kind::Message { .. } | Kind::Store { .. } => short(&self.label(i, None)),
                _ => self.label(i, None),
            };
            match &item.kind {
                Kind::Message { from, to, delivered, .. } => {
                    let arrow = if *delivered { "->>" } else { "-x" };
                    let _ = writeln!(out, "    {}{arrow}{}: {}", alias[from.as_str()], alias[to.as_str()], escape(&label));
                }
                Kind::Store { node, store, began, wrote, .. } => {
                    let _ = writeln!(out, "    {}->>{}: {} call", alias[node.as_str()], alias[store.as_str()], fmt_time(*began));
                    let back = if *wrote { "wrote" } else { "read" };
                    let _ = writeln!(out, "    {}-->>{}: {back}: {}", alias[store.as_str()], alias[node.as_str()], escape(&label));
                }
                Kind::Mark { node, .. } => {
                    let _ = writeln!(out, "    Note over {}: {}", alias[node.as_str()], escape(&label));
                }
                Kind::Violation(_) => span(&mut out, &label),
            }
            if hot {
                out.push_str("    end\n");
            }
        }
        out
    }
}

/// A Mermaid label kept short: long payloads would blow the size limit (the HTML page
/// has them whole).
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
