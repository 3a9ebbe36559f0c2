//! What the kit's infrastructure reports to the history: requests and responses at
//! the ingress, what the broker accepted, delivered and had acked, each listener's
//! outcome, dead clients and lost broker stores; and the app's own notes.

use super::event::Event;
use super::{App, Group, Id};
use crate::harness::history::{Digest, Observation};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Why a listener did not ack a delivery, or that it did.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The handler succeeded: the client acks.
    Acked,
    /// The handler threw: no ack, the broker redelivers after ack wait.
    Failed(String),
    /// The payload could not be decoded as the listener's event type: no ack.
    Undecodable(String),
}

/// What an app's infrastructure (broker, clients, ingress) and its own code report.
#[derive(Clone, Debug)]
pub enum Obs<A: App> {
    /// A user's request, as sent (or refused at the ingress).
    Request {
        req: u64,
        user: Option<Id>,
        instance: String,
        method: &'static str,
        path: String,
        body: Arc<serde_json::Value>,
    },
    Response {
        req: u64,
        status: u16,
        body: Arc<serde_json::Value>,
    },
    Timeout {
        req: u64,
    },
    /// A publish was stored on its channel (and acknowledged); `client` published it.
    Accepted {
        subject: A::Subject,
        seq: u64,
        event: Arc<Event<A::Subject>>,
        store_id: u64,
        client: Id,
    },
    Delivered {
        subject: A::Subject,
        group: Group,
        seq: u64,
        client: Id,
        event_id: Id,
        redelivery: bool,
    },
    Acked {
        subject: A::Subject,
        group: Group,
        seq: u64,
        client: Id,
        event_id: Id,
    },
    /// A listener's outcome for a delivery, as its broker client saw it.
    Handled {
        subject: A::Subject,
        group: Group,
        seq: u64,
        event_id: Id,
        outcome: Outcome,
    },
    ClientDead {
        client: Id,
    },
    /// JetStream stored nothing: the publish's message id was within the duplicate window.
    Deduplicated {
        subject: A::Subject,
        seq: u64,
        event_id: Id,
        client: Id,
    },
    /// JetStream honoured a nak, term or in-progress for a pending delivery.
    Replied {
        subject: A::Subject,
        group: Group,
        seq: u64,
        client: Id,
        event_id: Id,
        reply: super::protocol::Reply,
    },
    /// JetStream parked a message at MaxDeliver: in the stream, never redelivered.
    Parked {
        subject: A::Subject,
        group: Group,
        seq: u64,
        event_id: Id,
        deliveries: u32,
    },
    /// The broker restarted on an empty memory store.
    StoreLost {
        store_id: u64,
    },
    /// What the app's own code reports.
    App(A::Note),
}

impl<A: App> Observation for Obs<A> {
    type Doc = A::Doc;

    /// The trace hash takes every field but JSON bodies and payloads (an event's id
    /// names its record and version, and a request's path and a response's status say
    /// what it was), hashed, not formatted; an app's note by its text.
    fn digest(&self, out: &mut Digest) {
        match self {
            Obs::Request { req, user, instance, method, path, .. } => (0u8, req, user, instance, method, path).hash(out),
            Obs::Response { req, status, .. } => (1u8, req, status).hash(out),
            Obs::Timeout { req } => (2u8, req).hash(out),
            Obs::Accepted { subject, seq, event, store_id, client } => (3u8, subject, seq, &event.event_id, store_id, client).hash(out),
            Obs::Delivered { subject, group, seq, client, event_id, redelivery } => {
                (4u8, subject, group, seq, client, event_id, redelivery).hash(out)
            }
            Obs::Acked { subject, group, seq, client, event_id } => (5u8, subject, group, seq, client, event_id).hash(out),
            Obs::Handled { subject, group, seq, event_id, outcome } => (6u8, subject, group, seq, event_id, outcome).hash(out),
            Obs::ClientDead { client } => (7u8, client).hash(out),
            Obs::Deduplicated { subject, seq, event_id, client } => (8u8, subject, seq, event_id, client).hash(out),
            Obs::Replied { subject, group, seq, client, event_id, reply } => (9u8, subject, group, seq, client, event_id, reply).hash(out),
            Obs::Parked { subject, group, seq, event_id, deliveries } => (10u8, subject, group, seq, event_id, deliveries).hash(out),
            Obs::StoreLost { store_id } => (11u8, store_id).hash(out),
            Obs::App(note) => {
                out.write_u8(12);
                out.text(note);
            }
        }
    }

    fn digest_doc(doc: &A::Doc, out: &mut Digest) {
        A::digest_doc(doc, out);
    }

    /// Diagrams mark a handler that did not ack (failed, or could not decode the event)
    /// on its instance's lane; an ack is the arrow its client sends.
    fn mark(&self) -> Option<crate::harness::history::Mark> {
        match self {
            Obs::Handled { outcome: Outcome::Failed(_) | Outcome::Undecodable(_), .. } => Some(crate::harness::history::Mark::Failure),
            _ => None,
        }
    }

    /// A nak or in-progress is not progress: a message nakked forever is still stuck.
    fn is_progress(&self) -> bool {
        matches!(
            self,
            Obs::Request { .. }
                | Obs::Response { .. }
                | Obs::Accepted { .. }
                | Obs::Acked { .. }
                | Obs::ClientDead { .. }
                | Obs::Replied { reply: super::protocol::Reply::Term, .. }
                | Obs::Parked { .. }
                | Obs::StoreLost { .. }
        )
    }
}

impl<A: App> fmt::Display for Obs<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Obs::Request { req, user, instance, method, path, body } => {
                write!(f, "request #{req} {} -> {instance}: {method} {path}", user.as_deref().unwrap_or("(signed out)"))?;
                if !body.is_null() {
                    write!(f, " {body}")?;
                }
                Ok(())
            }
            Obs::Response { req, status, body } => {
                write!(f, "response #{req} {status}")?;
                if !body.is_null() {
                    write!(f, " {body}")?;
                }
                Ok(())
            }
            Obs::Timeout { req } => write!(f, "timeout #{req} (no response)"),
            Obs::Accepted { subject, seq, event, client, .. } => {
                write!(f, "broker accepted {subject}#{seq} {} from {client}: {}", event.event_id, event.data)
            }
            Obs::Delivered { subject, group, seq, client, event_id, redelivery } => write!(
                f,
                "broker delivers {subject}#{seq} {event_id} to {group}/{client}{}",
                if *redelivery { crate::harness::fabric::REDELIVERY } else { "" }
            ),
            Obs::Acked { subject, group, seq, client, event_id } => {
                write!(f, "broker acked {subject}#{seq} {event_id} by {group}/{client}")
            }
            Obs::Handled { subject, group, seq, event_id, outcome } => match outcome {
                Outcome::Acked => write!(f, "{group} handled {subject}#{seq} {event_id}: ack"),
                Outcome::Failed(why) => write!(f, "{group} handler failed on {subject}#{seq} {event_id}: {why} (no ack)"),
                Outcome::Undecodable(why) => write!(f, "{group} cannot decode {subject}#{seq} {event_id}: {why} (no ack)"),
            },
            Obs::ClientDead { client } => write!(f, "broker declares client {client} dead (missed heartbeats)"),
            Obs::Deduplicated { subject, seq, event_id, client } => {
                write!(f, "broker dropped a duplicate publish of {event_id} from {client} (msg id seen: {subject}#{seq})")
            }
            Obs::Replied { subject, group, seq, client, event_id, reply } => match reply {
                super::protocol::Reply::Nak(delay) => {
                    write!(f, "broker got nak {subject}#{seq} {event_id} from {group}/{client}: redeliver in {delay:?}")
                }
                super::protocol::Reply::Term => {
                    write!(f, "broker got term {subject}#{seq} {event_id} from {group}/{client}: never redelivered")
                }
                _ => write!(f, "broker got {} {subject}#{seq} {event_id} from {group}/{client}", reply.name()),
            },
            Obs::Parked { subject, group, seq, event_id, deliveries } => {
                write!(
                    f,
                    "broker parked {subject}#{seq} {event_id} for {group} after {deliveries} deliveries (MaxDeliver): never redelivered"
                )
            }
            Obs::StoreLost { store_id } => write!(f, "broker memory store lost; new store {store_id}"),
            Obs::App(note) => write!(f, "{note}"),
        }
    }
}
