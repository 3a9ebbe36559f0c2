//! The history of a run: requests and responses as users saw them, store writes,
//! what the broker accepted, delivered and had acknowledged, and faults. Checkers are
//! pure functions of a [`History`] and the [`crate::run::FinalState`].

use crate::proto::{Event, Group, Id, Route, Subject, TransactionKind};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrderStatus {
    Created,
    Cancelled,
    AwaitingPayment,
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
    pub fn is_active(self) -> bool {
        self != OrderStatus::Cancelled
    }
}

/// A record as written to a service's store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Snapshot {
    Ticket {
        id: Id,
        version: u64,
        title: String,
        price: i64,
        user_id: Id,
        order_id: Option<Id>,
    },
    Order {
        id: Id,
        version: u64,
        status: OrderStatus,
        user_id: Id,
        ticket_id: Id,
        expires_at: Duration,
    },
    TicketReplica {
        id: Id,
        version: u64,
        title: String,
        price: i64,
    },
    /// The payments service's copy of an order.
    OrderReplica {
        id: Id,
        version: u64,
        status: OrderStatus,
    },
    /// A payment, with the simulated provider's charge; `refunded` once paid back.
    Payment {
        id: Id,
        order_id: Id,
        amount: i64,
        refunded: bool,
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
}

impl Snapshot {
    /// The record's own id (an account's user).
    pub fn key(&self) -> &str {
        match self {
            Snapshot::Ticket { id, .. }
            | Snapshot::Order { id, .. }
            | Snapshot::TicketReplica { id, .. }
            | Snapshot::OrderReplica { id, .. }
            | Snapshot::Payment { id, .. }
            | Snapshot::Transaction { id, .. } => id,
            Snapshot::Account { user_id, .. } => user_id,
        }
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Snapshot::Ticket { id, version, title, price, order_id, .. } => {
                write!(f, "ticket {id} v{version} {title:?} {price} orderId={}", order_id.as_deref().unwrap_or("-"))
            }
            Snapshot::Order { id, version, status, ticket_id, .. } => {
                write!(f, "order {id} v{version} {} ticket={ticket_id}", status.as_str())
            }
            Snapshot::TicketReplica { id, version, title, price } => write!(f, "replica ticket {id} v{version} {title:?} {price}"),
            Snapshot::OrderReplica { id, version, status } => write!(f, "replica order {id} v{version} {}", status.as_str()),
            Snapshot::Payment { id, order_id, amount, refunded } => {
                write!(f, "payment {id} for {order_id}: charged {amount}{}", if *refunded { ", refunded" } else { "" })
            }
            Snapshot::Transaction { id, user_id, kind, amount, number } => {
                write!(f, "transaction {id} #{number} {user_id} {kind:?} {amount}")
            }
            Snapshot::Account { user_id, balance, last_number } => {
                write!(f, "account {user_id} balance {balance} lastNumber {last_number}")
            }
        }
    }
}

/// What the fabric did with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetWhat {
    Sent(String),
    Duplicated,
    Dropped(&'static str),
    Delivered,
}

/// What happened, at a virtual time.
#[derive(Clone, Debug)]
pub enum Record {
    Request {
        req: u64,
        user: Option<Id>,
        instance: String,
        route: Route,
    },
    Response {
        req: u64,
        status: u16,
        record: Option<Id>,
        message: Option<String>,
    },
    Timeout {
        req: u64,
    },
    /// `cause` says which handler wrote (e.g. `edit`, `lock`).
    Write {
        service: &'static str,
        cause: &'static str,
        snapshot: Snapshot,
    },
    /// An event appended to a service's outbox (hardened services only).
    Outboxed {
        service: &'static str,
        event_id: Id,
    },
    Accepted {
        subject: Subject,
        seq: u64,
        event: Arc<Event>,
    },
    Delivered {
        subject: Subject,
        group: Group,
        seq: u64,
        client: Id,
        event_id: Id,
        redelivery: bool,
    },
    Acked {
        subject: Subject,
        group: Group,
        seq: u64,
        client: Id,
        event_id: Id,
    },
    Fault {
        text: String,
    },
    /// A network event (recorded only when messages are traced).
    Net {
        id: u64,
        from: Arc<str>,
        to: Arc<str>,
        kind: &'static str,
        what: NetWhat,
    },
    /// A scripted step named the record its request created.
    Named {
        name: String,
        id: Id,
        req: u64,
    },
    /// A scripted step's expected status, and what it got (`None`: no response).
    Expected {
        step: String,
        status: u16,
        got: Option<u16>,
    },
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Request { req, user, instance, route } => {
                write!(f, "request #{req} {} -> {instance}: {}", user.as_deref().unwrap_or("anonymous"), route.text())
            }
            Record::Response { req, status, record, message } => {
                write!(f, "response #{req} {status}")?;
                if let Some(r) = record {
                    write!(f, " {r}")?;
                }
                if let Some(m) = message {
                    write!(f, " {m:?}")?;
                }
                Ok(())
            }
            Record::Timeout { req } => write!(f, "timeout #{req} (no response)"),
            Record::Write { service, cause, snapshot } => write!(f, "{service} store ({cause}): {snapshot}"),
            Record::Outboxed { service, event_id } => write!(f, "{service} outbox + {event_id}"),
            Record::Accepted { subject, seq, event } => write!(f, "broker accepted {subject}#{seq} {}", event.event_id),
            Record::Delivered { subject, group, seq, client, event_id, redelivery } => write!(
                f,
                "broker delivers {subject}#{seq} {event_id} to {group}/{client}{}",
                if *redelivery { " (redelivery)" } else { "" }
            ),
            Record::Acked { subject, group, seq, client, event_id } => {
                write!(f, "broker acked {subject}#{seq} {event_id} by {group}/{client}")
            }
            Record::Fault { text } => write!(f, "nemesis: {text}"),
            Record::Net { id, from, to, kind, what } => match what {
                NetWhat::Sent(text) => write!(f, "net #{id} {from} -> {to} {kind}: {text}"),
                NetWhat::Duplicated => write!(f, "net #{id} {from} -> {to} {kind} duplicated"),
                NetWhat::Dropped(reason) => write!(f, "net #{id} {from} -> {to} {kind} dropped ({reason})"),
                NetWhat::Delivered => write!(f, "net #{id} {from} -> {to} {kind} delivered"),
            },
            Record::Named { name, id, req } => write!(f, "script: {name} = {id} (request #{req})"),
            Record::Expected { step, status, got } => match got {
                Some(got) => write!(f, "script: {step} expected {status}, got {got}"),
                None => write!(f, "script: {step} expected {status}, got no response"),
            },
        }
    }
}

/// A record with its virtual time, the node it happened on, and its position.
#[derive(Clone, Debug)]
pub struct Entry {
    pub index: usize,
    pub time: Duration,
    pub node: Option<Arc<str>>,
    pub record: Record,
}

impl Entry {
    /// Whether the entry names `word` (a record id, a node name) as a whole word.
    pub fn mentions(&self, word: &str) -> bool {
        self.node.as_deref() == Some(word) || mentions(&self.record.to_string(), word)
    }
}

/// Whether `text` contains `word` not glued to other letters or digits (`T1` is not in `T12`).
pub fn mentions(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let glue = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    text.match_indices(word).any(|(i, _)| !glue(text[..i].chars().next_back()) && !glue(text[i + word.len()..].chars().next()))
}

/// Which entries a live trace prints.
#[derive(Clone, Debug, Default)]
pub struct TraceFilter {
    pub node: Option<String>,
    pub record: Option<String>,
    pub from: Option<Duration>,
    pub until: Option<Duration>,
}

impl TraceFilter {
    pub fn matches(&self, entry: &Entry) -> bool {
        self.from.is_none_or(|from| entry.time >= from)
            && self.until.is_none_or(|until| entry.time <= until)
            && self.node.as_deref().is_none_or(|n| entry.mentions(n))
            && self.record.as_deref().is_none_or(|r| entry.mentions(r))
    }
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "History({} records)", self.len())
    }
}

/// The recorded history; cheap to clone, shared by every node of a run.
#[derive(Clone, Default)]
pub struct History {
    entries: Arc<Mutex<Vec<Entry>>>,
    trace: Option<Arc<TraceFilter>>,
}

impl History {
    /// A history; with a filter, matching entries are also emitted as tracing events.
    pub fn new(trace: Option<TraceFilter>) -> Self {
        History { entries: Arc::default(), trace: trace.map(Arc::new) }
    }

    /// Builds a history from hand-made records (for checker tests).
    pub fn from_records(records: Vec<(Duration, Record)>) -> Self {
        let entries = records.into_iter().enumerate().map(|(index, (time, record))| Entry { index, time, node: None, record }).collect();
        History { entries: Arc::new(Mutex::new(entries)), trace: None }
    }

    /// Records at the current virtual time, on no particular node (the harness).
    pub fn push(&self, record: Record) {
        self.push_on(None, record);
    }

    /// Records at the current virtual time, as happening on `node`.
    pub fn push_on(&self, node: Option<&Arc<str>>, record: Record) {
        let time = crate::sim::now();
        let mut entries = self.entries.lock().unwrap();
        let entry = Entry { index: entries.len(), time, node: node.cloned(), record };
        if let Some(filter) = &self.trace {
            if filter.matches(&entry) {
                tracing::info!(target: "ticketsim", "{:<14} {}", entry.node.as_deref().unwrap_or("-"), entry.record);
            }
        }
        entries.push(entry);
    }

    pub fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap()
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A stable hash of the whole history (FNV-1a over each entry's time, node and
    /// text): two runs of one seed must give the same value.
    pub fn fingerprint(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for b in bytes {
                hash ^= *b as u64;
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        for entry in self.entries().iter() {
            feed(&entry.time.as_nanos().to_le_bytes());
            feed(entry.node.as_deref().unwrap_or("-").as_bytes());
            feed(entry.record.to_string().as_bytes());
        }
        hash
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mentions_matches_whole_words_only() {
        assert!(super::mentions("order O1 v0 created ticket=T1", "T1"));
        assert!(!super::mentions("order O1 v0 created ticket=T12", "T1"));
        assert!(super::mentions("ticket:updated/T1/v2", "T1"));
    }
}
