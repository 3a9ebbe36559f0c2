//! Scripted steps and what they expect. A step is a request at a virtual time, written
//! in full (`request = "PUT /api/tickets/{CZQ}"` with any `body`, signed in as `user`
//! or `signed_out`) or with the `op` shorthand; or an event published into the broker
//! as if a service had (`publish = "ticket:updated"` with any `data`). Names given by
//! earlier steps are written `{NAME}`; `{unknown}` and `{unknown:x}` are ids no record
//! has. A record expectation checks any record of any store at a virtual time.

use super::{Dur, Op};
use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at: Dur,
    /// Signed in as this user. A request step without it needs `signed_out = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The request is sent with no session (routes that need one answer 401).
    #[serde(default, skip_serializing_if = "is_false")]
    pub signed_out: bool,
    /// The shorthand: an operation and its fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
    /// The ticket or order this step acts on, by the name a previous step gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// A request written in full: `"METHOD /path"`, the path may hold `{NAME}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The request's JSON body: any value, with any fields (present, missing, empty,
    /// of the wrong type); strings may hold `{NAME}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<toml::Value>,
    /// An event published into the broker as if a service had: its subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<String>,
    /// The published event's payload: any value, malformed or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<toml::Value>,
    /// Names the record this step creates (the response's `id`), for later steps and
    /// expectations; also names the step in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The status the response must have (shorthand for `expect.status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<StepExpect>,
    /// Send again while the service does not know the record named (404) or the
    /// instance is down (503), on 250 ms beats from `at` (at most 30 s): steps at one
    /// time stay together until their records are known (the three-request race).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub until_known: bool,
    /// What it expects may go unjudged (a record it names lost to a fault, say): counted
    /// as not judged, not a failure of the run.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

/// What a step expects; checked by the `scripted-expectations` invariant.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepExpect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The first error message (`errors[0].message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields the response body must have (others may be there); `"{any}"` matches any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<toml::Value>,
    /// How many items the response body (a list) has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_len: Option<usize>,
    /// The events the step caused to be published within `within`; `[]` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Vec<EventExpect>>,
    /// Queue groups that must ack the published event within `within`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acked_by: Vec<String>,
    /// Queue groups that must not have acked it within `within`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_acked_by: Vec<String>,
    /// How long after the response (or the publish) events and acks count; default 1s,
    /// and for `not_acked_by` one redelivery (see `drain::redelivery_window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Dur>,
}

/// An event a step must have caused.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EventExpect {
    pub subject: String,
    /// Fields its payload must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<toml::Value>,
}

/// The state of a record in a store at a virtual time: the latest write at or before
/// `at` of a document of `kind` in `store`, found by `id` or by the fields in `where`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordExpectation {
    pub at: Dur,
    #[serde(default)]
    pub label: String,
    /// The service whose store holds it.
    pub store: String,
    /// `ticket`, `order`, `ticket-replica`, `order-replica`, `payment`, `charge`,
    /// `transaction`, `account`, `job`, `seen`, `outbox`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub find_where: Option<toml::Value>,
    /// Fields it must have (camelCase, as the app's JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<toml::Value>,
    /// No such record exists at `at`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub absent: bool,
    /// It may go unjudged (the record it names never created): counted, not a failure.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

/// A JSON value as TOML; `null` (which TOML cannot hold) becomes the string
/// `"\u{0}null"`, which validation rejects by name.
fn toml_of(value: serde_json::Value) -> toml::Value {
    match value {
        serde_json::Value::Null => toml::Value::String(NULL.to_string()),
        serde_json::Value::Bool(b) => toml::Value::Boolean(b),
        serde_json::Value::Number(n) => n.as_i64().map_or_else(|| toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)), toml::Value::Integer),
        serde_json::Value::String(s) => toml::Value::String(s),
        serde_json::Value::Array(items) => toml::Value::Array(items.into_iter().map(toml_of).collect()),
        serde_json::Value::Object(fields) => toml::Value::Table(fields.into_iter().map(|(k, v)| (k, toml_of(v))).collect()),
    }
}

/// What a JSON `null` given to a step builder becomes (see [`Step::body`]).
pub const NULL: &str = "\u{0}null";

/// What a step does.
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind<'a> {
    Op(Op),
    Request { method: &'a str, path: &'a str },
    Publish(&'a str),
}

impl Step {
    /// The step's kind; `None` when it has none or more than one of `op`, `request`, `publish`.
    pub fn kind(&self) -> Option<StepKind<'_>> {
        match (&self.op, &self.request, &self.publish) {
            (Some(op), None, None) => Some(StepKind::Op(*op)),
            (None, Some(request), None) => {
                let (method, path) = request.trim().split_once(' ')?;
                Some(StepKind::Request { method, path: path.trim() })
            }
            (None, None, Some(subject)) => Some(StepKind::Publish(subject)),
            _ => None,
        }
    }

    /// The step's expectations, with `expect_status` folded in.
    pub fn expectations(&self) -> Option<StepExpect> {
        match (&self.expect, self.expect_status) {
            (None, None) => None,
            (expect, status) => {
                let mut e = expect.clone().unwrap_or_default();
                e.status = e.status.or(status);
                Some(e)
            }
        }
    }

    /// A step at virtual time `at`, to be completed with the builder methods below
    /// (a scenario built in Rust is checked by [`super::Scenario::check`]).
    pub fn at(at: std::time::Duration) -> Step {
        Step { at: Dur(at), ..Step::default() }
    }

    /// Signed in as `user`.
    pub fn user(mut self, user: &str) -> Step {
        self.user = Some(user.to_string());
        self
    }

    /// Sent with no session.
    pub fn signed_out(mut self) -> Step {
        self.signed_out = true;
        self
    }

    /// A request written in full: `"METHOD /path"`, the path may hold `{NAME}`.
    pub fn request(mut self, request: &str) -> Step {
        self.request = Some(request.to_string());
        self
    }

    /// An event published into the broker as if a service had, with this payload.
    pub fn publish(mut self, subject: &str, data: serde_json::Value) -> Step {
        self.publish = Some(subject.to_string());
        self.data = Some(toml_of(data));
        self
    }

    /// The request's JSON body (TOML has no null: a `null` anywhere in it is refused
    /// when the scenario is checked, as it would be in a file).
    pub fn body(mut self, body: serde_json::Value) -> Step {
        self.body = Some(toml_of(body));
        self
    }

    /// Names the record the step creates (and the step in reports).
    pub fn name(mut self, name: &str) -> Step {
        self.name = Some(name.to_string());
        self
    }

    /// What the step expects.
    pub fn expect(mut self, expect: StepExpect) -> Step {
        self.expect = Some(expect);
        self
    }

    /// How the step is shown in reports: its name, or its user, what it does and when.
    /// Written into one buffer (a run makes each step's label once, for its history).
    pub fn label(&self) -> String {
        let kind = self.kind();
        let mut label = String::with_capacity(64);
        if let Some(name) = &self.name {
            label.push_str(name);
            label.push_str(": ");
        }
        match (&kind, &self.user) {
            (Some(StepKind::Publish(_)), _) => {}
            (_, Some(user)) => {
                label.push_str(user);
                label.push(' ');
            }
            (_, None) => label.push_str("signed out "),
        }
        match kind {
            Some(StepKind::Op(op)) => {
                label.push_str(op.name());
                if let Some(target) = self.ticket.as_ref().or(self.order.as_ref()) {
                    label.push(' ');
                    label.push_str(target);
                }
            }
            Some(StepKind::Request { method, path }) => {
                label.push_str(method);
                label.push(' ');
                label.push_str(path);
            }
            Some(StepKind::Publish(subject)) => {
                label.push_str("publish ");
                label.push_str(subject);
            }
            None => label.push('?'),
        }
        label.push_str(" at ");
        label.push_str(&super::fmt_duration(self.at.0));
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The label as it was made with `format!`: the one buffer must give the same text.
    fn formatted(step: &Step) -> String {
        let what = match step.kind() {
            Some(StepKind::Op(op)) => {
                let target = step.ticket.as_ref().or(step.order.as_ref()).map(|t| format!(" {t}")).unwrap_or_default();
                format!("{}{target}", op.name())
            }
            Some(StepKind::Request { method, path }) => format!("{method} {path}"),
            Some(StepKind::Publish(subject)) => format!("publish {subject}"),
            None => "?".into(),
        };
        let who = match (step.kind(), &step.user) {
            (Some(StepKind::Publish(_)), _) => String::new(),
            (_, Some(user)) => format!("{user} "),
            (_, None) => "signed out ".into(),
        };
        let name = step.name.as_ref().map(|n| format!("{n}: ")).unwrap_or_default();
        format!("{name}{who}{what} at {}", super::super::fmt_duration(step.at.0))
    }

    #[test]
    fn a_label_is_the_text_format_made() {
        let s = |f: fn(&mut Step)| {
            let mut step = Step { at: Dur(std::time::Duration::from_millis(1500)), ..Default::default() };
            f(&mut step);
            step
        };
        let steps = [
            s(|_| ()),
            s(|st| st.op = Some(Op::CreateOrder)),
            s(|st| (st.op, st.user, st.ticket) = (Some(Op::CreateOrder), Some("u1".into()), Some("CZQ".into()))),
            s(|st| {
                (st.op, st.user, st.order, st.name) = (Some(Op::CancelOrder), Some("u2".into()), Some("O".into()), Some("cancel".into()))
            }),
            s(|st| (st.request, st.user) = (Some("PUT /api/tickets/{T}".into()), Some("u1".into()))),
            s(|st| (st.request, st.name) = (Some("GET  /api/orders ".into()), Some("list".into()))),
            s(|st| (st.publish, st.user, st.name) = (Some("ticket:updated".into()), Some("u1".into()), Some("inject".into()))),
            s(|st| (st.op, st.publish) = (Some(Op::ShowTicket), Some("ticket:created".into()))),
        ];
        for step in &steps {
            assert_eq!(step.label(), formatted(step), "{step:?}");
        }
        assert_eq!(steps[3].label(), "cancel: u2 cancel-order O at 1500ms");
    }
}
