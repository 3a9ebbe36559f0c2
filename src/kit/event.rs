//! Events as published: a subject, an identity shared by all copies of one event
//! (publisher retries, outbox re-sends, network duplicates), the payload, and what
//! caused it; and [`Payload`], an app's typed payload of one subject.
//!
//! A payload travels as its publisher made it, and a listener of its type takes a copy
//! of it: the JSON that the app would put on the wire is made only when something shows
//! or compares it (a trace line, a script's expectation, [`Data`]'s `Deref`). A payload
//! put together by hand ([`Event::raw`]: a script's injected event, possibly malformed)
//! is JSON, and a listener decodes it as the app would, failures included.

use super::{Id, Subject};
use crate::kit::origin::Origin;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::any::Any;
use std::sync::{Arc, OnceLock};

/// A typed event payload: its subject, and the record and version it announces. Its
/// JSON must read back as itself (the payload tests check each of the app's).
pub trait Payload: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    type Subject: Subject;
    const SUBJECT: Self::Subject;
    /// The record the event is about and the version it carries, if any.
    fn identity(&self) -> (&str, Option<u64>);

    /// The identity an event of this payload is published with: `subject/record[/vN]`.
    fn event_id(&self) -> String {
        let (record, version) = self.identity();
        event_id(Self::SUBJECT, record, version)
    }
}

/// An event's identity, `subject/record[/vN]`, written into one buffer of about its
/// size (`format!` grows its buffer from nothing here, copying at each doubling).
pub fn event_id(subject: impl std::fmt::Display, record: &str, version: Option<u64>) -> String {
    use std::fmt::Write;
    let mut id = String::with_capacity(32 + record.len());
    let _ = write!(id, "{subject}");
    id.push('/');
    id.push_str(record);
    if let Some(version) = version {
        id.push_str("/v");
        id.push_str(itoa::Buffer::new().format(version));
    }
    id
}

/// An event as published: its subject, an identity shared by all its copies and its
/// payload.
#[derive(Debug, PartialEq)]
pub struct Event<S> {
    pub event_id: Id,
    pub subject: S,
    /// The payload; its JSON through `Deref` (`event.data["price"]`).
    pub data: Data,
    /// What caused it (simulation metadata, not on the wire): see [`crate::kit::origin`].
    pub origin: Origin,
}

/// An event's payload: the typed value its publisher made, or JSON put together by
/// hand; either way its JSON, made once when first asked for.
pub struct Data(Repr);

enum Repr {
    /// The publisher's value, what makes its JSON, and that JSON once made.
    Typed {
        payload: Box<AnyPayload>,
        json_of: fn(&AnyPayload) -> serde_json::Value,
        json: OnceLock<serde_json::Value>,
    },
    Json(serde_json::Value),
}

/// A typed payload of any app's.
type AnyPayload = dyn Any + Send + Sync;

impl Data {
    fn typed<P: Payload>(payload: P) -> Data {
        Data(Repr::Typed { payload: Box::new(payload), json_of: json_of::<P>, json: OnceLock::new() })
    }

    /// The payload as JSON, as the app would put it on the wire.
    pub fn json_value(&self) -> &serde_json::Value {
        match &self.0 {
            Repr::Typed { payload, json_of, json } => json.get_or_init(|| json_of(payload.as_ref())),
            Repr::Json(json) => json,
        }
    }

    /// The publisher's typed value, when it is a `P`.
    fn as_typed<P: Payload>(&self) -> Option<&P> {
        match &self.0 {
            Repr::Typed { payload, .. } => payload.downcast_ref(),
            Repr::Json(_) => None,
        }
    }
}

fn json_of<P: Payload>(payload: &AnyPayload) -> serde_json::Value {
    let payload = payload.downcast_ref::<P>().expect("made for a P");
    serde_json::to_value(payload).expect("payloads serialize")
}

impl std::ops::Deref for Data {
    type Target = serde_json::Value;

    fn deref(&self) -> &serde_json::Value {
        self.json_value()
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Data) -> bool {
        self.json_value() == other.json_value()
    }
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.json_value(), f)
    }
}

impl std::fmt::Display for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.json_value(), f)
    }
}

impl<S: Subject> Event<S> {
    /// An event of a typed payload, caused by what the handler being polled works on;
    /// its identity is `subject/record[/vN]`.
    pub fn new<P: Payload<Subject = S>>(payload: &P) -> Arc<Event<S>> {
        Event::caused_by(payload, crate::kit::origin::current())
    }

    /// An event of a typed payload with a known cause (a job run long after its event).
    pub fn caused_by<P: Payload<Subject = S>>(payload: &P, origin: Origin) -> Arc<Event<S>> {
        Arc::new(Event { event_id: payload.event_id().into(), subject: P::SUBJECT, data: Data::typed(payload.clone()), origin })
    }

    /// An event put together by hand (scripted injection), possibly malformed.
    pub fn raw(event_id: Id, subject: S, data: serde_json::Value, origin: Origin) -> Arc<Event<S>> {
        Arc::new(Event { event_id, subject, data: Data(Repr::Json(data)), origin })
    }

    /// Decodes the payload as `P`: a copy of the publisher's when it made a `P`, else
    /// read from the JSON; a payload of another shape is an error.
    pub fn decode<P: Payload<Subject = S>>(&self) -> Result<P, String> {
        if self.subject != P::SUBJECT {
            return Err(format!("a {} event handed to a {} listener", self.subject, P::SUBJECT));
        }
        if let Some(payload) = self.data.as_typed::<P>() {
            return Ok(payload.clone());
        }
        P::deserialize(self.data.json_value()).map_err(|e| format!("cannot decode {} payload: {e}", self.subject))
    }
}

/// The identity a JSON payload would be published with as a `P`, when it decodes.
pub fn identity_as<P: Payload>(data: &serde_json::Value) -> Option<String> {
    P::deserialize(data).ok().map(|p| p.event_id())
}

#[cfg(test)]
mod tests {
    use super::event_id;

    #[test]
    fn an_event_id_is_subject_record_and_version_when_it_has_one() {
        assert_eq!(event_id("ticket:updated", "T1", Some(0)), "ticket:updated/T1/v0");
        assert_eq!(event_id("ticket:updated", "T12", Some(u64::MAX)), format!("ticket:updated/T12/v{}", u64::MAX));
        assert_eq!(event_id("order:created", "O7", None), "order:created/O7");
        assert_eq!(event_id("payment:created", "", None), "payment:created/");
    }
}
