//! A service's database. It belongs to the service, not to an instance: instances
//! share it and it survives their crashes. Every call is one round trip with a
//! latency drawn from the harness, which is where concurrent handlers interleave.
//!
//! Collections follow the version rules of ticketing.md: insert at v0, a save is
//! conditional on the version read and increments it by one, find-by-event finds the
//! record only when it holds `event.version - 1`.

use crate::history::{History, Record, Snapshot};
use crate::proto::Id;
use crate::sim::choices::{Choices, Site};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    DuplicateKey(Id),
    VersionConflict {
        id: Id,
        read: u64,
        stored: u64,
    },
    NotFound(Id),
    /// A conditional write found the record changed since it was read.
    Changed {
        id: Id,
        what: String,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::DuplicateKey(id) => write!(f, "E11000 duplicate key {id}"),
            StoreError::VersionConflict { id, read, stored } => write!(f, "version conflict on {id}: read v{read}, stored v{stored}"),
            StoreError::NotFound(id) => write!(f, "{id} not found"),
            StoreError::Changed { id, what } => write!(f, "{id} changed since it was read: {what}"),
        }
    }
}

/// A document of a collection.
pub trait Doc: Clone {
    fn id(&self) -> &Id;
    fn version(&self) -> u64;
    fn set_version(&mut self, version: u64);
    fn snapshot(&self) -> Snapshot;
}

/// Implements [`Doc`] for a struct with `id: Id` and `version: u64` fields, given how
/// it is recorded: `impl_doc!(Ticket, |t| Snapshot::Ticket { .. })`.
#[macro_export]
macro_rules! impl_doc {
    ($ty:ty, |$doc:ident| $snapshot:expr) => {
        impl $crate::app::store::Doc for $ty {
            fn id(&self) -> &$crate::proto::Id {
                &self.id
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn set_version(&mut self, version: u64) {
                self.version = version;
            }
            fn snapshot(&self) -> $crate::history::Snapshot {
                let $doc = self;
                $snapshot
            }
        }
    };
}

/// Store writes made inside one transaction, recorded when it commits.
#[derive(Default)]
pub struct Writes {
    pub cause: &'static str,
    pub snapshots: Vec<Snapshot>,
    pub outboxed: Vec<Id>,
}

/// A collection of versioned documents, in id order.
#[derive(Clone, Debug)]
pub struct Collection<T: Doc> {
    docs: BTreeMap<Id, T>,
    /// Version control on (`updateIfCurrent`); off, saves overwrite and keep the version.
    pub occ: bool,
}

impl<T: Doc> Default for Collection<T> {
    fn default() -> Self {
        Collection { docs: BTreeMap::new(), occ: true }
    }
}

impl<T: Doc> Collection<T> {
    pub fn find(&self, id: &str) -> Option<T> {
        self.docs.get(id).cloned()
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.docs.values()
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Inserts a new document at version 0 (or, for replicas, the version it carries).
    pub fn insert(&mut self, doc: T, w: &mut Writes) -> Result<(), StoreError> {
        if self.docs.contains_key(doc.id()) {
            return Err(StoreError::DuplicateKey(doc.id().clone()));
        }
        w.snapshots.push(doc.snapshot());
        self.docs.insert(doc.id().clone(), doc);
        Ok(())
    }

    /// Saves a document read earlier: fails if the stored version moved on, else stores
    /// it at version + 1 (without version control: overwrites, version unchanged).
    pub fn save(&mut self, mut doc: T, w: &mut Writes) -> Result<T, StoreError> {
        let stored = self.docs.get(doc.id()).ok_or_else(|| StoreError::NotFound(doc.id().clone()))?;
        if self.occ {
            if stored.version() != doc.version() {
                return Err(StoreError::VersionConflict { id: doc.id().clone(), read: doc.version(), stored: stored.version() });
            }
            doc.set_version(doc.version() + 1);
        }
        w.snapshots.push(doc.snapshot());
        self.docs.insert(doc.id().clone(), doc.clone());
        Ok(doc)
    }

    /// Changes a document without bumping its version (a field no replica tracks);
    /// still conditional on the version read.
    pub fn update_in_place(&mut self, doc: T, w: &mut Writes) -> Result<(), StoreError> {
        let stored = self.docs.get(doc.id()).ok_or_else(|| StoreError::NotFound(doc.id().clone()))?;
        if self.occ && stored.version() != doc.version() {
            return Err(StoreError::VersionConflict { id: doc.id().clone(), read: doc.version(), stored: stored.version() });
        }
        w.snapshots.push(doc.snapshot());
        self.docs.insert(doc.id().clone(), doc);
        Ok(())
    }

    /// Stores a replica at the version its event carries, unconditionally.
    pub fn put(&mut self, doc: T, w: &mut Writes) {
        w.snapshots.push(doc.snapshot());
        self.docs.insert(doc.id().clone(), doc);
    }

    /// The document `id` if it holds `version - 1` (the previous version of an event).
    pub fn find_by_event(&self, id: &str, version: u64) -> Option<T> {
        self.docs.get(id).filter(|d| version >= 1 && d.version() == version - 1).cloned()
    }
}

/// A service's database: state `S` behind round trips.
/// How many stores with planted nondeterminism this process made (see `Db::plant_nondeterminism`).
static PLANTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub struct Db<S> {
    /// Test-only switch: latencies depend on state outside the run.
    planted_nondeterminism: Option<u64>,
    service: &'static str,
    /// The instance using this handle, for the history.
    node: Option<Arc<str>>,
    state: Arc<Mutex<S>>,
    choices: Choices,
    latency: (Duration, Duration),
    history: History,
}

impl<S> Clone for Db<S> {
    fn clone(&self) -> Self {
        Db {
            planted_nondeterminism: self.planted_nondeterminism,
            service: self.service,
            node: self.node.clone(),
            state: self.state.clone(),
            choices: self.choices.clone(),
            latency: self.latency,
            history: self.history.clone(),
        }
    }
}

impl<S: Send + 'static> Db<S> {
    pub fn new(service: &'static str, state: S, choices: Choices, latency: (Duration, Duration), history: History) -> Self {
        Db { planted_nondeterminism: None, service, node: None, state: Arc::new(Mutex::new(state)), choices, latency, history }
    }

    /// Test-only: makes this store's latencies depend on a process-wide counter, a
    /// nondeterminism for `check-determinism` to locate.
    pub fn plant_nondeterminism(mut self) -> Self {
        self.planted_nondeterminism = Some(PLANTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        self
    }

    /// The same store, used by the instance on `node`.
    pub fn on(&self, node: &Arc<str>) -> Self {
        Db { node: Some(node.clone()), ..self.clone() }
    }

    /// One round trip: waits the store latency, then runs `f` atomically. Writes made
    /// through `w` are recorded when `f` returns.
    pub async fn tx<R>(&self, cause: &'static str, f: impl FnOnce(&mut S, &mut Writes) -> R) -> R {
        let mut latency = self.choices.duration(Site::StoreLatency, self.latency.0, self.latency.1);
        if let Some(run) = self.planted_nondeterminism {
            // Test-only: state that outlives a run (how many runs this process made) leaks into it.
            latency += Duration::from_micros(1 + run % 97);
        }
        madsim::time::sleep(latency).await;
        self.now(cause, f)
    }

    /// Work a handler does between store calls, for a time drawn from `range`.
    pub async fn work(&self, range: (Duration, Duration)) {
        let time = self.choices.duration(Site::StoreLatency, range.0, range.1);
        madsim::time::sleep(time).await;
    }

    /// Runs `f` atomically without a round trip (for the harness and tests).
    pub fn now<R>(&self, cause: &'static str, f: impl FnOnce(&mut S, &mut Writes) -> R) -> R {
        let mut w = Writes { cause, ..Default::default() };
        let result = f(&mut self.state.lock().unwrap(), &mut w);
        for snapshot in w.snapshots {
            self.history.push_on(self.node.as_ref(), Record::Write { service: self.service, cause: w.cause, snapshot });
        }
        for event_id in w.outboxed {
            self.history.push_on(self.node.as_ref(), Record::Outboxed { service: self.service, event_id });
        }
        result
    }

    /// Reads the state without recording anything (final states, reports).
    pub fn read<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        f(&self.state.lock().unwrap())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug)]
    struct Note {
        id: Id,
        version: u64,
        text: String,
    }

    impl Doc for Note {
        fn id(&self) -> &Id {
            &self.id
        }
        fn version(&self) -> u64 {
            self.version
        }
        fn set_version(&mut self, version: u64) {
            self.version = version;
        }
        fn snapshot(&self) -> Snapshot {
            Snapshot::TicketReplica { id: self.id.clone(), version: self.version, title: self.text.clone(), price: 0 }
        }
    }

    fn note(version: u64, text: &str) -> Note {
        Note { id: "n1".into(), version, text: text.into() }
    }

    #[test]
    fn save_increments_version_even_without_changes_and_rejects_stale_saves() {
        let mut c = Collection::default();
        let mut w = Writes::default();
        c.insert(note(0, "a"), &mut w).unwrap();
        let read = c.find("n1").unwrap();
        let saved = c.save(read.clone(), &mut w).unwrap();
        assert_eq!(saved.version, 1);
        let err = c.save(read, &mut w).unwrap_err();
        assert_eq!(err, StoreError::VersionConflict { id: "n1".into(), read: 0, stored: 1 });
        assert_eq!(c.find("n1").unwrap().version, 1, "a stale save changes nothing");
    }

    #[test]
    fn duplicate_insert_is_a_duplicate_key_error() {
        let mut c = Collection::default();
        let mut w = Writes::default();
        c.insert(note(0, "a"), &mut w).unwrap();
        assert_eq!(c.insert(note(0, "b"), &mut w), Err(StoreError::DuplicateKey("n1".into())));
    }

    #[test]
    fn find_by_event_needs_the_previous_version() {
        let mut c = Collection::default();
        c.insert(note(1, "a"), &mut Writes::default()).unwrap();
        assert!(c.find_by_event("n1", 2).is_some());
        assert!(c.find_by_event("n1", 3).is_none());
        assert!(c.find_by_event("n1", 1).is_none());
    }

    #[test]
    fn without_version_control_saves_overwrite_and_keep_the_version() {
        let mut c = Collection { occ: false, ..Default::default() };
        let mut w = Writes::default();
        c.insert(note(0, "a"), &mut w).unwrap();
        let read = c.find("n1").unwrap();
        c.save(Note { text: "b".into(), ..read.clone() }, &mut w).unwrap();
        let saved = c.save(Note { text: "c".into(), ..read }, &mut w).unwrap();
        assert_eq!((saved.version, saved.text.as_str()), (0, "c"));
    }
}
