//! What scripted steps and record expectations expect, judged on the history: the
//! response (status, message, body), the events a step caused to be published (followed
//! through each event's [`Origin`], not guessed from time and instance), whether an event
//! a step published was acked, and any record's state at a virtual time. Each is one
//! [`Judgement`]: passed, failed, or not judged (a record it names was never created).
//! Part of `scripted-expectations`.

use super::{calls, Call, Calls, Input};
use crate::harness::fmt_time;
use crate::harness::history::Entry;
use crate::harness::system::{Judgement, Verdict};
use crate::kit::origin::Origin;
use crate::ticketing::domain::Script;
use crate::ticketing::domain::{Event, Id, Obs, Outcome};
use crate::ticketing::scenario::{EventExpect, RecordExpectation, Step, StepExpect};
use crate::ticketing::script::{json_of, matches, references, resolve, resolve_json, strings};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How long after a response (or a publish) events count, unless `within` says.
pub const WITHIN: Duration = Duration::from_secs(1);

/// What the history says about the script's steps and events.
struct Facts<'a> {
    calls: Calls<'a>,
    names: BTreeMap<String, Id>,
    /// Step index to its request number, and when it was sent.
    requests: BTreeMap<usize, u64>,
    /// Step index to the event it published, and when.
    injected: BTreeMap<usize, (Id, Duration, bool)>,
    accepted: Vec<(Duration, &'a Arc<Event>)>,
    acked: Vec<(Duration, &'static str, &'a Id)>,
    handled: Vec<(&'static str, &'a Id, &'a Outcome)>,
    /// Steps that could not be sent, and why (reported as not judged).
    skipped: BTreeMap<usize, &'a str>,
}

impl<'a> Facts<'a> {
    fn of(entries: &'a [Entry<Obs>]) -> Facts<'a> {
        let mut facts = Facts {
            calls: calls(entries),
            names: BTreeMap::new(),
            requests: BTreeMap::new(),
            injected: BTreeMap::new(),
            accepted: Vec::new(),
            acked: Vec::new(),
            handled: Vec::new(),
            skipped: Default::default(),
        };
        for e in entries {
            match e.observed() {
                Some(Obs::App(Script::Named { name, id, .. })) => {
                    facts.names.insert(name.clone(), id.clone());
                }
                Some(Obs::App(Script::Step { step, req, .. })) => {
                    facts.requests.insert(*step, *req);
                }
                Some(Obs::App(Script::Injected { step, event_id, accepted, .. })) => {
                    facts.injected.insert(*step, (event_id.clone(), e.time, *accepted));
                }
                Some(Obs::Accepted { event, .. }) => facts.accepted.push((e.time, event)),
                Some(Obs::Acked { group, event_id, .. }) => facts.acked.push((e.time, group, event_id)),
                Some(Obs::Handled { group, event_id, outcome, .. }) => facts.handled.push((group, event_id, outcome)),
                Some(Obs::App(Script::StepSkipped { step, why, .. })) => {
                    facts.skipped.insert(*step, why);
                }
                _ => {}
            }
        }
        facts
    }

    fn name(&self, name: &str) -> Option<Id> {
        self.names.get(name).cloned()
    }

    fn resolved(&self, value: &toml::Value) -> Result<Value, String> {
        resolve_json(&json_of(value), &|n| self.name(n))
    }

    /// The first name `texts` refer to that the run never gave a record.
    fn missing<'t>(&self, texts: impl IntoIterator<Item = &'t str>) -> Option<String> {
        texts.into_iter().flat_map(references).find(|n| !self.names.contains_key(*n)).map(str::to_string)
    }

    /// Why `name` names no record: the step that was to create it, and what it got.
    fn unbound(&self, steps: &[Step], name: &str) -> String {
        let Some(i) = steps.iter().position(|s| s.name.as_deref() == Some(name)) else {
            return format!("names {{{name}}}, which no step creates");
        };
        let got = if let Some(why) = self.skipped.get(&i) {
            format!("was not sent ({why})")
        } else {
            match self.requests.get(&i).and_then(|r| self.calls.get(r)).map(|c| c.response) {
                None => "never sent its request".to_string(),
                Some(None) => "got no response (timed out)".to_string(),
                Some(Some((_, status, _))) => format!("got {status} and no id"),
            }
        };
        format!("names {{{name}}}, which step {i} ({}) was to create; it {got}", steps[i].label())
    }
}

/// The texts of a step's expectations that may name records.
fn expectation_texts(expect: &StepExpect) -> Vec<&str> {
    let mut texts: Vec<&str> = expect.body.iter().flat_map(strings).collect();
    texts.extend(expect.published.iter().flatten().filter_map(|e| e.data.as_ref()).flat_map(strings));
    texts
}

/// The texts of a step's request (or event) that may name records.
fn request_texts(step: &Step) -> Vec<String> {
    let fields = [step.request.clone(), step.ticket.as_ref().map(|t| format!("{{{t}}}")), step.order.as_ref().map(|o| format!("{{{o}}}"))];
    let mut texts: Vec<String> = fields.into_iter().flatten().collect();
    texts.extend([&step.body, &step.data].into_iter().flatten().flat_map(strings).map(str::to_string));
    texts
}

/// Whether the events caused by `origin` (a step's request, or the event it injected)
/// and accepted between `from` and `until` are what `expected` lists. A name not given
/// leaves the expectation not judged (see [`Facts::missing`]).
fn published_problems(facts: &Facts, expected: &[EventExpect], window: (Duration, Duration), origin: &Origin, problems: &mut Vec<String>) {
    let events: Vec<&Arc<Event>> =
        facts.accepted.iter().filter(|(t, e)| *t >= window.0 && *t <= window.1 && e.origin == *origin).map(|(_, e)| *e).collect();
    let seen = || {
        let mut ids: Vec<String> = events.iter().map(|e| e.event_id.to_string()).collect();
        ids.dedup();
        ids.join(", ")
    };
    if expected.is_empty() && !events.is_empty() {
        problems.push(format!("published: expected no event, got {}", seen()));
    }
    for (i, want) in expected.iter().enumerate() {
        let Ok(data) = want.data.as_ref().map(|d| facts.resolved(d)).transpose() else { continue };
        let found = events.iter().any(|e| {
            let mut mismatch = Vec::new();
            if let Some(data) = &data {
                matches(data, Some(e.data.json_value()), "data", &mut mismatch);
            }
            e.subject.as_str() == want.subject && mismatch.is_empty()
        });
        if !found {
            let shown = data.map(|d| format!(" with {d}")).unwrap_or_default();
            let got = if events.is_empty() { "none".to_string() } else { seen() };
            problems.push(format!("published[{i}]: expected a {}{shown} caused by {origin}, got {got}", want.subject));
        }
    }
}

/// The response's problems against `expect`.
fn response_problems(facts: &Facts, call: &Call, expect: &StepExpect, problems: &mut Vec<String>) {
    let Some((_, status, body)) = call.response else {
        if expect.status.is_some() || expect.message.is_some() || expect.body.is_some() || expect.body_len.is_some() {
            problems.push("expected a response, got none (timed out)".into());
        }
        return;
    };
    if let Some(want) = expect.status {
        if want != status {
            problems.push(format!("status: expected {want}, got {status}"));
        }
    }
    if let Some(want) = &expect.message {
        let got = body.get("errors").and_then(|e| e.get(0)).and_then(|e| e.get("message")).and_then(Value::as_str);
        if got != Some(want.as_str()) {
            problems.push(format!("message: expected {want:?}, got {}", got.map_or("none".to_string(), |g| format!("{g:?}"))));
        }
    }
    if let Some(Ok(want)) = expect.body.as_ref().map(|want| facts.resolved(want)) {
        matches(&want, Some(body), "body", problems);
    }
    if let Some(want) = expect.body_len {
        let got = body.as_array().map(Vec::len);
        if got != Some(want) {
            problems.push(format!("body: expected a list of {want}, got {}", got.map_or(format!("{body}"), |n| format!("{n} items"))));
        }
    }
}

/// The problems of a publish step's event: acked (or not) by each group within the
/// window (by default: [`WITHIN`] for acks, a redelivery window for `not_acked_by`).
fn ack_problems(facts: &Facts, event_id: &Id, at: Duration, expect: &StepExpect, redelivery: Duration, problems: &mut Vec<String>) {
    let until = |default: Duration| at + expect.within.map_or(default, |w| w.0);
    let acked_by = |group: &str, until: Duration| facts.acked.iter().any(|(t, g, e)| *g == group && *e == event_id && *t <= until);
    let why = |group: &str| {
        facts
            .handled
            .iter()
            .filter(|(g, e, _)| *g == group && *e == event_id)
            .map(|(_, _, o)| format!("{o:?}"))
            .next_back()
            .unwrap_or_else(|| "never handled".into())
    };
    for group in &expect.acked_by {
        if !acked_by(group, until(WITHIN)) {
            problems.push(format!("expected {group} to ack {event_id} by {}, it did not ({})", fmt_time(until(WITHIN)), why(group)));
        }
    }
    for group in &expect.not_acked_by {
        if acked_by(group, until(redelivery)) {
            problems.push(format!("expected {group} not to ack {event_id} by {}, it did", fmt_time(until(redelivery))));
        }
    }
}

/// The problems of one step that was sent, against what it expects.
fn step_problems(facts: &Facts, input: &Input, index: usize, expect: &StepExpect) -> Vec<String> {
    let mut problems = Vec::new();
    let within = expect.within.map_or(WITHIN, |w| w.0);
    if let Some((event_id, at, accepted)) = facts.injected.get(&index) {
        if !accepted {
            problems.push(format!("the broker never acked the publish of {event_id}"));
        }
        let redelivery = crate::ticketing::drain::redelivery_window(input.scenario);
        ack_problems(facts, event_id, *at, expect, redelivery, &mut problems);
        if let Some(published) = &expect.published {
            published_problems(facts, published, (*at, *at + within), &Origin::Event(event_id.clone()), &mut problems);
        }
        return problems;
    }
    let Some((req, call)) = facts.requests.get(&index).and_then(|req| Some((*req, facts.calls.get(req)?))) else {
        return vec!["the step never sent its request".into()];
    };
    response_problems(facts, call, expect, &mut problems);
    if let Some(published) = &expect.published {
        let until = call.response.map_or(call.time, |(t, _, _)| t) + within;
        published_problems(facts, published, (call.time, until), &Origin::Request(req), &mut problems);
    }
    problems
}

/// A step's verdict: failed if anything it could judge differs, else not judged if it
/// was not sent or names a record the run never created, else passed.
fn step_verdict(facts: &Facts, input: &Input, index: usize, step: &Step, expect: &StepExpect) -> Verdict {
    let steps = &input.scenario.workload.steps;
    if let Some(why) = facts.skipped.get(&index) {
        let reason = facts.missing(request_texts(step).iter().map(String::as_str)).map(|n| facts.unbound(steps, &n));
        return Verdict::NotJudged(reason.unwrap_or_else(|| format!("it was not sent: {why}")));
    }
    let problems = step_problems(facts, input, index, expect);
    if !problems.is_empty() {
        return Verdict::Failed(problems.join("; "));
    }
    match facts.missing(expectation_texts(expect)) {
        Some(name) => Verdict::NotJudged(facts.unbound(steps, &name)),
        None => Verdict::Passed,
    }
}

/// The latest document of `e.kind` in `e.store` at or before `e.at`, found by id or
/// by the fields of `where`.
fn record_at(entries: &[Entry<Obs>], e: &RecordExpectation, id: Option<&str>, find_where: Option<&Value>) -> Option<Value> {
    let hit = |doc: &crate::ticketing::domain::Snapshot| match (id, find_where) {
        (Some(id), _) => doc.key() == id,
        (None, Some(w)) => {
            let mut mismatch = Vec::new();
            matches(w, Some(&doc.fields()), "", &mut mismatch);
            mismatch.is_empty()
        }
        (None, None) => false,
    };
    super::latest_doc(entries, &e.store, &e.kind, e.at.0, hit).map(|doc| doc.fields())
}

/// A record expectation's verdict; not judged when it names a record never created.
fn record_verdict(facts: &Facts, input: &Input, e: &RecordExpectation) -> Verdict {
    let mut texts: Vec<&str> = e.id.iter().map(String::as_str).collect();
    texts.extend([&e.find_where, &e.fields].into_iter().flatten().flat_map(strings));
    if let Some(name) = facts.missing(texts) {
        return Verdict::NotJudged(facts.unbound(&input.scenario.workload.steps, &name));
    }
    let resolved = |v: &toml::Value| facts.resolved(v).expect("every name is given");
    let id = e.id.as_deref().map(|id| resolve(id, &|n| facts.name(n)).expect("every name is given"));
    let find_where = e.find_where.as_ref().map(resolved);
    let found = record_at(input.entries, e, id.as_deref(), find_where.as_ref());
    let which = id.map_or_else(|| format!("where {}", find_where.unwrap_or(Value::Null)), |id| id.to_string());
    let problems = match (found, e.absent) {
        (None, true) => vec![],
        (Some(doc), true) => vec![format!("expected no {} {which} in {}, found {doc}", e.kind, e.store)],
        (None, false) => vec![format!("expected a {} {which} in {}, found none", e.kind, e.store)],
        (Some(doc), false) => {
            let mut problems = Vec::new();
            if let Some(want) = e.fields.as_ref().map(resolved) {
                matches(&want, Some(&doc), e.kind.as_str(), &mut problems);
            }
            problems
        }
    };
    if problems.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed(problems.join("; "))
    }
}

/// Every step expectation and record expectation of the script, judged or not.
pub fn judgements(input: &Input) -> Vec<Judgement> {
    let facts = Facts::of(input.entries);
    let mut judgements = Vec::new();
    for (index, step) in input.scenario.workload.steps.iter().enumerate() {
        let Some(expect) = step.expectations() else { continue };
        let verdict = step_verdict(&facts, input, index, step, &expect);
        judgements.push(Judgement { label: format!("step {index} ({})", step.label()), time: step.at.0, verdict, optional: step.optional });
    }
    for e in &input.scenario.expect_record {
        let label = if e.label.is_empty() { format!("{} {} at {}", e.store, e.kind, fmt_time(e.at.0)) } else { e.label.clone() };
        let verdict = record_verdict(&facts, input, e);
        judgements.push(Judgement { label: format!("record expectation {label:?}"), time: e.at.0, verdict, optional: e.optional });
    }
    judgements
}
