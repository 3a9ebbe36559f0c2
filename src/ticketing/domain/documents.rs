//! The documents the services' stores hold, as their change streams report them.

use super::{as_js_number, micros, Id, OrderStatus, TransactionKind};
use crate::harness::history::Digest;
use serde::Serialize;
use std::fmt;
use std::hash::Hash;
use std::time::Duration;

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
        /// The provider's refund, once a remote provider paid the charge back.
        #[serde(skip_serializing_if = "Option::is_none")]
        refund: Option<Id>,
    },
    /// A refund the remote payment provider made: a whole charge paid back.
    Refund {
        id: Id,
        charge: Id,
        amount: i64,
        order_id: Option<Id>,
    },
    /// A charge the simulated payment provider made (cents, currency, source token; the
    /// order its metadata names, when the provider is a remote party).
    Charge {
        id: Id,
        amount: i64,
        currency: String,
        source: String,
        order_id: Option<Id>,
    },
    /// A request the remote payment provider answered, as its request log keeps it: its
    /// idempotency key, the order its metadata names, the status and what came of it
    /// (the charge made, the saved result replayed, or the error).
    ProviderRequest {
        id: Id,
        key: Option<String>,
        order_id: Id,
        status: u16,
        outcome: String,
        charge: Option<Id>,
    },
    /// The hardened payments service's note that it is about to charge for an order
    /// (with its idempotency key), kept until the payment is saved or the charge failed.
    Intent {
        order_id: Id,
        key: Option<String>,
        amount: i64,
        settled: bool,
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
    /// Feeds the trace hash every field (a price by its bits), hashed, not formatted.
    pub fn digest(&self, out: &mut Digest) {
        match self {
            Snapshot::Ticket { id, version, title, price, user_id, order_id } => {
                (0u8, id, version, title, price.to_bits(), user_id, order_id).hash(out)
            }
            Snapshot::Order { id, version, status, user_id, ticket_id, price, expires_at } => {
                (1u8, id, version, status, user_id, ticket_id, price.to_bits(), expires_at).hash(out)
            }
            Snapshot::TicketReplica { id, version, title, price } => (2u8, id, version, title, price.to_bits()).hash(out),
            Snapshot::OrderReplica { id, version, status, price, user_id, expires_at } => {
                (3u8, id, version, status, price.to_bits(), user_id, expires_at).hash(out)
            }
            Snapshot::Payment { id, order_id, stripe_id, amount, refunded, refund } => {
                (4u8, id, order_id, stripe_id, amount, refunded, refund).hash(out)
            }
            Snapshot::Refund { id, charge, amount, order_id } => (5u8, id, charge, amount, order_id).hash(out),
            Snapshot::Charge { id, amount, currency, source, order_id } => (6u8, id, amount, currency, source, order_id).hash(out),
            Snapshot::ProviderRequest { id, key, order_id, status, outcome, charge } => {
                (7u8, id, key, order_id, status, outcome, charge).hash(out)
            }
            Snapshot::Intent { order_id, key, amount, settled } => (8u8, order_id, key, amount, settled).hash(out),
            Snapshot::Transaction { id, user_id, kind, amount, number } => (9u8, id, user_id, kind, amount, number).hash(out),
            Snapshot::Account { user_id, balance, last_number } => (10u8, user_id, balance, last_number).hash(out),
            Snapshot::Job { id, order_id, due, state } => (11u8, id, order_id, due, state).hash(out),
            Snapshot::Seen { order_id, created, cancelled } => (12u8, order_id, created, cancelled).hash(out),
            Snapshot::Outbox(crate::kit::outbox::Sent { entry, event_id, sent_to }) => (13u8, entry, event_id, sent_to).hash(out),
        }
    }

    /// The kinds of documents, as record expectations name them.
    pub const KINDS: [&'static str; 14] = [
        "ticket",
        "order",
        "ticket-replica",
        "order-replica",
        "payment",
        "charge",
        "refund",
        "provider-request",
        "intent",
        "transaction",
        "account",
        "job",
        "seen",
        "outbox",
    ];

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
            Snapshot::Refund { .. } => "refund",
            Snapshot::ProviderRequest { .. } => "provider-request",
            Snapshot::Intent { .. } => "intent",
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
            | Snapshot::Refund { id, .. }
            | Snapshot::ProviderRequest { id, .. }
            | Snapshot::Transaction { id, .. }
            | Snapshot::Outbox(crate::kit::outbox::Sent { event_id: id, .. }) => id,
            Snapshot::Account { user_id, .. } => user_id,
            Snapshot::Job { order_id, .. } | Snapshot::Seen { order_id, .. } | Snapshot::Intent { order_id, .. } => order_id,
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
            Snapshot::Payment { id, order_id, stripe_id, amount, refunded, refund } => {
                write!(f, "payment {id} for {order_id}: charge {stripe_id} {amount} cents{}", if *refunded { ", refunded" } else { "" })?;
                refund.as_ref().map_or(Ok(()), |r| write!(f, " ({r})"))
            }
            Snapshot::Refund { id, charge, amount, order_id } => {
                write!(f, "refund {id}: charge {charge} {amount} cents paid back")?;
                order_id.as_ref().map_or(Ok(()), |o| write!(f, " for {o}"))
            }
            Snapshot::Charge { id, amount, currency, source, order_id } => {
                write!(f, "charge {id}: {amount} {currency} from {source}")?;
                order_id.as_ref().map_or(Ok(()), |o| write!(f, " for {o}"))
            }
            Snapshot::ProviderRequest { id, key, order_id, status, outcome, .. } => {
                write!(f, "request {id} for {order_id}")?;
                if let Some(key) = key {
                    write!(f, " (key {key})")?;
                }
                write!(f, ": {status} {outcome}")
            }
            Snapshot::Intent { order_id, key, amount, settled } => {
                let key = key.as_deref().unwrap_or("none");
                write!(f, "intent to charge {amount} cents for {order_id} (key {key}){}", if *settled { ", settled" } else { "" })
            }
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

    fn digest(doc: &Snapshot) -> u64 {
        use std::hash::Hasher;
        let mut out = Digest::default();
        doc.digest(&mut out);
        out.finish()
    }

    #[test]
    fn a_document_s_digest_takes_the_fields_its_text_leaves_out() {
        let ticket = |user: &str, price: f64| Snapshot::Ticket {
            id: "T1".into(),
            version: 1,
            title: "concert".into(),
            price,
            user_id: user.into(),
            order_id: None,
        };
        assert_eq!(digest(&ticket("u1", 20.0)), digest(&ticket("u1", 20.0)));
        assert_eq!(ticket("u1", 20.0).to_string(), ticket("u2", 20.0).to_string(), "the text leaves out the owner");
        assert_ne!(digest(&ticket("u1", 20.0)), digest(&ticket("u2", 20.0)));
        assert_ne!(digest(&ticket("u1", 20.0)), digest(&ticket("u1", 20.5)));
        let request = |charge: Option<&str>| Snapshot::ProviderRequest {
            id: "req_1".into(),
            key: None,
            order_id: "O1".into(),
            status: 200,
            outcome: "charged".into(),
            charge: charge.map(Into::into),
        };
        assert_eq!(request(Some("ch_1")).to_string(), request(Some("ch_2")).to_string(), "the text leaves out the charge");
        assert_ne!(digest(&request(Some("ch_1"))), digest(&request(Some("ch_2"))));
        let seen = |created: bool, cancelled: bool| Snapshot::Seen { order_id: "O1".into(), created, cancelled };
        assert_ne!(digest(&seen(true, false)), digest(&seen(false, true)), "fields in their places");
    }

    #[test]
    fn an_observation_s_digest_takes_its_kind_and_each_field() {
        use crate::harness::history::Observation;
        use crate::kit::obs::Outcome;
        use crate::kit::protocol::Reply;
        use std::hash::Hasher;
        type Obs = crate::ticketing::domain::Obs;
        let digest = |obs: Obs| {
            let mut out = Digest::default();
            obs.digest(&mut out);
            out.finish()
        };
        let (t, o) = (super::super::Subject::TicketCreated, super::super::Subject::OrderCreated);
        let body = || std::sync::Arc::new(serde_json::json!({}));
        let request = |user: Option<&str>, path: &str| Obs::Request {
            req: 1,
            user: user.map(Into::into),
            instance: "tickets-1".into(),
            method: "GET",
            path: path.into(),
            body: body(),
        };
        let delivered =
            |subject, group, redelivery| Obs::Delivered { subject, group, seq: 1, client: "c1".into(), event_id: "e1".into(), redelivery };
        let handled = |outcome| Obs::Handled { subject: t, group: "orders", seq: 1, event_id: "e1".into(), outcome };
        let replied = |reply| Obs::Replied { subject: t, group: "orders", seq: 1, client: "c1".into(), event_id: "e1".into(), reply };
        let hashes = [
            digest(request(Some("u1"), "/api/tickets")),
            digest(request(None, "/api/tickets")),
            digest(request(Some("u1"), "/api/orders")),
            digest(Obs::Response { req: 1, status: 200, body: body() }),
            digest(Obs::Response { req: 1, status: 404, body: body() }),
            digest(Obs::Timeout { req: 1 }),
            digest(delivered(t, "orders", false)),
            digest(delivered(o, "orders", false)),
            digest(delivered(t, "payments", false)),
            digest(delivered(t, "orders", true)),
            digest(Obs::Acked { subject: t, group: "orders", seq: 1, client: "c1".into(), event_id: "e1".into() }),
            digest(handled(Outcome::Acked)),
            digest(handled(Outcome::Failed("boom".into()))),
            digest(handled(Outcome::Failed("bang".into()))),
            digest(handled(Outcome::Undecodable("boom".into()))),
            digest(Obs::ClientDead { client: "c1".into() }),
            digest(Obs::Deduplicated { subject: t, seq: 1, event_id: "e1".into(), client: "c1".into() }),
            digest(replied(Reply::Term)),
            digest(replied(Reply::Nak(Duration::from_secs(1)))),
            digest(replied(Reply::Nak(Duration::from_secs(2)))),
            digest(Obs::Parked { subject: t, group: "orders", seq: 1, event_id: "e1".into(), deliveries: 5 }),
            digest(Obs::StoreLost { store_id: 1 }),
        ];
        assert_eq!(digest(request(Some("u1"), "/api/tickets")), hashes[0], "the same observation, the same digest");
        let distinct: std::collections::BTreeSet<u64> = hashes.iter().copied().collect();
        assert_eq!(distinct.len(), hashes.len(), "{hashes:x?}");
    }
}
