//! What crosses the network: HTTP-like requests and responses between users and
//! services (JSON bodies, as the app's routes take and answer them), and the
//! NATS-Streaming protocol between broker clients and the broker.

use super::event::Event;
use super::{Group, Id, Subject};
use crate::harness::fabric::Describe;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    pub fn from_name(name: &str) -> Option<Method> {
        [Method::Get, Method::Post, Method::Put, Method::Delete].into_iter().find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

/// A request as a service receives it: who is signed in (the session cookie's user,
/// `None` when signed out), the method, the path and the JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    pub id: u64,
    pub user: Option<Id>,
    pub method: Method,
    pub path: String,
    /// Shared with the request's record in the history, when the ingress records it.
    pub body: Arc<Value>,
}

impl HttpRequest {
    /// The path's segments after `/api/`: `/api/tickets/T1` is `["tickets", "T1"]`.
    pub fn segments(&self) -> Vec<&str> {
        self.path.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).skip(1).collect()
    }

    /// A body field, when present and not null.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.body.get(name).filter(|v| !v.is_null())
    }
}

/// A response: a status and a JSON body (`{"errors": [{"message", "field"?}]}` for
/// errors, as the app's error handler answers).
#[derive(Clone, Debug, PartialEq)]
pub struct HttpResponse {
    pub id: u64,
    pub status: u16,
    /// Shared with the response's record in the history, when the ingress records it.
    pub body: Arc<Value>,
}

/// The most error bodies a thread keeps for reuse ([`HttpResponse::error`]).
const ERROR_BODIES_KEPT: usize = 64;

thread_local! {
    /// Error bodies by message, immutable once made (a response's body is never changed).
    static ERROR_BODIES: std::cell::RefCell<Vec<(Box<str>, Arc<Value>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl HttpResponse {
    pub fn ok(id: u64, status: u16, body: Value) -> Self {
        HttpResponse { id, status, body: Arc::new(body) }
    }

    /// An error with one message (BadRequestError, NotFoundError, NotAuthorizedError).
    /// The body is shared by every error with that message on this thread, for the
    /// first 64 messages the thread meets (most are fixed texts; a
    /// store error's names its record, so a long sweep may fill the list, and later
    /// messages are built each time): building it was seven allocations an error.
    pub fn error(id: u64, status: u16, message: &str) -> Self {
        let body = ERROR_BODIES.with(|kept| {
            let mut kept = kept.borrow_mut();
            if let Some((_, body)) = kept.iter().find(|(kept, _)| **kept == *message) {
                return body.clone();
            }
            let body = Arc::new(json!({ "errors": [{ "message": message }] }));
            if kept.len() < ERROR_BODIES_KEPT {
                kept.push((message.into(), body.clone()));
            }
            body
        });
        HttpResponse { id, status, body }
    }

    /// A RequestValidationError: 400 with one message per invalid field.
    pub fn invalid(id: u64, errors: &[(&str, &str)]) -> Self {
        let errors: Vec<Value> = errors.iter().map(|(field, message)| json!({ "message": message, "field": field })).collect();
        HttpResponse { id, status: 400, body: Arc::new(json!({ "errors": errors })) }
    }

    /// The id in the body (`{"id": ...}`), for a created or shown record.
    pub fn id(&self) -> Option<Id> {
        self.body.get("id").and_then(Value::as_str).map(Id::from)
    }

    /// The first error message, for 4xx responses.
    pub fn message(&self) -> Option<&str> {
        self.body.get("errors").and_then(|e| e.get(0)).and_then(|e| e.get("message")).and_then(Value::as_str)
    }
}

pub type ClientId = Arc<str>;

/// A consumer's answer to a delivery. NATS Streaming knows only `Ack`; JetStream also
/// `Nak` (redeliver, after a delay), `Term` (never redeliver) and `InProgress` (reset
/// the ack timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reply {
    Ack,
    Nak(std::time::Duration),
    Term,
    InProgress,
}

impl Reply {
    pub fn name(self) -> &'static str {
        match self {
            Reply::Ack => "ack",
            Reply::Nak(_) => "nak",
            Reply::Term => "term",
            Reply::InProgress => "in-progress",
        }
    }
}

/// Everything that crosses the fabric.
#[derive(Clone, Debug)]
pub enum Message<S> {
    Request(Arc<HttpRequest>),
    Response(Arc<HttpResponse>),
    Connect {
        client: ClientId,
    },
    Connected {
        client: ClientId,
        store_id: u64,
    },
    Subscribe {
        client: ClientId,
        subject: S,
        group: Group,
    },
    Subscribed {
        subject: S,
        group: Group,
    },
    /// `msg_id` (JetStream's `Nats-Msg-Id`) and `expect_last` (its
    /// `Nats-Expected-Last-Subject-Sequence`) are headers NATS Streaming ignores.
    Publish {
        client: ClientId,
        publish_id: u64,
        event: Arc<Event<S>>,
        msg_id: Option<Id>,
        expect_last: Option<u64>,
    },
    /// `duplicate`: JetStream found the message id within its duplicate window and
    /// stored nothing; `seq` is the first copy's.
    PublishAck {
        publish_id: u64,
        seq: u64,
        store_id: u64,
        duplicate: bool,
    },
    /// JetStream refused a publish (error 10071, "wrong last sequence").
    PublishRejected {
        publish_id: u64,
        code: u16,
        description: Arc<str>,
    },
    /// `store_id` names the broker store the sequence number belongs to.
    Deliver {
        subject: S,
        group: Group,
        seq: u64,
        event: Arc<Event<S>>,
        redelivered: bool,
        store_id: u64,
    },
    /// Acks (or, on JetStream, naks, terminates or extends) `seq` of the store that
    /// delivered it; a reply for another store is ignored.
    Ack {
        client: ClientId,
        subject: S,
        group: Group,
        seq: u64,
        store_id: u64,
        reply: Reply,
    },
    Heartbeat {
        client: ClientId,
    },
    HeartbeatAck {
        known: bool,
        store_id: u64,
    },
    /// The broker's answer to a subscribe or publish from a client it does not know.
    UnknownClient {
        store_id: u64,
    },
}

impl<S: Subject> Describe for Message<S> {
    fn kind(&self) -> &'static str {
        match self {
            Message::Request(_) => "request",
            Message::Response(_) => "response",
            Message::Connect { .. } => "connect",
            Message::Connected { .. } => "connected",
            Message::Subscribe { .. } => "subscribe",
            Message::Subscribed { .. } => "subscribed",
            Message::Publish { .. } => "publish",
            Message::PublishAck { .. } => "publish-ack",
            Message::PublishRejected { .. } => "publish-rejected",
            Message::Deliver { .. } => "deliver",
            Message::Ack { reply, .. } => reply.name(),
            Message::Heartbeat { .. } => "heartbeat",
            Message::HeartbeatAck { .. } => "heartbeat-ack",
            Message::UnknownClient { .. } => "unknown-client",
        }
    }

    fn describe(&self) -> String {
        match self {
            Message::Request(r) => {
                let body = if r.body.is_null() { String::new() } else { format!(" {}", r.body) };
                format!("#{} {} {}{body}", r.id, r.method.as_str(), r.path)
            }
            Message::Response(r) => match r.message() {
                Some(m) => format!("#{} {} {m:?}", r.id, r.status),
                None => format!("#{} {} {}", r.id, r.status, r.id().as_deref().unwrap_or("")),
            },
            Message::Connect { client } => format!("connect {client}"),
            Message::Connected { client, store_id } => format!("connected {client} store {store_id}"),
            Message::Subscribe { client, subject, group } => format!("subscribe {client} {subject} {group}"),
            Message::Subscribed { subject, group } => format!("subscribed {subject} {group}"),
            Message::Publish { publish_id, event, msg_id, expect_last, .. } => {
                let mut text = format!("publish #{publish_id} {}", event.event_id);
                if let Some(id) = msg_id {
                    text += &format!(" msg-id {id}");
                }
                if let Some(seq) = expect_last {
                    text += &format!(" expect-last {seq}");
                }
                text
            }
            Message::PublishAck { publish_id, seq, store_id, duplicate } => {
                format!("publish-ack #{publish_id} seq {seq} store {store_id}{}", if *duplicate { " duplicate" } else { "" })
            }
            Message::PublishRejected { publish_id, code, description } => format!("publish-rejected #{publish_id} {code} {description}"),
            Message::Deliver { subject, group, seq, event, redelivered, .. } => {
                format!(
                    "deliver {subject}#{seq} to {group} {}{}",
                    event.event_id,
                    if *redelivered { crate::harness::fabric::REDELIVERY } else { "" }
                )
            }
            Message::Ack { subject, group, seq, reply, .. } => match reply {
                Reply::Nak(delay) if !delay.is_zero() => format!("nak {subject}#{seq} {group} delay {delay:?}"),
                _ => format!("{} {subject}#{seq} {group}", reply.name()),
            },
            Message::Heartbeat { client } => format!("heartbeat {client}"),
            Message::HeartbeatAck { known, store_id } => format!("heartbeat-ack known={known} store {store_id}"),
            Message::UnknownClient { store_id } => format!("unknown client (store {store_id})"),
        }
    }

    /// What the message is, for keying the decisions about it: its kind and the records
    /// it carries, never a request, publish or sequence number (those are positional:
    /// the sender's cause and the occurrence tell copies apart).
    fn identity(&self) -> u64 {
        use crate::harness::choices::key;
        match self {
            Message::Request(r) => key(&("request", r.method)),
            Message::Response(_) => key(&"response"),
            Message::Connect { client } => key(&("connect", client)),
            Message::Connected { client, .. } => key(&("connected", client)),
            Message::Subscribe { client, subject, group } => key(&("subscribe", client, subject, group)),
            Message::Subscribed { subject, group } => key(&("subscribed", subject, group)),
            Message::Publish { event, .. } => key(&("publish", &event.event_id)),
            Message::PublishAck { .. } => key(&"publish-ack"),
            Message::PublishRejected { .. } => key(&"publish-rejected"),
            Message::Deliver { subject, group, event, redelivered, .. } => key(&("deliver", subject, group, &event.event_id, redelivered)),
            Message::Ack { subject, group, reply: Reply::Ack, .. } => key(&("ack", subject, group)),
            Message::Ack { subject, group, reply, .. } => key(&(reply.name(), subject, group)),
            Message::Heartbeat { client } => key(&("heartbeat", client)),
            Message::HeartbeatAck { known, .. } => key(&("heartbeat-ack", known)),
            Message::UnknownClient { .. } => key(&"unknown-client"),
        }
    }

    /// A session's setup and upkeep: connects, subscribes, heartbeats and their answers.
    fn housekeeping(&self) -> bool {
        matches!(
            self,
            Message::Heartbeat { .. }
                | Message::HeartbeatAck { .. }
                | Message::Connect { .. }
                | Message::Connected { .. }
                | Message::Subscribe { .. }
                | Message::Subscribed { .. }
        )
    }

    /// What part of the receiver a message touches (schedule mode's independence): a
    /// request or response, its request's waiter and handler; a delivery, its handler; at
    /// the NATS Streaming broker, a subscribe, publish or ack only its subject's channel
    /// and groups. A JetStream publish (it has a message id) touches the one stream and
    /// its duplicate window, and a connect or an answer about the session the whole node.
    fn partition(&self) -> Option<u64> {
        use crate::harness::choices::key;
        match self {
            Message::Request(r) => Some(key(&("request", r.id))),
            Message::Response(r) => Some(key(&("request", r.id))),
            Message::Subscribe { subject, .. } | Message::Ack { subject, .. } => Some(key(&("subject", subject))),
            Message::Publish { event, msg_id: None, .. } => Some(key(&("subject", &event.subject))),
            Message::Deliver { subject, seq, .. } => Some(key(&("deliver", subject, seq))),
            Message::PublishAck { publish_id, .. } | Message::PublishRejected { publish_id, .. } => Some(key(&("publish", publish_id))),
            Message::Subscribed { subject, group } => Some(key(&("subscribed", subject, group))),
            Message::Publish { .. }
            | Message::Connect { .. }
            | Message::Connected { .. }
            | Message::UnknownClient { .. }
            | Message::Heartbeat { .. }
            | Message::HeartbeatAck { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_s_body_is_its_message_and_is_shared_by_its_repeats() {
        // The thread may have run other tests, whose messages the cache may hold.
        ERROR_BODIES.with(|kept| kept.borrow_mut().clear());
        let first = HttpResponse::error(1, 404, "Not Found");
        let again = HttpResponse::error(2, 404, "Not Found");
        assert_eq!(*first.body, json!({ "errors": [{ "message": "Not Found" }] }));
        assert!(Arc::ptr_eq(&first.body, &again.body), "one body for one message");
        assert_eq!((again.id, again.message()), (2, Some("Not Found")));
        let other = HttpResponse::error(3, 400, "Ticket is reserved");
        assert_eq!(other.message(), Some("Ticket is reserved"));
        // Past the kept bodies' limit a new message's body is still its own.
        for n in 0..ERROR_BODIES_KEPT + 3 {
            let message = format!("message {n}");
            assert_eq!(HttpResponse::error(4, 400, &message).message(), Some(message.as_str()));
        }
        assert_eq!(HttpResponse::error(5, 404, "Not Found").message(), Some("Not Found"));
        ERROR_BODIES.with(|kept| assert!(kept.borrow().len() <= ERROR_BODIES_KEPT));
    }
}
