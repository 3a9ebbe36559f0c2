//! The transactional outbox of the hardened services: an event is appended in the
//! same store transaction as the write it announces, and a relay publishes it until
//! the broker acks. A crash between the write and the publish loses nothing; a relay
//! may publish an entry twice, which idempotent listeners absorb. An entry remembers
//! which broker store acknowledged it: when the broker comes back with a new, empty
//! store (memory store restart), every entry is published again.

use super::nats::NatsWrapper;
use super::store::{Db, Writes};
use crate::proto::Event;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct OutboxEntry {
    pub event: Arc<Event>,
    /// The broker store that acknowledged this entry; `None` until one has.
    pub sent_to: Option<u64>,
    pub created_at: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct Outbox {
    next_id: u64,
    pub entries: BTreeMap<u64, OutboxEntry>,
}

impl Outbox {
    /// Appends an event; returns its entry id.
    pub fn push(&mut self, event: Arc<Event>, w: &mut Writes) -> u64 {
        self.next_id += 1;
        w.outboxed.push(event.event_id.clone());
        self.entries.insert(self.next_id, OutboxEntry { event, sent_to: None, created_at: crate::sim::now() });
        self.next_id
    }
}

/// State types that carry an outbox.
pub trait HasOutbox {
    fn outbox(&mut self) -> &mut Outbox;
}

/// How long an unsent entry waits before any instance's sweeper re-publishes it.
pub const SWEEP_AGE: Duration = Duration::from_secs(3);
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// Publishes one entry and marks it sent once acked.
pub async fn relay_entry<S: HasOutbox + Send + 'static>(db: &Db<S>, nats: &NatsWrapper, id: u64, event: Arc<Event>) {
    if let Ok(published) = nats.publish(event).await {
        db.tx("outbox-sent", |s, _| {
            if let Some(entry) = s.outbox().entries.get_mut(&id) {
                entry.sent_to = Some(published.store_id);
            }
        })
        .await;
    }
}

/// Publishes freshly appended entries right away (not awaited by the caller).
pub fn relay_now<S: HasOutbox + Send + 'static>(db: &Db<S>, nats: &Arc<NatsWrapper>, entries: Vec<(u64, Arc<Event>)>) {
    for (id, event) in entries {
        let (db, nats) = (db.clone(), nats.clone());
        madsim::task::spawn(async move { relay_entry(&db, &nats, id, event).await });
    }
}

/// Each instance's sweeper: re-publishes entries left unsent (a crashed instance's,
/// a failed publish) and entries acknowledged by a broker store that is gone.
pub async fn sweep_forever<S: HasOutbox + Send + 'static>(db: Db<S>, nats: Arc<NatsWrapper>) {
    loop {
        madsim::time::sleep(SWEEP_INTERVAL).await;
        let Some(store) = nats.store_id() else { continue };
        let now = crate::sim::now();
        let due: Vec<(u64, Arc<Event>)> = db
            .tx("outbox-scan", |s, _| {
                s.outbox()
                    .entries
                    .iter()
                    .filter(|(_, e)| match e.sent_to {
                        None => now.saturating_sub(e.created_at) >= SWEEP_AGE,
                        Some(acked_by) => acked_by != store,
                    })
                    .map(|(id, e)| (*id, e.event.clone()))
                    .collect()
            })
            .await;
        for (id, event) in due {
            relay_entry(&db, &nats, id, event).await;
        }
    }
}
