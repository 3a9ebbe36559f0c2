//! The ticketing app's domain, by job: the vocabulary here (subjects, order statuses,
//! transaction kinds) and the app's binding to the kit ([`TicketingApp`], [`Obs`],
//! [`Event`]); the event payloads as the app's JSON ([`payloads`]); the documents its
//! stores hold, as their change streams report them ([`documents`]); what the scripted
//! users report ([`script`]). Everything is re-exported here, so `domain::X` names it.

mod documents;
mod payloads;
mod script;

pub use documents::*;
pub use payloads::*;
pub use script::*;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Channels of the broker, one per event subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Subject {
    #[serde(rename = "ticket:created")]
    TicketCreated,
    #[serde(rename = "ticket:updated")]
    TicketUpdated,
    #[serde(rename = "order:created")]
    OrderCreated,
    #[serde(rename = "order:cancelled")]
    OrderCancelled,
    #[serde(rename = "expiration:complete")]
    ExpirationComplete,
    #[serde(rename = "payment:created")]
    PaymentCreated,
    #[serde(rename = "transaction:created")]
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

    pub fn from_name(name: &str) -> Option<Subject> {
        Subject::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    #[serde(rename = "created")]
    Created,
    #[serde(rename = "cancelled")]
    Cancelled,
    #[serde(rename = "awaiting:payment")]
    AwaitingPayment,
    #[serde(rename = "complete")]
    Complete,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "created",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::AwaitingPayment => "awaiting:payment",
            OrderStatus::Complete => "complete",
        }
    }

    pub fn from_name(name: &str) -> Option<OrderStatus> {
        [OrderStatus::Created, OrderStatus::Cancelled, OrderStatus::AwaitingPayment, OrderStatus::Complete]
            .into_iter()
            .find(|s| s.as_str() == name)
    }

    /// Holds its ticket: every status but cancelled.
    pub fn is_active(self) -> bool {
        self != OrderStatus::Cancelled
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionKind {
    Deposit,
    Withdraw,
}

/// A number as JavaScript writes it to JSON: `100`, not `100.0`, for a whole price.
pub fn js_number(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Value::from(n)
    }
}

pub(crate) fn as_js_number<S: serde::Serializer>(n: &f64, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&js_number(*n), s)
}

/// A virtual time as the app's JSON carries it (`expiresAt`): whole microseconds.
pub fn micros(t: Duration) -> u64 {
    t.as_micros() as u64
}

/// The ticketing app's types, as the kit is generic over them.
#[derive(Clone, Copy, Debug)]
pub struct TicketingApp;

impl crate::kit::App for TicketingApp {
    type Subject = Subject;
    type Doc = Snapshot;
    type Note = Script;
    type Config = crate::ticketing::common::AppConfig;

    fn unsent(doc: &Snapshot) -> Option<&Id> {
        match doc {
            Snapshot::Outbox(crate::kit::outbox::Sent { event_id, sent_to: None, .. }) => Some(event_id),
            _ => None,
        }
    }

    fn digest_doc(doc: &Snapshot, out: &mut crate::harness::history::Digest) {
        doc.digest(out);
    }
}

/// What the ticketing world reports to the history.
pub type Obs = crate::kit::obs::Obs<TicketingApp>;
pub use crate::kit::obs::Outcome;

/// A ticketing event.
pub type Event = crate::kit::Event<TicketingApp>;
pub use crate::kit::event::Payload;
pub use crate::kit::{Group, Id};

impl From<crate::kit::outbox::Sent> for Snapshot {
    fn from(sent: crate::kit::outbox::Sent) -> Snapshot {
        Snapshot::Outbox(sent)
    }
}
