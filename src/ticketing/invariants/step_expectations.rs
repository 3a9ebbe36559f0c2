//! What scripted steps and record expectations expect, judged on the history: the
//! response (status, message, body), the events a step caused to be published, whether
//! an event a step published was acked, and any record's state at a virtual time.
//! Part of `scripted-expectations`.

use super::{calls, Call, Input, Violation};
use crate::harness::fmt_time;
use crate::harness::history::Entry;
use crate::ticketing::domain::{Event, Id, Obs, Outcome};
use crate::ticketing::scenario::{RecordExpectation, StepExpect};
use crate::ticketing::script::{json_of, matches, resolve, resolve_json};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const NAME: &str = "scripted-expectations";
/// How long after a response (or a publish) events and acks count, unless `within` says.
const WITHIN: Duration = Duration::from_secs(1);

/// What the history says about the script's steps and events.
struct Facts<'a> {
    calls: BTreeMap<u64, Call<'a>>,
    names: BTreeMap<String, Id>,
    /// Step index to its request number, and when it was sent.
    requests: BTreeMap<usize, u64>,
    /// Step index to the event it published, and when.
    injected: BTreeMap<usize, (Id, Duration, bool)>,
    accepted: Vec<(Duration, &'a Id, &'a Arc<Event>)>,
    acked: Vec<(Duration, &'static str, &'a Id)>,
    handled: Vec<(&'static str, &'a Id, &'a Outcome)>,
    /// Steps that could not be sent (reported as such, not judged further).
    skipped: std::collections::BTreeSet<usize>,
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
                Some(Obs::Named { name, id, .. }) => {
                    facts.names.insert(name.clone(), id.clone());
                }
                Some(Obs::Step { step, req, .. }) => {
                    facts.requests.insert(*step, *req);
                }
                Some(Obs::Injected { step, event_id, accepted, .. }) => {
                    facts.injected.insert(*step, (event_id.clone(), e.time, *accepted));
                }
                Some(Obs::Accepted { event, client, .. }) => facts.accepted.push((e.time, client, event)),
                Some(Obs::Acked { group, event_id, .. }) => facts.acked.push((e.time, group, event_id)),
                Some(Obs::Handled { group, event_id, outcome, .. }) => facts.handled.push((group, event_id, outcome)),
                Some(Obs::StepSkipped { step, .. }) => {
                    facts.skipped.insert(*step);
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
}

/// Whether the events accepted from `publisher` (an instance name, or any service when
/// `None`) between `from` and `until` are what `expected` lists.
fn published_problems(
    facts: &Facts,
    expected: &[crate::ticketing::scenario::EventExpect],
    window: (Duration, Duration),
    publisher: Option<&str>,
    problems: &mut Vec<String>,
) {
    let from_publisher = |client: &Id| match publisher {
        Some(instance) => client.split('#').next() == Some(instance),
        None => client.as_ref() != crate::ticketing::workload::client::INJECTOR,
    };
    let events: Vec<&Arc<Event>> = facts
        .accepted
        .iter()
        .filter(|(t, client, _)| *t >= window.0 && *t <= window.1 && from_publisher(client))
        .map(|(_, _, e)| *e)
        .collect();
    let seen = || events.iter().map(|e| e.event_id.to_string()).collect::<Vec<_>>().join(", ");
    if expected.is_empty() && !events.is_empty() {
        problems.push(format!("published: expected no event, got {}", seen()));
    }
    for (i, want) in expected.iter().enumerate() {
        let data = match want.data.as_ref().map(|d| facts.resolved(d)).transpose() {
            Ok(data) => data,
            // A name never given (its step failed): not judged.
            Err(_) => return,
        };
        let found = events.iter().any(|e| {
            let mut mismatch = Vec::new();
            if let Some(data) = &data {
                matches(data, Some(&e.data), "data", &mut mismatch);
            }
            e.subject.as_str() == want.subject && mismatch.is_empty()
        });
        if !found {
            let shown = data.map(|d| format!(" with {d}")).unwrap_or_default();
            let got = if events.is_empty() { "none".to_string() } else { seen() };
            problems.push(format!("published[{i}]: expected a {}{shown}, got {got}", want.subject));
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
    // A name never given to a record (its step failed) leaves the body not judged.
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

/// The problems of a publish step's event: acked (or not) by each group within the window.
fn ack_problems(facts: &Facts, event_id: &Id, at: Duration, expect: &StepExpect, problems: &mut Vec<String>) {
    let until = at + expect.within.map_or(WITHIN, |w| w.0);
    let acked_by = |group: &str| facts.acked.iter().any(|(t, g, e)| *g == group && *e == event_id && *t <= until);
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
        if !acked_by(group) {
            problems.push(format!("expected {group} to ack {event_id} by {}, it did not ({})", fmt_time(until), why(group)));
        }
    }
    for group in &expect.not_acked_by {
        if acked_by(group) {
            problems.push(format!("expected {group} not to ack {event_id} by {}, it did", fmt_time(until)));
        }
    }
}

/// The problems of one step, against what it expects.
fn step_problems(facts: &Facts, index: usize, expect: &StepExpect) -> Vec<String> {
    let mut problems = Vec::new();
    let within = expect.within.map_or(WITHIN, |w| w.0);
    if let Some((event_id, at, accepted)) = facts.injected.get(&index) {
        if !accepted {
            problems.push(format!("the broker never acked the publish of {event_id}"));
        }
        ack_problems(facts, event_id, *at, expect, &mut problems);
        if let Some(published) = &expect.published {
            published_problems(facts, published, (*at, *at + within), None, &mut problems);
        }
        return problems;
    }
    let Some(call) = facts.requests.get(&index).and_then(|req| facts.calls.get(req)) else {
        return vec!["the step never sent its request".into()];
    };
    response_problems(facts, call, expect, &mut problems);
    if let Some(published) = &expect.published {
        let until = call.response.map_or(call.time, |(t, _, _)| t) + within;
        published_problems(facts, published, (call.time, until), Some(call.instance), &mut problems);
    }
    problems
}

// In this file a name that was never given to a record, because the step that would
// have created it failed, leaves what refers to it not judged.

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

fn record_problems(facts: &Facts, entries: &[Entry<Obs>], e: &RecordExpectation) -> Vec<String> {
    let id = match e.id.as_deref().map(|id| resolve(id, &|n| facts.name(n))).transpose() {
        Ok(id) => id,
        Err(_) => return vec![],
    };
    let find_where = match e.find_where.as_ref().map(|w| facts.resolved(w)).transpose() {
        Ok(w) => w,
        Err(_) => return vec![],
    };
    let found = record_at(entries, e, id.as_deref(), find_where.as_ref());
    let which = id.map_or_else(|| format!("where {}", find_where.unwrap_or(Value::Null)), |id| id.to_string());
    match (found, e.absent) {
        (None, true) => vec![],
        (Some(doc), true) => vec![format!("expected no {} {which} in {}, found {doc}", e.kind, e.store)],
        (None, false) => vec![format!("expected a {} {which} in {}, found none", e.kind, e.store)],
        (Some(doc), false) => {
            let mut problems = Vec::new();
            match e.fields.as_ref().map(|f| facts.resolved(f)).transpose() {
                Ok(Some(want)) => matches(&want, Some(&doc), e.kind.as_str(), &mut problems),
                Ok(None) => {}
                Err(_) => {}
            }
            problems
        }
    }
}

/// Every problem of the script: step expectations, record expectations.
pub fn check(input: &Input) -> Vec<Violation> {
    let facts = Facts::of(input.entries);
    // A step that could not be sent (a record it names was never created, say, when a
    // fault lost the step that creates it) is in the trace; what it expects is not
    // judged: the app broke no rule by it.
    let mut violations = Vec::new();
    for (index, step) in input.scenario.workload.steps.iter().enumerate() {
        let Some(expect) = step.expectations().filter(|_| !facts.skipped.contains(&index)) else { continue };
        let problems = step_problems(&facts, index, &expect);
        if !problems.is_empty() {
            let label = step.label();
            violations.push(Violation::new(NAME, step.at.0, vec![label.clone()], format!("step {label}: {}", problems.join("; "))));
        }
    }
    for e in &input.scenario.expect_record {
        let problems = record_problems(&facts, input.entries, e);
        if !problems.is_empty() {
            let label = if e.label.is_empty() { format!("{} {} at {}", e.store, e.kind, fmt_time(e.at.0)) } else { e.label.clone() };
            violations.push(Violation::new(NAME, e.at.0, vec![label.clone()], format!("{label}: {}", problems.join("; "))));
        }
    }
    violations
}
