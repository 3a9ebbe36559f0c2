//! The transactional outbox of the hardened services: an event is appended in the
//! same store transaction as the write it announces, and a relay publishes it until
//! the broker acks. A crash between the write and the publish loses nothing; a relay
//! may publish an entry twice, which idempotent listeners absorb. An entry remembers
//! which broker store acknowledged it: when the broker comes back with a new, empty
//! store (memory store restart), every entry is published again.

use super::nats::NatsWrapper;
use super::store::{Db, Row, Table};
use crate::harness::store::Journal;
use crate::ticketing::domain::{Event, Snapshot};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct OutboxEntry {
    pub entry: u64,
    pub event: Arc<Event>,
    /// The broker store that acknowledged this entry; `None` until one has.
    pub sent_to: Option<u64>,
    pub created_at: Duration,
}

impl Row for OutboxEntry {
    type Key = u64;
    fn key(&self) -> u64 {
        self.entry
    }
    fn snapshot(&self) -> Snapshot {
        Snapshot::Outbox { entry: self.entry, event_id: self.event.event_id.clone(), sent_to: self.sent_to }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Outbox {
    next_id: u64,
    entries: Table<OutboxEntry>,
}

impl Outbox {
    /// Appends an event; returns its entry id.
    pub fn push(&mut self, event: Arc<Event>) -> u64 {
        self.next_id += 1;
        let entry = OutboxEntry { entry: self.next_id, event, sent_to: None, created_at: crate::harness::now() };
        self.entries.upsert(entry);
        self.next_id
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
    fn due(&self, now: Duration, store: u64) -> Vec<(u64, Arc<Event>)> {
        self.entries
            .values()
            .filter(|e| match e.sent_to {
                None => now.saturating_sub(e.created_at) >= SWEEP_AGE,
                Some(acked_by) => acked_by != store,
            })
            .map(|e| (e.entry, e.event.clone()))
            .collect()
    }

    pub fn take_changes(&mut self) -> Vec<Snapshot> {
        self.entries.take_changes()
    }

    pub fn take_reads(&mut self) -> Vec<String> {
        self.entries.take_reads()
    }
}

/// Databases that carry an outbox.
pub trait HasOutbox: Journal {
    fn outbox(&mut self) -> &mut Outbox;
}

/// How long an unsent entry waits before any instance's sweeper re-publishes it.
pub const SWEEP_AGE: Duration = Duration::from_secs(3);
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// Publishes one entry and marks it sent once acked.
pub async fn relay_entry<S: HasOutbox>(db: &Db<S>, nats: &NatsWrapper, id: u64, event: Arc<Event>) {
    if let Ok(published) = nats.publish(event).await {
        db.tx("outbox-sent", |s| s.outbox().mark_sent(id, published.store_id)).await;
    }
}

/// Publishes freshly appended entries right away (not awaited by the caller).
pub fn relay_now<S: HasOutbox>(db: &Db<S>, nats: &Arc<NatsWrapper>, entries: Vec<(u64, Arc<Event>)>) {
    for (id, event) in entries {
        let (db, nats) = (db.clone(), nats.clone());
        crate::harness::cause::spawn(async move { relay_entry(&db, &nats, id, event).await });
    }
}

/// Each instance's sweeper: re-publishes entries left unsent (a crashed instance's,
/// a failed publish) and entries acknowledged by a broker store that is gone.
pub async fn sweep_forever<S: HasOutbox>(db: Db<S>, nats: Arc<NatsWrapper>) {
    loop {
        crate::harness::sleep(SWEEP_INTERVAL).await;
        let Some(store) = nats.store_id() else { continue };
        let now = crate::harness::now();
        let due = db.poll("outbox-scan", |s| s.outbox().due(now, store)).await;
        for (id, event) in due {
            relay_entry(&db, &nats, id, event).await;
        }
    }
}
