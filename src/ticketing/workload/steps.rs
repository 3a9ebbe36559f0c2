//! Scripted steps: each waits for its virtual time, then sends its request (written in
//! full or with the `op` shorthand) or publishes its event, with `{NAME}` resolved to
//! the ids earlier steps were given. It records which request or event it was, so the
//! `scripted-expectations` invariant can judge what it expects.

use super::{Client, Known, Req};
use crate::ticketing::domain::Script;
use crate::ticketing::domain::{Event, Id, Obs, Subject};
use crate::ticketing::protocol::Method;
use crate::ticketing::scenario::{Op, Step, StepKind};
use crate::ticketing::script::{json_of, resolve, resolve_json};
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;

/// Scripted steps send a request again when it was refused (503: the instance picked
/// was down), which is always safe: the request was never processed.
const SCRIPTED_ATTEMPTS: u32 = 20;

/// A step with `until_known = true` sends its request again while the answer is 404 (the
/// service does not know the record yet: nothing was written) or 503, on beats
/// [`KNOWN_BEAT`] apart from its `at`, at most [`UNTIL_KNOWN_ATTEMPTS`] times (30 s):
/// steps that start together stay together.
const KNOWN_BEAT: Duration = Duration::from_millis(250);
const UNTIL_KNOWN_ATTEMPTS: u32 = 120;

/// The request of an `op` step.
fn op_request(op: Op, step: &Step, names: &dyn Fn(&str) -> Option<Id>) -> Result<Req, String> {
    let id = |name: &Option<String>| -> Result<String, String> {
        let name = name.as_deref().unwrap_or_default();
        names(name).map(|id| id.to_string()).ok_or_else(|| format!("{{{name}}} names no record yet"))
    };
    Ok(match op {
        Op::CreateTicket => Req::new(
            Method::Post,
            "/api/tickets",
            json!({ "title": step.title.clone().unwrap_or_default(), "price": step.price.unwrap_or(0) }),
        ),
        Op::UpdateTicket => Req::new(
            Method::Put,
            format!("/api/tickets/{}", id(&step.ticket)?),
            json!({ "title": step.title.clone().unwrap_or_default(), "price": step.price.unwrap_or(0) }),
        ),
        Op::ShowTicket => Req::new(Method::Get, format!("/api/tickets/{}", id(&step.ticket)?), Value::Null),
        Op::CreateOrder => Req::new(Method::Post, "/api/orders", json!({ "ticketId": id(&step.ticket)? })),
        Op::CancelOrder => Req::new(Method::Delete, format!("/api/orders/{}", id(&step.order)?), Value::Null),
        Op::PayOrder => Req::new(Method::Post, "/api/payments", json!({ "orderId": id(&step.order)?, "token": "tok_visa" })),
        Op::Deposit => Req::transaction("deposit", step.amount.unwrap_or(0)),
        Op::Withdraw => Req::transaction("withdraw", step.amount.unwrap_or(0)),
        crowd => return Err(format!("op {} is the random users' alone (validation refuses it in a step)", crowd.name())),
    })
}

/// The request a step sends, its names resolved.
fn request_of(step: &Step, names: &dyn Fn(&str) -> Option<Id>) -> Result<Req, String> {
    match step.kind() {
        Some(StepKind::Op(op)) => op_request(op, step, names),
        Some(StepKind::Request { method, path }) => {
            let method = Method::from_name(method).ok_or_else(|| format!("unknown method {method}"))?;
            let body = step.body.as_ref().map(json_of).unwrap_or(Value::Null);
            Ok(Req::new(method, resolve(path, names)?, resolve_json(&body, names)?))
        }
        _ => Err("not a request".into()),
    }
}

pub(crate) async fn run_step(client: &Client, known: &Mutex<Known>, index: usize, step: &Step) {
    crate::harness::sleep_until(step.at.0).await;
    let names = |name: &str| known.lock().unwrap().names.get(name).cloned();
    let label = step.label();
    if let Some(StepKind::Publish(subject)) = step.kind() {
        let event = event_of(index, subject, step, &names);
        return publish_step(client, index, label, event).await;
    }
    let req = match request_of(step, &names) {
        Ok(req) => req,
        Err(why) => return client.probe.observe(Obs::App(Script::StepSkipped { step: index, label, why })),
    };
    let user: Option<Id> = if step.signed_out { None } else { step.user.as_deref().map(Id::from) };
    let (mut number, mut response) = (0, None);
    let attempts = if step.until_known { UNTIL_KNOWN_ATTEMPTS } else { SCRIPTED_ATTEMPTS };
    for attempt in 1..=attempts {
        (number, response) = client.call(user.clone(), req.method, &req.path, req.body.clone()).await;
        let status = response.as_ref().map(|r| r.status);
        if step.until_known && matches!(status, Some(404 | 503)) {
            crate::harness::sleep_until(next_beat(step.at.0, crate::harness::now(), attempt)).await;
            continue;
        }
        if status == Some(503) {
            crate::harness::sleep(Duration::from_millis(500)).await;
            continue;
        }
        break;
    }
    client.probe.observe(Obs::App(Script::Step { step: index, label, req: number }));
    if let (Some(name), Some(r)) = (&step.name, &response) {
        if let Some(id) = r.id() {
            known.lock().unwrap().names.insert(name.clone(), id.clone());
            client.probe.observe(Obs::App(Script::Named { name: name.clone(), id, req: number }));
        }
    }
    // The script's records stay the script's: random users do not act on them (they
    // reserved order-race's CZQ before its three scripted requests could race for it).
}

/// The first beat ([`KNOWN_BEAT`] apart from `at`) after `now`, and after the
/// `attempt`-th: where an `until_known` step tries again.
fn next_beat(at: Duration, now: Duration, attempt: u32) -> Duration {
    let beats = (now.saturating_sub(at).as_micros() / KNOWN_BEAT.as_micros()) as u32 + 1;
    at + KNOWN_BEAT * beats.max(attempt)
}

/// A publish step's event, its names resolved. An event that decodes as its subject's
/// payload gets the identity a service would give it; another is named after the step.
fn event_of(index: usize, subject: &str, step: &Step, names: &dyn Fn(&str) -> Option<Id>) -> Result<std::sync::Arc<Event>, String> {
    let subject = Subject::from_name(subject).ok_or_else(|| format!("unknown subject {subject}"))?;
    let data = resolve_json(&step.data.as_ref().map(json_of).unwrap_or_else(|| json!({})), names)?;
    let event_id: Id = match crate::ticketing::domain::identity_of(subject, &data) {
        Some(id) => id.into(),
        None => format!("{subject}/injected-by-step-{index}").into(),
    };
    Ok(Event::raw(event_id, subject, data, crate::kit::origin::Origin::Step(index)))
}

/// A publish step: the event goes to the broker as if a service had published it.
async fn publish_step(client: &Client, index: usize, label: String, event: Result<std::sync::Arc<Event>, String>) {
    match event {
        Err(why) => client.probe.observe(Obs::App(Script::StepSkipped { step: index, label, why })),
        Ok(event) => {
            let event_id = event.event_id.clone();
            let accepted = client.inject(event).await;
            client.probe.observe(Obs::App(Script::Injected { step: index, label, event_id, accepted }));
        }
    }
}
