//! The transactional outbox of the hardened services: an event is appended in the
//! same store transaction as the write it announces, and a relay publishes it until
//! the broker acks. A crash between the write and the publish loses nothing; a relay
//! may publish an entry twice, which idempotent listeners absorb. An entry remembers
//! which broker store acknowledged it: when the broker comes back with a new, empty
//! store (memory store restart), every entry is published again.

use super::nats::NatsWrapper;
use super::store::{Access, Counter, Db, Part, Row, Table};
use super::{App, Event, Id};
use crate::harness::store::{Journal, Polled};
use std::sync::Arc;
use std::time::Duration;

/// An outbox entry as the change stream shows it: the event it holds and the broker
/// store that acknowledged it. An app's document type holds it (`From<Sent>`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    pub entry: u64,
    pub event_id: Id,
    pub sent_to: Option<u64>,
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.sent_to {
            None => write!(f, "outbox #{} {} unsent", self.entry, self.event_id),
            Some(store) => write!(f, "outbox #{} {} acked by store {store}", self.entry, self.event_id),
        }
    }
}

#[derive(Clone, Debug)]
pub struct OutboxEntry<A: App> {
    pub entry: u64,
    pub event: Arc<Event<A>>,
    /// The broker store that acknowledged this entry; `None` until one has.
    pub sent_to: Option<u64>,
    pub created_at: Duration,
}

impl<A: App> Row for OutboxEntry<A> {
    type Key = u64;
    type Doc = A::Doc;
    fn key(&self) -> u64 {
        self.entry
    }
    fn snapshot(&self) -> A::Doc {
        Sent { entry: self.entry, event_id: self.event.event_id.clone(), sent_to: self.sent_to }.into()
    }
}

#[derive(Clone, Debug)]
pub struct Outbox<A: App> {
    next_id: Counter,
    entries: Table<OutboxEntry<A>>,
}

impl<A: App> Default for Outbox<A> {
    fn default() -> Self {
        Outbox { next_id: Counter::default(), entries: Table::default() }
    }
}

impl<A: App> Outbox<A> {
    /// Appends an event; returns its entry id.
    pub fn push(&mut self, event: Arc<Event<A>>) -> u64 {
        let id = self.next_id.next_value();
        let entry = OutboxEntry { entry: id, event, sent_to: None, created_at: crate::harness::now() };
        self.entries.upsert(entry);
        id
    }

    /// Marks an entry acknowledged by the broker store `store_id`.
    fn mark_sent(&mut self, entry: u64, store_id: u64) {
        if let Some(mut e) = self.entries.get(&entry) {
            e.sent_to = Some(store_id);
            self.entries.upsert(e);
        }
    }

    /// Entries to publish again: unsent for longer than [`SWEEP_AGE`], or acknowledged
    /// by a broker store that is not the current one.
    fn due(&self, now: Duration, store: u64) -> Vec<(u64, Arc<Event<A>>)> {
        self.entries
            .values()
            .filter(|e| match e.sent_to {
                None => now.saturating_sub(e.created_at) >= SWEEP_AGE,
                Some(acked_by) => acked_by != store,
            })
            .map(|e| (e.entry, e.event.clone()))
            .collect()
    }

    /// Whether any entry is unsent or acknowledged by a store other than `store`: all
    /// that [`Outbox::due`] may give, now or once the entry is old enough.
    fn any_unsettled(&self, store: u64) -> bool {
        self.entries.values().any(|e| e.sent_to != Some(store))
    }

    pub fn drain_changes_into(&mut self, into: &mut Vec<A::Doc>) {
        self.entries.drain_changes_into(into);
    }

    pub fn drain_reads_into(&mut self, into: &mut Vec<String>) {
        self.entries.drain_reads_into(into);
    }
}

impl<A: App> Part for Outbox<A> {
    fn take_access(&mut self, part: u64, into: &mut Access) {
        self.entries.take_access(part, into);
        // The counter as a record of the entries' part that no entry has (ids start at 1).
        self.next_id.take_access(part, into);
    }

    fn forget_access(&mut self) {
        self.entries.forget_access();
        self.next_id.forget_access();
    }
}

/// Databases that carry an outbox.
pub trait HasOutbox<A: App>: Journal {
    fn outbox(&mut self) -> &mut Outbox<A>;
}

/// How long an unsent entry waits before any instance's sweeper re-publishes it.
pub const SWEEP_AGE: Duration = Duration::from_secs(3);
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// Publishes one entry and marks it sent once acked.
pub async fn relay_entry<A: App, S: HasOutbox<A>>(db: &Db<S>, nats: &NatsWrapper<A>, id: u64, event: Arc<Event<A>>) {
    if let Ok(published) = nats.publish(event).await {
        db.tx("outbox-sent", |s| s.outbox().mark_sent(id, published.store_id)).await;
    }
}

/// Publishes freshly appended entries right away (not awaited by the caller).
pub fn relay_now<A: App, S: HasOutbox<A>>(db: &Db<S>, nats: &Arc<NatsWrapper<A>>, entries: Vec<(u64, Arc<Event<A>>)>) {
    for (id, event) in entries {
        let (db, nats) = (db.clone(), nats.clone());
        crate::harness::cause::spawn(async move { relay_entry(&db, &nats, id, event).await });
    }
}

/// Each instance's sweeper: re-publishes entries left unsent (a crashed instance's,
/// a failed publish) and entries acknowledged by a broker store that is gone. A scan
/// that would find nothing is spared ([`Db::poll_if`]); the next sweep comes when it
/// would have come after the scan.
pub async fn sweep_forever<A: App, S: HasOutbox<A>>(db: Db<S>, nats: Arc<NatsWrapper<A>>) {
    let mut spared = None;
    loop {
        match spared.take() {
            Some(over) => crate::harness::sleep_until(over + SWEEP_INTERVAL).await,
            None => crate::harness::sleep(SWEEP_INTERVAL).await,
        }
        let Some(store) = nats.store_id() else { continue };
        let now = crate::harness::now();
        // Scanned while any entry is unsettled, not only when one is due at the look: an
        // unsent entry may come of age, or be marked acked by another store, during the
        // round trip.
        let worth = |s: &mut S| s.outbox().any_unsettled(store);
        match db.poll_if("outbox-scan", worth, |s| s.outbox().due(now, store)).await {
            Polled::Made(due) => {
                for (id, event) in due {
                    relay_entry(&db, &nats, id, event).await;
                }
            }
            Polled::Spared { over } => spared = Some(over),
        }
    }
}
