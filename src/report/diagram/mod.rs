//! Message diagrams of a run: Mermaid `sequenceDiagram` text ([`mermaid`]), and a
//! self-contained HTML page with SVG space-time diagrams ([`page`], [`svg`]): one lane per
//! node and one per store, time flowing down, an arrow per message copy from its send to
//! its delivery, each store call a round trip to its store, marks for faults and
//! handlers that did not ack.
//!
//! The bug comes first. Each violation has a view of its own: the events that make it
//! (the ones its invariant names as evidence, such as the two writes that reserved one
//! ticket twice, or else the writes, drops, copies, redeliveries and failed handlers that
//! name its records) in red and tagged with the violation's words; the rest of each of
//! their spans (the request that started the handler, the handler's reads and its
//! answer) in a lighter red; the other events naming its records in grey. A delivered
//! message opens a span on its receiver's lane that lasts while its handler works: what
//! the handler did (store calls, messages sent) leaves from that span, so every arrow out
//! of a span was caused by the arrow into it. The full run, with everything but the
//! violations' events muted, is behind a toggle. Nothing is cut silently: every cap says
//! what it left out and how to draw it.

mod mermaid;
mod page;
mod svg;

use crate::harness::fmt_time;
use crate::harness::history::{mentions, Entry, Mark, NetWhat, Observation, Record, TraceFilter};
use crate::harness::system::Violation;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Most events the full run's view draws; past this it says what it left out.
pub const MAX_ROWS: usize = 4000;
/// Mermaid's default `maxTextSize`: longer text does not render.
pub const MERMAID_LIMIT: usize = 50_000;
/// Events naming a violation's records drawn in its view besides those that make it
/// (the latest ones before it); the view says how many earlier ones it left out.
pub const CONTEXT_EVENTS: usize = 150;
/// Violations drawn with a view of their own; the others are listed with the command
/// that draws them.
pub const MAX_VIEWS: usize = 20;

#[derive(Clone, Debug)]
enum Kind {
    /// A message copy: sent at `sent`, delivered or dropped at the item's time.
    Message {
        id: u64,
        from: String,
        to: String,
        kind: &'static str,
        text: String,
        sent: Duration,
        delivered: bool,
        reason: &'static str,
        copy: bool,
    },
    /// A store call: from `node` to its store's lane at `began`, back at the item's time.
    Store { node: String, store: String, began: Duration, text: String, wrote: bool },
    /// A fault or a broker event on a node, or what a system marks there.
    Mark { node: String, text: String, style: Style },
    /// The violation of this index.
    Violation(usize),
}

/// How a mark is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// A fault the nemesis inflicted.
    Fault,
    /// The end of faults.
    Quiet,
    /// An observation the system marks.
    Observed(Mark),
}

/// One drawable event.
#[derive(Clone, Debug)]
struct Item {
    kind: Kind,
    /// When it ends: a message's delivery or drop, a store call's answer.
    at: Duration,
    /// The cause of the task that did it (a message: the sender's).
    cause: u64,
    /// A delivered message: the cause its handler ran under.
    handled: Option<u64>,
    /// The delivered message (an index into the items) whose handler did this, if any.
    owner: Option<usize>,
    /// The history entries it stands for.
    entries: Vec<usize>,
}

impl Item {
    /// When it starts: a message's send, a store call's start.
    fn start(&self) -> Option<Duration> {
        match &self.kind {
            Kind::Message { sent, .. } => Some(*sent),
            Kind::Store { began, .. } => Some(*began),
            _ => None,
        }
    }

    fn is_violation(&self) -> bool {
        matches!(self.kind, Kind::Violation(_))
    }

    fn kind_is_violation(&self, k: usize) -> bool {
        matches!(self.kind, Kind::Violation(v) if v == k)
    }

    fn lanes(&self) -> Vec<&String> {
        match &self.kind {
            Kind::Message { from, to, .. } => vec![from, to],
            Kind::Store { node, store, .. } => vec![node, store],
            Kind::Mark { node, .. } => vec![node],
            Kind::Violation(_) => vec![],
        }
    }

    /// Whether it is something gone wrong or a change of state: what a violation's
    /// evidence is derived from when its invariant names none.
    fn is_notable(&self) -> bool {
        match &self.kind {
            Kind::Message { delivered, copy, text, .. } => !delivered || *copy || text.ends_with(crate::harness::fabric::REDELIVERY),
            Kind::Store { wrote, .. } => *wrote,
            Kind::Mark { style, text, .. } => *style == Style::Observed(Mark::Failure) || text.starts_with("crash"),
            Kind::Violation(_) => false,
        }
    }
}

/// What a view highlights, from the strongest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tone {
    /// Drawn faint: names no violation's records (the full run).
    Muted,
    /// Names the violation's records.
    Context,
    /// In the span of an event that makes the violation.
    Part,
    /// Makes the violation.
    Evidence,
}

/// A run's drawable content.
pub struct Diagram {
    lanes: Vec<String>,
    items: Vec<Item>,
    violations: Vec<Violation>,
    /// Per violation: the items that make it.
    evidence: Vec<BTreeSet<usize>>,
    /// Per violation: the rest of those items' spans.
    parts: Vec<BTreeSet<usize>>,
    /// Per item: the text searched for a violation's records, made once.
    texts: Vec<String>,
    counterpart: Option<(String, String)>,
}

/// The lane of a service's store.
fn store_lane(store: &str) -> String {
    format!("{store} db")
}

impl Diagram {
    /// Builds the diagram from a history recorded with messages.
    pub fn build<O: Observation>(entries: &[Entry<O>], violations: &[Violation], nodes: &[String], filter: &TraceFilter) -> Diagram {
        let mut items = items_of(entries, nodes);
        for (k, v) in violations.iter().enumerate() {
            items.push(Item { kind: Kind::Violation(k), at: v.time, cause: 0, handled: None, owner: None, entries: vec![] });
        }
        items.retain(|item| keep(item, violations, filter));
        items.sort_by_key(|i| i.at);
        own(&mut items);
        let lanes = lanes_of(&items, nodes);
        let texts = items.iter().map(|item| searched(item, violations)).collect();
        let mut diagram =
            Diagram { lanes, items, violations: violations.to_vec(), evidence: vec![], parts: vec![], texts, counterpart: None };
        for k in 0..violations.len() {
            let evidence = diagram.evidence_of(k);
            let parts = diagram.spans_of(&evidence);
            diagram.evidence.push(evidence);
            diagram.parts.push(parts);
        }
        diagram
    }

    /// Names a page drawn beside this one (the fixed run's), linked from the page.
    pub fn with_counterpart(mut self, file: &str, words: &str) -> Self {
        self.counterpart = Some((file.to_string(), words.to_string()));
        self
    }

    /// The violation's records an item names.
    fn names(&self, item: usize, k: usize) -> Vec<&str> {
        self.violations[k].records.iter().filter(|r| mentions(&self.texts[item], r)).map(String::as_str).collect()
    }

    /// The violations a view is about: violation `k`'s, or (`None`) the full run's, all.
    fn considered(&self, k: Option<usize>) -> std::ops::Range<usize> {
        k.map_or(0..self.violations.len(), |k| k..k + 1)
    }

    /// The items that make violation `k`: those holding the entries its invariant named;
    /// or, when it named none, what names its records among the writes up to it (only
    /// the latest per record and store: the state the violation is about) and the drops,
    /// copies, redeliveries, crashes and failed handlers of the whole run (a lost or
    /// poison event is judged at the end, dated by when it was accepted); or, when none
    /// of those names them, the messages that do.
    fn evidence_of(&self, k: usize) -> BTreeSet<usize> {
        let v = &self.violations[k];
        if !v.evidence.is_empty() {
            return (0..self.items.len()).filter(|&i| self.items[i].entries.iter().any(|e| v.evidence.contains(e))).collect();
        }
        let mut chosen = BTreeSet::new();
        let mut last_write: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        let mut messages = BTreeSet::new();
        for (i, item) in self.items.iter().enumerate() {
            if item.is_violation() {
                continue;
            }
            let names = self.names(i, k);
            match &item.kind {
                _ if names.is_empty() => {}
                Kind::Store { store, wrote: true, .. } if item.at <= v.time => names.iter().for_each(|r| {
                    last_write.insert((store.as_str(), r), i);
                }),
                Kind::Store { .. } => {}
                _ if item.is_notable() => {
                    chosen.insert(i);
                }
                Kind::Message { .. } => {
                    messages.insert(i);
                }
                _ => {}
            }
        }
        chosen.extend(last_write.into_values());
        if chosen.is_empty() {
            chosen = messages;
        }
        chosen
    }

    /// The rest of the spans the given items belong to: the delivery that started each
    /// one's handler, and everything else that handler did.
    fn spans_of(&self, chosen: &BTreeSet<usize>) -> BTreeSet<usize> {
        let owners: BTreeSet<usize> = chosen.iter().filter_map(|&i| self.items[i].owner).collect();
        (0..self.items.len())
            .filter(|i| !chosen.contains(i))
            .filter(|i| owners.contains(i) || self.items[*i].owner.is_some_and(|o| owners.contains(&o)))
            .collect()
    }

    /// How an item is toned in the view of violation `k` (`None`: the full run).
    fn tone(&self, item: usize, k: Option<usize>) -> Tone {
        if self.items[item].is_violation() || self.considered(k).any(|k| self.evidence[k].contains(&item)) {
            Tone::Evidence
        } else if self.considered(k).any(|k| self.parts[k].contains(&item)) {
            Tone::Part
        } else if k.is_some() {
            Tone::Context
        } else {
            Tone::Muted
        }
    }

    /// The violation's words on an event that makes it: its invariant and the records the
    /// event names.
    fn tag(&self, item: usize, k: Option<usize>) -> Option<String> {
        let tags: Vec<String> = self
            .considered(k)
            .filter(|&k| self.evidence[k].contains(&item))
            .map(|k| {
                let names = self.names(item, k);
                let invariant = self.violations[k].invariant;
                if names.is_empty() {
                    invariant.to_string()
                } else {
                    format!("{invariant} · {}", names.join(", "))
                }
            })
            .collect();
        (!tags.is_empty()).then(|| tags.join("; "))
    }

    /// An item's label, whole: the tools never cut it (a view wraps it).
    fn label(&self, item: usize, k: Option<usize>) -> String {
        let it = &self.items[item];
        let tag = self.tag(item, k).map(|t| format!("⚠ {t} ◂ ")).unwrap_or_default();
        let body = match &it.kind {
            Kind::Message { from, to, kind, text, delivered, reason, copy, .. } => {
                let state = if *delivered { String::new() } else { format!(" ✗ DROPPED ({reason})") };
                format!("{from} → {to} {kind}{}{state}: {text}", if *copy { " (duplicate)" } else { "" })
            }
            Kind::Store { node, store, text, .. } => format!("{node} ⇄ {store}: {text}"),
            Kind::Mark { node, text, .. } => format!("{node}: {text}"),
            Kind::Violation(k) => {
                let v = &self.violations[*k];
                format!("⚠ VIOLATED {}: {}", v.invariant, v.explanation)
            }
        };
        format!("{} {tag}{body}", fmt_time(it.at))
    }

    /// The items of violation `k`'s view: what makes it and its spans, the latest
    /// [`CONTEXT_EVENTS`] other events naming its records up to it, and the violation;
    /// and how many earlier events naming its records it left out.
    fn view_of(&self, k: usize) -> (Vec<usize>, usize) {
        let v = &self.violations[k];
        let mut rows: BTreeSet<usize> = self.evidence[k].union(&self.parts[k]).copied().collect();
        rows.extend((0..self.items.len()).filter(|&i| self.items[i].kind_is_violation(k)));
        // Up to the violation, or to the last event that makes it if that is later.
        let until = self.evidence[k].iter().map(|&i| self.items[i].at).max().map_or(v.time, |t| t.max(v.time));
        let context: Vec<usize> = (0..self.items.len())
            .filter(|i| !rows.contains(i) && !self.items[*i].is_violation())
            .filter(|&i| self.items[i].at <= until && !self.names(i, k).is_empty())
            .collect();
        let left_out = context.len().saturating_sub(CONTEXT_EVENTS);
        rows.extend(&context[left_out..]);
        (rows.into_iter().collect(), left_out)
    }

    /// The full run's items: the first [`MAX_ROWS`], and every violation and event that
    /// makes one past them; and how many it left out.
    fn full_view(&self) -> (Vec<usize>, usize) {
        let wanted = |i: usize| self.items[i].is_violation() || self.evidence.iter().any(|e| e.contains(&i));
        let rows: Vec<usize> = (0..self.items.len()).filter(|&i| i < MAX_ROWS || wanted(i)).collect();
        let left_out = self.items.len() - rows.len();
        (rows, left_out)
    }
}

/// A lane per node something happens on, in fabric order, then any other name the
/// items use (a run that stopped early may not list its nodes); a store's lane right
/// after its service's last instance (`orders db` after `orders-2`), so a round trip
/// crosses no other lane.
fn lanes_of(items: &[Item], nodes: &[String]) -> Vec<String> {
    let used: Vec<&String> = items.iter().flat_map(Item::lanes).collect();
    let mut lanes: Vec<String> = nodes.iter().filter(|n| used.contains(n)).cloned().collect();
    let (stores, others): (Vec<&String>, Vec<&String>) = used.into_iter().partition(|n| n.ends_with(" db"));
    for name in others {
        if !lanes.contains(name) {
            lanes.push(name.clone());
        }
    }
    for store in stores {
        if lanes.contains(store) {
            continue;
        }
        let service = format!("{}-", store.trim_end_matches(" db"));
        let at = lanes.iter().rposition(|l| l.starts_with(&service)).map_or(lanes.len(), |i| i + 1);
        lanes.insert(at, store.clone());
    }
    lanes
}

/// A message copy in flight: its send's entry, ends, kind, text and time.
struct InFlight {
    entry: usize,
    from: String,
    to: String,
    kind: &'static str,
    text: String,
    sent: Duration,
    cause: u64,
}

/// The events of a history worth drawing: message copies, store calls, faults, marks.
fn items_of<O: Observation>(entries: &[Entry<O>], nodes: &[String]) -> Vec<Item> {
    let mut sent: BTreeMap<u64, InFlight> = BTreeMap::new();
    let mut copies: BTreeMap<u64, usize> = BTreeMap::new();
    let mut items = Vec::new();
    for e in entries {
        let item = |kind, handled, entries| Item { kind, at: e.time, cause: e.cause, handled, owner: None, entries };
        match &e.record {
            Record::Net { id, from, to, kind, what } => match what {
                NetWhat::Sent(text) => {
                    let (from, to, text) = (from.to_string(), to.to_string(), text.clone());
                    sent.insert(*id, InFlight { entry: e.index, from, to, kind, text, sent: e.time, cause: e.cause });
                }
                NetWhat::Duplicated => {}
                NetWhat::Delivered | NetWhat::Dropped(_) => {
                    let Some(m) = sent.get(id) else { continue };
                    let n = copies.entry(*id).or_default();
                    *n += 1;
                    let (delivered, reason) = match what {
                        NetWhat::Dropped(reason) => (false, *reason),
                        _ => (true, ""),
                    };
                    let (from, to, text, kind, sent) = (m.from.clone(), m.to.clone(), m.text.clone(), m.kind, m.sent);
                    let message = Kind::Message { id: *id, from, to, kind, text, sent, delivered, reason, copy: *n > 1 };
                    let mut it = item(message, delivered.then_some(e.cause), vec![m.entry, e.index]);
                    it.cause = m.cause;
                    items.push(it);
                }
            },
            Record::Store { store, began, wrote, .. } => {
                let Some(node) = &e.node else { continue };
                let text = e.record.to_string();
                let call = Kind::Store { node: node.to_string(), store: store_lane(store), began: *began, text, wrote: !wrote.is_empty() };
                items.push(item(call, None, vec![e.index]));
            }
            Record::Fault { event, text } => {
                let style = if *event == crate::harness::history::FaultEvent::Quiet { Style::Quiet } else { Style::Fault };
                for node in nodes.iter().filter(|n| mentions(text, n)) {
                    items.push(item(Kind::Mark { node: node.clone(), text: text.clone(), style }, None, vec![e.index]));
                }
            }
            Record::Observed(o) => {
                if let (Some(mark), Some(node)) = (o.mark(), &e.node) {
                    let mark = Kind::Mark { node: node.to_string(), text: o.to_string(), style: Style::Observed(mark) };
                    items.push(item(mark, None, vec![e.index]));
                }
            }
        }
    }
    items
}

/// Gives each item the delivery whose handler did it: the latest delivery to its node,
/// at or before it starts, whose handler ran under its cause. (A cause names a chain of
/// events, not one message: a user's retry of one request is handled under the cause of
/// the first try, so the cause alone does not tell the two spans apart.)
fn own(items: &mut [Item]) {
    let mut deliveries: BTreeMap<(u64, &str), Vec<(Duration, usize)>> = BTreeMap::new();
    let mut owners = vec![None; items.len()];
    for (i, item) in items.iter().enumerate() {
        if let (Kind::Message { to, .. }, Some(h)) = (&item.kind, item.handled) {
            deliveries.entry((h, to.as_str())).or_default().push((item.at, i));
        }
    }
    for (i, item) in items.iter().enumerate() {
        let node = match &item.kind {
            Kind::Message { from, .. } => from,
            Kind::Store { node, .. } | Kind::Mark { node, .. } => node,
            Kind::Violation(_) => continue,
        };
        let start = item.start().unwrap_or(item.at);
        if let Some(list) = deliveries.get(&(item.cause, node.as_str())) {
            owners[i] = list.iter().rev().find(|(at, d)| *at <= start && *d != i).map(|(_, d)| *d);
        }
    }
    for (item, owner) in items.iter_mut().zip(owners) {
        item.owner = owner;
    }
}

/// The text searched for a violation's records: a message's ends, kind and payload; a
/// store call's or a mark's text; a violation's words and records.
fn searched(item: &Item, violations: &[Violation]) -> String {
    match &item.kind {
        Kind::Message { text, from, to, kind, .. } => format!("{from} {to} {kind} {text}"),
        Kind::Store { text, .. } | Kind::Mark { text, .. } => text.clone(),
        Kind::Violation(k) => {
            let v = &violations[*k];
            format!("{}: {} {}", v.invariant, v.explanation, v.records.join(" "))
        }
    }
}

/// Whether the filter keeps an item (a violation is kept whatever node is asked for).
fn keep(item: &Item, violations: &[Violation], filter: &TraceFilter) -> bool {
    let at = item.at;
    if filter.from.is_some_and(|f| at < f) || filter.until.is_some_and(|u| at > u) {
        return false;
    }
    if let Some(node) = &filter.node {
        if !item.lanes().contains(&node) && !item.is_violation() {
            return false;
        }
    }
    let text = match &item.kind {
        Kind::Message { text, .. } | Kind::Store { text, .. } | Kind::Mark { text, .. } => text.clone(),
        Kind::Violation(k) => format!("{} {}", violations[*k].explanation, violations[*k].records.join(" ")),
    };
    filter.records.is_empty() || filter.records.iter().any(|r| mentions(&text, r))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
