//! What crosses the network: the HTTP-like requests and responses between users and
//! services, the NATS-Streaming protocol between clients and the broker, and the
//! event payloads of the ticketing app (subjects of ticketing.md).

use crate::sim::fabric::Describe;
use std::sync::Arc;
use std::time::Duration;

pub type Id = Arc<str>;

/// Channels of the broker, one per event subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Subject {
    TicketCreated,
    TicketUpdated,
    OrderCreated,
    OrderCancelled,
    ExpirationComplete,
    PaymentCreated,
    TransactionCreated,
}

impl Subject {
    pub const ALL: [Subject; 7] = [
        Subject::TicketCreated,
        Subject::TicketUpdated,
        Subject::OrderCreated,
        Subject::OrderCancelled,
        Subject::ExpirationComplete,
        Subject::PaymentCreated,
        Subject::TransactionCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Subject::TicketCreated => "ticket:created",
            Subject::TicketUpdated => "ticket:updated",
            Subject::OrderCreated => "order:created",
            Subject::OrderCancelled => "order:cancelled",
            Subject::ExpirationComplete => "expiration:complete",
            Subject::PaymentCreated => "payment:created",
            Subject::TransactionCreated => "transaction:created",
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A durable queue group, named after the consuming service.
pub type Group = &'static str;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketEvent {
    pub id: Id,
    pub version: u64,
    pub title: String,
    pub price: i64,
    pub user_id: Id,
    pub order_id: Option<Id>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventData {
    TicketCreated(TicketEvent),
    TicketUpdated(TicketEvent),
    /// `version` is `None` when the `unversioned-order-events` flaw is on.
    OrderCreated {
        id: Id,
        version: Option<u64>,
        status: &'static str,
        user_id: Id,
        expires_at: Duration,
        ticket_id: Id,
        ticket_price: i64,
    },
    OrderCancelled {
        id: Id,
        version: Option<u64>,
        ticket_id: Id,
    },
    ExpirationComplete {
        order_id: Id,
    },
    PaymentCreated {
        id: Id,
        order_id: Id,
        stripe_id: Id,
    },
    TransactionCreated {
        id: Id,
        user_id: Id,
        kind: TransactionKind,
        amount: i64,
        number: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionKind {
    Deposit,
    Withdraw,
}

/// An event as published: an identity shared by all copies (publisher retries,
/// outbox re-sends, network duplicates) and the payload.
#[derive(Debug, PartialEq, Eq)]
pub struct Event {
    pub event_id: Id,
    pub data: EventData,
}

impl Event {
    /// Builds an event whose identity is derived from its subject, record and version.
    pub fn new(data: EventData) -> Arc<Event> {
        let (record, version): (&str, Option<u64>) = match &data {
            EventData::TicketCreated(t) | EventData::TicketUpdated(t) => (&t.id, Some(t.version)),
            EventData::OrderCreated { id, version, .. } | EventData::OrderCancelled { id, version, .. } => (id, *version),
            EventData::ExpirationComplete { order_id } => (order_id, None),
            EventData::PaymentCreated { id, .. } => (id, None),
            EventData::TransactionCreated { id, .. } => (id, None),
        };
        let subject = subject_of(&data);
        let event_id: Id = match version {
            Some(v) => format!("{subject}/{record}/v{v}").into(),
            None => format!("{subject}/{record}").into(),
        };
        Arc::new(Event { event_id, data })
    }

    pub fn subject(&self) -> Subject {
        subject_of(&self.data)
    }
}

fn subject_of(data: &EventData) -> Subject {
    match data {
        EventData::TicketCreated(_) => Subject::TicketCreated,
        EventData::TicketUpdated(_) => Subject::TicketUpdated,
        EventData::OrderCreated { .. } => Subject::OrderCreated,
        EventData::OrderCancelled { .. } => Subject::OrderCancelled,
        EventData::ExpirationComplete { .. } => Subject::ExpirationComplete,
        EventData::PaymentCreated { .. } => Subject::PaymentCreated,
        EventData::TransactionCreated { .. } => Subject::TransactionCreated,
    }
}

/// The routes of the app's HTTP API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    CreateTicket { title: String, price: i64 },
    ListTickets,
    ShowTicket { id: Id },
    UpdateTicket { id: Id, title: String, price: i64 },
    CreateOrder { ticket_id: Option<Id> },
    CancelOrder { id: Id },
    CreatePayment { order_id: Option<Id>, token: Option<String> },
    CreateTransaction { kind: TransactionKind, amount: i64 },
}

impl Route {
    pub fn text(&self) -> String {
        match self {
            Route::CreateTicket { title, price } => {
                format!("POST /api/tickets {{title:{title:?}, price:{price}}}")
            }
            Route::ListTickets => "GET /api/tickets".into(),
            Route::ShowTicket { id } => format!("GET /api/tickets/{id}"),
            Route::UpdateTicket { id, title, price } => {
                format!("PUT /api/tickets/{id} {{title:{title:?}, price:{price}}}")
            }
            Route::CreateOrder { ticket_id } => {
                format!("POST /api/orders {{ticketId:{ticket_id:?}}}")
            }
            Route::CancelOrder { id } => format!("DELETE /api/orders/{id}"),
            Route::CreatePayment { order_id, .. } => {
                format!("POST /api/payments {{orderId:{order_id:?}}}")
            }
            Route::CreateTransaction { kind, amount } => {
                format!("POST /api/transactions {{kind:{kind:?}, amount:{amount}}}")
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub id: u64,
    /// The signed-in user (the session cookie); `None` is an anonymous request.
    pub user: Option<Id>,
    pub route: Route,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub id: u64,
    pub status: u16,
    /// The id of the created or shown record, when there is one.
    pub record: Option<Id>,
    /// The error message, for 4xx responses.
    pub message: Option<String>,
}

impl HttpResponse {
    pub fn ok(id: u64, status: u16, record: Option<Id>) -> Self {
        HttpResponse { id, status, record, message: None }
    }
    pub fn error(id: u64, status: u16, message: &str) -> Self {
        HttpResponse { id, status, record: None, message: Some(message.to_string()) }
    }
}

pub type ClientId = Arc<str>;

/// Everything that crosses the fabric.
#[derive(Clone, Debug)]
pub enum Message {
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
        subject: Subject,
        group: Group,
    },
    Subscribed {
        subject: Subject,
        group: Group,
    },
    Publish {
        client: ClientId,
        publish_id: u64,
        event: Arc<Event>,
    },
    PublishAck {
        publish_id: u64,
        seq: u64,
        store_id: u64,
    },
    /// `store_id` names the broker store the sequence number belongs to.
    Deliver {
        subject: Subject,
        group: Group,
        seq: u64,
        event: Arc<Event>,
        redelivered: bool,
        store_id: u64,
    },
    /// Acks `seq` of the store that delivered it; an ack for another store is ignored.
    Ack {
        client: ClientId,
        subject: Subject,
        group: Group,
        seq: u64,
        store_id: u64,
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

impl Describe for Message {
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
            Message::Deliver { .. } => "deliver",
            Message::Ack { .. } => "ack",
            Message::Heartbeat { .. } => "heartbeat",
            Message::HeartbeatAck { .. } => "heartbeat-ack",
            Message::UnknownClient { .. } => "unknown-client",
        }
    }

    fn describe(&self) -> String {
        match self {
            Message::Request(r) => format!("#{} {}", r.id, r.route.text()),
            Message::Response(r) => match &r.message {
                Some(m) => format!("#{} {} {m:?}", r.id, r.status),
                None => format!("#{} {} {}", r.id, r.status, r.record.as_deref().unwrap_or("")),
            },
            Message::Connect { client } => format!("connect {client}"),
            Message::Connected { client, store_id } => {
                format!("connected {client} store {store_id}")
            }
            Message::Subscribe { client, subject, group } => format!("subscribe {client} {subject} {group}"),
            Message::Subscribed { subject, group } => format!("subscribed {subject} {group}"),
            Message::Publish { publish_id, event, .. } => format!("publish #{publish_id} {}", event.event_id),
            Message::PublishAck { publish_id, seq, store_id } => format!("publish-ack #{publish_id} seq {seq} store {store_id}"),
            Message::Deliver { subject, group, seq, event, redelivered, .. } => {
                format!("deliver {subject}#{seq} to {group} {}{}", event.event_id, if *redelivered { " (redelivery)" } else { "" })
            }
            Message::Ack { subject, group, seq, .. } => format!("ack {subject}#{seq} {group}"),
            Message::Heartbeat { client } => format!("heartbeat {client}"),
            Message::HeartbeatAck { known, store_id } => format!("heartbeat-ack known={known} store {store_id}"),
            Message::UnknownClient { store_id } => format!("unknown client (store {store_id})"),
        }
    }
}
