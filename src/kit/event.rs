//! Events as published: a subject, an identity shared by all copies of one event
//! (publisher retries, outbox re-sends, network duplicates), the JSON payload, and
//! what caused it; and [`Payload`], an app's typed payload of one subject.

use super::{Id, Subject};
use crate::kit::origin::Origin;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;

/// A typed event payload: its subject, and the record and version it announces.
pub trait Payload: Serialize + DeserializeOwned + Send + 'static {
    type Subject: Subject;
    const SUBJECT: Self::Subject;
    /// The record the event is about and the version it carries, if any.
    fn identity(&self) -> (&str, Option<u64>);

    /// The identity an event of this payload is published with: `subject/record[/vN]`.
    fn event_id(&self) -> String {
        let (record, version) = self.identity();
        match version {
            Some(v) => format!("{}/{record}/v{v}", Self::SUBJECT),
            None => format!("{}/{record}", Self::SUBJECT),
        }
    }
}

/// An event as published: its subject, an identity shared by all its copies and its
/// JSON payload.
#[derive(Debug, PartialEq)]
pub struct Event<S> {
    pub event_id: Id,
    pub subject: S,
    pub data: serde_json::Value,
    /// What caused it (simulation metadata, not on the wire): see [`crate::kit::origin`].
    pub origin: Origin,
}

impl<S: Subject> Event<S> {
    /// An event of a typed payload, caused by what the handler being polled works on;
    /// its identity is `subject/record[/vN]`.
    pub fn new<P: Payload<Subject = S>>(payload: &P) -> Arc<Event<S>> {
        Event::caused_by(payload, crate::kit::origin::current())
    }

    /// An event of a typed payload with a known cause (a job run long after its event).
    pub fn caused_by<P: Payload<Subject = S>>(payload: &P, origin: Origin) -> Arc<Event<S>> {
        let data = serde_json::to_value(payload).expect("payloads serialize");
        Arc::new(Event { event_id: payload.event_id().into(), subject: P::SUBJECT, data, origin })
    }

    /// An event put together by hand (scripted injection), possibly malformed.
    pub fn raw(event_id: Id, subject: S, data: serde_json::Value, origin: Origin) -> Arc<Event<S>> {
        Arc::new(Event { event_id, subject, data, origin })
    }

    /// Decodes the payload as `P`; a payload of another shape is an error.
    pub fn decode<P: Payload<Subject = S>>(&self) -> Result<P, String> {
        if self.subject != P::SUBJECT {
            return Err(format!("a {} event handed to a {} listener", self.subject, P::SUBJECT));
        }
        P::deserialize(&self.data).map_err(|e| format!("cannot decode {} payload: {e}", self.subject))
    }
}

/// The identity a JSON payload would be published with as a `P`, when it decodes.
pub fn identity_as<P: Payload>(data: &serde_json::Value) -> Option<String> {
    P::deserialize(data).ok().map(|p| p.event_id())
}
