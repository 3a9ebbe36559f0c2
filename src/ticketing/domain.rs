//! The ticketing app's domain: ids, subjects, order statuses, the event payloads as the
//! app's JSON, the documents its stores hold (as their change streams report them), and
//! what its infrastructure reports to the history ([`Obs`]).

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionKind {
    Deposit,
    Withdraw,
}

/// A virtual time as the app's JSON carries it (`expiresAt`): whole microseconds.
pub fn micros(t: Duration) -> u64 {
    t.as_micros() as u64
}

// ---- Event payloads, as the app publishes them (JSON, camelCase) ----

macro_rules! payload {
    ($ty:ty, $subject:expr, |$p:ident| $identity:expr) => {
        impl Payload for $ty {
            type Subject = Subject;
            const SUBJECT: Subject = $subject;
            fn identity(&self) -> (&str, Option<u64>) {
                let $p = self;
                $identity
            }
        }
    };
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketCreated {
    pub id: Id,
    pub version: u64,
    pub title: String,
    #[serde(serialize_with = "as_js_number")]
    pub price: f64,
    pub user_id: Id,
}
payload!(TicketCreated, Subject::TicketCreated, |p| (&p.id, Some(p.version)));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketUpdated {
    pub id: Id,
    pub version: u64,
    pub title: String,
    #[serde(serialize_with = "as_js_number")]
    pub price: f64,
    pub user_id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Id>,
}
payload!(TicketUpdated, Subject::TicketUpdated, |p| (&p.id, Some(p.version)));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketRef {
    pub id: Id,
    #[serde(serialize_with = "as_js_number")]
    pub price: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderCreated {
    pub id: Id,
    /// Absent when the `unversioned-order-events` flaw is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    pub status: OrderStatus,
    pub user_id: Id,
    /// Virtual microseconds; on the wire an ISO-8601 string as the app sends it
    /// (`expiration.toISOString()`), the run starting at 1970-01-01T00:00:00Z. A number
    /// (virtual microseconds) is read too (see [`iso_time`]).
    #[serde(with = "iso_time")]
    pub expires_at: u64,
    pub ticket: TicketRef,
}
payload!(OrderCreated, Subject::OrderCreated, |p| (&p.id, p.version));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketId {
    pub id: Id,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderCancelled {
    pub id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    pub ticket: TicketId,
}
payload!(OrderCancelled, Subject::OrderCancelled, |p| (&p.id, p.version));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpirationComplete {
    pub order_id: Id,
}
payload!(ExpirationComplete, Subject::ExpirationComplete, |p| (&p.order_id, None));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentCreated {
    pub id: Id,
    pub order_id: Id,
    pub stripe_id: Id,
}
payload!(PaymentCreated, Subject::PaymentCreated, |p| (&p.id, None));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransactionCreated {
    pub id: Id,
    pub user_id: Id,
    pub kind: TransactionKind,
    pub amount: i64,
    pub number: u64,
}
payload!(TransactionCreated, Subject::TransactionCreated, |p| (&p.id, None));

/// A virtual time on the wire as ISO-8601 (RFC 3339, microseconds, UTC), the run's
/// start being the Unix epoch: `3s` is `"1970-01-01T00:00:03.000000Z"`. Read back from
/// that form (any RFC 3339 time at or after the epoch) or from a number of virtual
/// microseconds, as scripts written before it did.
pub mod iso_time {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::{Duration, SystemTime};

    pub fn format(micros: u64) -> String {
        humantime::format_rfc3339_micros(SystemTime::UNIX_EPOCH + Duration::from_micros(micros)).to_string()
    }

    pub fn parse(text: &str) -> Result<u64, String> {
        let time = humantime::parse_rfc3339(text)
            .map_err(|e| format!("{text:?} is not an ISO-8601 time ({e}); write e.g. \"1970-01-01T00:00:03.000Z\" (3s into the run)"))?;
        let since = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| format!("{text:?} is before the run's start (1970-01-01T00:00:00Z)"))?;
        u64::try_from(since.as_micros()).map_err(|_| format!("{text:?} is too far in the future"))
    }

    pub fn serialize<S: Serializer>(micros: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*micros))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Micros(u64),
        Iso(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match Written::deserialize(d)? {
            Written::Micros(n) => Ok(n),
            Written::Iso(text) => parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

/// The identity a payload of `subject` would be published with, when it decodes.
pub fn identity_of(subject: Subject, data: &serde_json::Value) -> Option<String> {
    use crate::kit::event::identity_as;
    match subject {
        Subject::TicketCreated => identity_as::<TicketCreated>(data),
        Subject::TicketUpdated => identity_as::<TicketUpdated>(data),
        Subject::OrderCreated => identity_as::<OrderCreated>(data),
        Subject::OrderCancelled => identity_as::<OrderCancelled>(data),
        Subject::ExpirationComplete => identity_as::<ExpirationComplete>(data),
        Subject::PaymentCreated => identity_as::<PaymentCreated>(data),
        Subject::TransactionCreated => identity_as::<TransactionCreated>(data),
    }
}

// ---- Documents, as the stores' change streams report them ----

/// A virtual time as a document shows it: whole microseconds, like `expiresAt`.
/// A number as JavaScript writes it to JSON: `100`, not `100.0`, for a whole price.
pub fn js_number(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Value::from(n)
    }
}

fn as_js_number<S: serde::Serializer>(n: &f64, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&js_number(*n), s)
}

fn as_micros<S: serde::Serializer>(t: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(micros(*t))
}

/// A record as written to a service's store. As JSON (what record expectations
/// compare), its fields are camelCase and `document` names its kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "document", rename_all = "kebab-case", rename_all_fields = "camelCase")]
pub enum Snapshot {
    Ticket {
        id: Id,
        version: u64,
        title: String,
        #[serde(serialize_with = "as_js_number")]
        price: f64,
        user_id: Id,
        order_id: Option<Id>,
    },
    Order {
        id: Id,
        version: u64,
        status: OrderStatus,
        user_id: Id,
        ticket_id: Id,
        #[serde(serialize_with = "as_js_number")]
        price: f64,
        #[serde(serialize_with = "as_micros")]
        expires_at: Duration,
    },
    /// The orders service's copy of a ticket.
    TicketReplica {
        id: Id,
        version: u64,
        title: String,
        #[serde(serialize_with = "as_js_number")]
        price: f64,
    },
    /// The payments service's copy of an order.
    OrderReplica {
        id: Id,
        version: u64,
        status: OrderStatus,
        #[serde(serialize_with = "as_js_number")]
        price: f64,
        user_id: Id,
        #[serde(serialize_with = "as_micros")]
        expires_at: Duration,
    },
    /// A payment, with the simulated provider's charge; `refunded` once paid back.
    Payment {
        id: Id,
        order_id: Id,
        stripe_id: Id,
        amount: i64,
        refunded: bool,
    },
    /// A charge the simulated payment provider made (cents, currency, source token).
    Charge {
        id: Id,
        amount: i64,
        currency: String,
        source: String,
    },
    Transaction {
        id: Id,
        user_id: Id,
        kind: TransactionKind,
        amount: i64,
        number: u64,
    },
    Account {
        user_id: Id,
        balance: i64,
        last_number: u64,
    },
    /// An expiration job of the delay queue.
    Job {
        id: u64,
        order_id: Id,
        #[serde(serialize_with = "as_micros")]
        due: Duration,
        state: String,
    },
    /// Which events of an order a hardened listener has applied (its inbox).
    Seen {
        order_id: Id,
        created: bool,
        cancelled: bool,
    },
    /// An outbox entry: the event it holds and the broker store that acknowledged it.
    Outbox(crate::kit::outbox::Sent),
}

impl Snapshot {
    /// The kinds of documents, as record expectations name them.
    pub const KINDS: [&'static str; 11] =
        ["ticket", "order", "ticket-replica", "order-replica", "payment", "charge", "transaction", "account", "job", "seen", "outbox"];

    /// The document as JSON: camelCase fields, and `document`, its kind.
    pub fn fields(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The kind of document, as record expectations name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Snapshot::Ticket { .. } => "ticket",
            Snapshot::Order { .. } => "order",
            Snapshot::TicketReplica { .. } => "ticket-replica",
            Snapshot::OrderReplica { .. } => "order-replica",
            Snapshot::Payment { .. } => "payment",
            Snapshot::Charge { .. } => "charge",
            Snapshot::Transaction { .. } => "transaction",
            Snapshot::Account { .. } => "account",
            Snapshot::Job { .. } => "job",
            Snapshot::Seen { .. } => "seen",
            Snapshot::Outbox { .. } => "outbox",
        }
    }

    /// The record's own id (an account's user; a job's order).
    pub fn key(&self) -> &str {
        match self {
            Snapshot::Ticket { id, .. }
            | Snapshot::Order { id, .. }
            | Snapshot::TicketReplica { id, .. }
            | Snapshot::OrderReplica { id, .. }
            | Snapshot::Payment { id, .. }
            | Snapshot::Charge { id, .. }
            | Snapshot::Transaction { id, .. }
            | Snapshot::Outbox(crate::kit::outbox::Sent { event_id: id, .. }) => id,
            Snapshot::Account { user_id, .. } => user_id,
            Snapshot::Job { order_id, .. } | Snapshot::Seen { order_id, .. } => order_id,
        }
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Snapshot::Ticket { id, version, title, price, order_id, .. } => {
                write!(f, "ticket {id} v{version} {title:?} {price} orderId={}", order_id.as_deref().unwrap_or("-"))
            }
            Snapshot::Order { id, version, status, ticket_id, price, user_id, expires_at } => {
                write!(
                    f,
                    "order {id} v{version} {} ticket={ticket_id} price {price} user {user_id} expires {}",
                    status.as_str(),
                    crate::harness::fmt_time(*expires_at)
                )
            }
            Snapshot::TicketReplica { id, version, title, price } => write!(f, "replica ticket {id} v{version} {title:?} {price}"),
            Snapshot::OrderReplica { id, version, status, price, user_id, expires_at } => {
                write!(
                    f,
                    "replica order {id} v{version} {} price {price} user {user_id} expires {}",
                    status.as_str(),
                    crate::harness::fmt_time(*expires_at)
                )
            }
            Snapshot::Payment { id, order_id, stripe_id, amount, refunded } => {
                write!(f, "payment {id} for {order_id}: charge {stripe_id} {amount} cents{}", if *refunded { ", refunded" } else { "" })
            }
            Snapshot::Charge { id, amount, currency, source } => write!(f, "charge {id}: {amount} {currency} from {source}"),
            Snapshot::Transaction { id, user_id, kind, amount, number } => {
                write!(f, "transaction {id} #{number} {user_id} {kind:?} {amount}")
            }
            Snapshot::Account { user_id, balance, last_number } => {
                write!(f, "account {user_id} balance {balance} lastNumber {last_number}")
            }
            Snapshot::Job { id, order_id, due, state } => {
                write!(f, "job {id} expire {order_id} at {} {state}", crate::harness::fmt_time(*due))
            }
            Snapshot::Seen { order_id, created, cancelled } => write!(f, "inbox {order_id} created={created} cancelled={cancelled}"),
            Snapshot::Outbox(sent) => write!(f, "{sent}"),
        }
    }
}

// ---- What the app's own code reports (beyond the kit's observations) ----

/// What the scripted users report: the kit's [`crate::kit::obs::Obs::App`] carries it.
#[derive(Clone, Debug)]
pub enum Script {
    /// A scripted step named the record its request created.
    Named { name: String, id: Id, req: u64 },
    /// A scripted step sent its request (the last attempt's number).
    Step { step: usize, label: String, req: u64 },
    /// A scripted step published its event; `accepted` once the broker acked it.
    Injected { step: usize, label: String, event_id: Id, accepted: bool },
    /// A scripted step could not be sent (a name it refers to was never given).
    StepSkipped { step: usize, label: String, why: String },
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Script::Named { name, id, req } => write!(f, "script: {name} = {id} (request #{req})"),
            Script::Step { step, label, req } => write!(f, "script: step {step} ({label}) is request #{req}"),
            Script::Injected { step, label, event_id, accepted } => {
                write!(
                    f,
                    "script: step {step} ({label}) published {event_id}{}",
                    if *accepted { "" } else { " (the broker never acked it)" }
                )
            }
            Script::StepSkipped { step, label, why } => write!(f, "script: step {step} ({label}) not sent: {why}"),
        }
    }
}

// ---- The app on the kit ----

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_as_json_has_camel_case_fields_and_its_kind() {
        let doc = Snapshot::OrderReplica {
            id: "O1".into(),
            version: 2,
            status: OrderStatus::Cancelled,
            price: 20.0,
            user_id: "u1".into(),
            expires_at: Duration::from_millis(1500),
        };
        let json = doc.fields();
        assert_eq!(json["document"], "order-replica");
        assert_eq!(json["userId"], "u1");
        assert_eq!(json["expiresAt"], 1_500_000);
        assert_eq!(json["status"], "cancelled");
        assert_eq!(doc.kind(), "order-replica");
        assert!(Snapshot::KINDS.contains(&doc.kind()));
    }

    #[test]
    fn expires_at_is_iso_8601_on_the_wire_and_a_number_is_read_too() {
        let order = OrderCreated {
            id: "O1".into(),
            version: Some(0),
            status: OrderStatus::Created,
            user_id: "u1".into(),
            expires_at: 3_000_010,
            ticket: TicketRef { id: "T1".into(), price: 20.0 },
        };
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["expiresAt"], "1970-01-01T00:00:03.000010Z");
        assert_eq!(serde_json::from_value::<OrderCreated>(json.clone()).unwrap(), order);
        let mut js = json.clone();
        js["expiresAt"] = "1970-01-01T00:00:03.000Z".into();
        assert_eq!(serde_json::from_value::<OrderCreated>(js).unwrap().expires_at, 3_000_000, "as JavaScript's toISOString writes it");
        let mut number = json.clone();
        number["expiresAt"] = 3_000_010.into();
        assert_eq!(serde_json::from_value::<OrderCreated>(number).unwrap(), order);
        let mut bad = json;
        bad["expiresAt"] = "tomorrow".into();
        let e = serde_json::from_value::<OrderCreated>(bad).unwrap_err().to_string();
        assert!(e.contains("not an ISO-8601 time"), "{e}");
    }

    #[test]
    fn a_payload_decodes_only_as_its_own_event_type() {
        let event = Event::new(&ExpirationComplete { order_id: "O1".into() });
        assert_eq!(event.event_id.as_ref(), "expiration:complete/O1");
        assert_eq!(event.decode::<ExpirationComplete>().unwrap().order_id.as_ref(), "O1");
        let wrong_listener = event.decode::<PaymentCreated>().unwrap_err();
        assert!(wrong_listener.contains("expiration:complete event handed to a payment:created listener"), "{wrong_listener}");
        let malformed =
            Event::raw("x".into(), Subject::TicketUpdated, serde_json::json!({"id": "T1", "version": "two"}), Default::default());
        let why = malformed.decode::<TicketUpdated>().unwrap_err();
        assert!(why.starts_with("cannot decode ticket:updated payload"), "{why}");
    }
}
