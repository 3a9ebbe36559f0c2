//! What a service's database offers (MongoDB with the version plugin, in the app):
//! tables of rows by key, and collections of versioned documents that follow the rules
//! of ticketing.md: insert at v0, a save is conditional on the version read and
//! increments it by one, find-by-event finds a document only when it holds
//! `event.version - 1`. Every write lands in the table's change stream, which the
//! harness's store handle drains after each call: services never record anything.

use super::Id;
pub use crate::harness::store::Access;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;

/// A service's database, as a harness store handle holds it.
pub type Db<S> = crate::harness::store::Store<S>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    DuplicateKey(String),
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

/// A row of a table: its key, and how the change stream shows it.
pub trait Row: Clone {
    type Key: Ord + Clone + std::fmt::Display;
    /// The app's documents, as change streams show them.
    type Doc: Clone + std::fmt::Debug;
    fn key(&self) -> Self::Key;
    fn snapshot(&self) -> Self::Doc;
}

/// What a table was asked for, for the trace (the keys looked up, the scans) and for
/// the exhaustive search (the records read, whether it was scanned). A table is read
/// through `&self` and shared across threads by the harness, hence the lock; it is
/// never contended.
#[derive(Debug, Default)]
struct ReadLog(std::sync::Mutex<Reads>);

#[derive(Clone, Debug, Default)]
struct Reads {
    shown: Vec<Shown>,
    /// The records looked up, repeats included (a set only when an access is taken).
    keys: Vec<u64>,
    scanned: bool,
}

impl Clone for ReadLog {
    fn clone(&self) -> Self {
        ReadLog(std::sync::Mutex::new(self.0.lock().unwrap().clone()))
    }
}

impl ReadLog {
    fn key(&self, key: String) {
        let mut reads = self.0.lock().unwrap();
        reads.keys.push(record(&key));
        reads.shown.push(Shown::Text(key));
    }

    /// A read the trace does not show (a write's own check of the record it writes).
    fn unshown(&self, record: u64) {
        self.0.lock().unwrap().keys.push(record);
    }

    /// A read of the whole table; `shown` in the trace, if anything.
    fn scan(&self, shown: Option<Shown>) {
        let mut reads = self.0.lock().unwrap();
        reads.scanned = true;
        reads.shown.extend(shown);
    }

    fn take(&mut self) -> Reads {
        std::mem::take(self.0.get_mut().unwrap())
    }

    /// Forgets what was read, keeping the log's room for the next call.
    fn clear(&mut self) {
        let reads = self.0.get_mut().unwrap();
        reads.shown.clear();
        reads.keys.clear();
        reads.scanned = false;
    }

    /// The reads the trace shows, since the last call, onto `into` (the records stay
    /// for the access).
    fn drain_shown(&mut self, into: &mut Vec<String>) {
        into.extend(self.0.get_mut().unwrap().shown.drain(..).map(Shown::text));
    }
}

/// A read as the trace shows it, kept as data until a recorded call takes it (most
/// calls that only read are background polls, which are not recorded).
#[derive(Clone, Debug)]
enum Shown {
    Text(String),
    /// Every row of the table of this row type (its path; the trace shows its last part).
    Every(&'static str),
    ScanOf(String),
}

impl Shown {
    fn text(self) -> String {
        match self {
            Shown::Text(text) => text,
            // `concat` makes a string of their size (`format!` grows one from nothing).
            Shown::Every(path) => ["every ", last_segment(path)].concat(),
            Shown::ScanOf(what) => ["scan of ", &what].concat(),
        }
    }
}

/// What follows a path's last `::` (all of it if none), as `rsplit("::").next()` gives
/// it, by a scan of the bytes from the end (cheaper than setting up a string search
/// for each table scan the trace shows).
fn last_segment(path: &str) -> &str {
    let bytes = path.as_bytes();
    (2..=bytes.len()).rev().find(|&end| &bytes[end - 2..end] == b"::").map_or(path, |end| &path[end..])
}

/// A record's key in an [`Access`].
fn record(key: &str) -> u64 {
    crate::harness::hash::key(&key)
}

/// [`record`] of a key's text, without making the text.
fn record_of(key: &impl std::fmt::Display) -> u64 {
    crate::harness::hash::key_of_text(key)
}

/// A part of a database that logs what each call touched (see [`Access`]); the
/// [`journal!`](crate::journal) macro gathers them under their field names.
pub trait Part {
    fn take_access(&mut self, part: u64, into: &mut Access);
    /// Forgets what was read (shown or not) and written since the last call, without
    /// gathering it (a call made outside the exhaustive search, whose access nobody reads).
    fn forget_access(&mut self) {
        self.take_access(0, &mut Access::default());
    }
}

/// A counter of a database (the next id to give): read and written as one record.
#[derive(Debug, Default)]
pub struct Counter {
    value: u64,
    read: std::sync::atomic::AtomicBool,
    written: bool,
}

impl Clone for Counter {
    fn clone(&self) -> Self {
        Counter { value: self.value, read: self.read.load(Relaxed).into(), written: self.written }
    }
}

impl Counter {
    /// The value given last (0: none yet).
    pub fn get(&self) -> u64 {
        self.read.store(true, Relaxed);
        self.value
    }

    /// Gives the next value (1, 2, ...).
    pub fn next_value(&mut self) -> u64 {
        *self.read.get_mut() = true;
        self.written = true;
        self.value += 1;
        self.value
    }
}

impl Part for Counter {
    fn take_access(&mut self, part: u64, into: &mut Access) {
        if std::mem::take(self.read.get_mut()) {
            into.reads.insert((part, 0));
        }
        if std::mem::take(&mut self.written) {
            into.writes.insert((part, 0));
        }
    }

    fn forget_access(&mut self) {
        *self.read.get_mut() = false;
        self.written = false;
    }
}

/// Rows by key, in key order, with a change stream, and a log of what was read (the
/// keys looked up, the tables scanned) for the trace.
#[derive(Clone, Debug)]
pub struct Table<T: Row> {
    rows: BTreeMap<T::Key, T>,
    changes: Vec<T::Doc>,
    reads: ReadLog,
    /// The records written since the last call, repeats included.
    written: Vec<u64>,
}

impl<T: Row> Default for Table<T> {
    fn default() -> Self {
        Table { rows: BTreeMap::new(), changes: Vec::new(), reads: Default::default(), written: Vec::new() }
    }
}

impl<T: Row> Table<T> {
    pub fn get(&self, key: &T::Key) -> Option<T> {
        self.reads.key(key.to_string());
        self.rows.get(key).cloned()
    }

    /// Every row, in key order (logged as a scan of the table).
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.reads.scan(Some(Shown::Every(std::any::type_name::<T>())));
        self.rows.values()
    }

    /// Every row, logged as the scan `what` is for.
    fn scan(&self, what: String) -> impl Iterator<Item = &T> {
        self.reads.scan(Some(Shown::ScanOf(what)));
        self.rows.values()
    }

    /// The row `key` as stored, for a conditional write: a read of it for the
    /// exhaustive search, not shown in the trace (which shows the write).
    fn stored(&self, key: &T::Key) -> Option<&T> {
        self.reads.unshown(record_of(key));
        self.rows.get(key)
    }

    /// What was read since the last call, onto `into` (a database's tables onto one list).
    pub fn drain_reads_into(&mut self, into: &mut Vec<String>) {
        self.reads.drain_shown(into);
    }

    pub fn len(&self) -> usize {
        self.reads.scan(None);
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts a new row; a row with the same key is a duplicate-key error.
    pub fn insert(&mut self, row: T) -> Result<(), StoreError> {
        let key = row.key();
        if self.stored(&key).is_some() {
            return Err(StoreError::DuplicateKey(key.to_string()));
        }
        self.upsert(row);
        Ok(())
    }

    /// Inserts or replaces a row.
    pub fn upsert(&mut self, row: T) {
        self.changes.push(row.snapshot());
        self.written.push(record_of(&row.key()));
        self.rows.insert(row.key(), row);
    }

    /// Writes drained from the change stream onto `into`, oldest first; the stream keeps
    /// its room for the next call.
    pub fn drain_changes_into(&mut self, into: &mut Vec<T::Doc>) {
        into.append(&mut self.changes);
    }
}

impl<T: Row> Part for Table<T> {
    fn take_access(&mut self, part: u64, into: &mut Access) {
        let reads = self.reads.take();
        into.reads.extend(reads.keys.into_iter().map(|k| (part, k)));
        if reads.scanned {
            into.scans.insert(part);
        }
        into.writes.extend(self.written.drain(..).map(|k| (part, k)));
    }

    fn forget_access(&mut self) {
        self.reads.clear();
        self.written.clear();
    }
}

/// A versioned document of a collection.
pub trait Versioned: Row<Key = Id> {
    fn version(&self) -> u64;
    fn set_version(&mut self, version: u64);
}

/// Implements [`Row`] and [`Versioned`] for a struct with `id: Id` and `version: u64`
/// fields, given the app's document type and how the change stream shows it:
/// `impl_doc!(Ticket: Snapshot, |t| Snapshot::Ticket { .. })`.
#[macro_export]
macro_rules! impl_doc {
    ($ty:ty : $doc_ty:ty, |$doc:ident| $snapshot:expr) => {
        impl $crate::kit::store::Row for $ty {
            type Key = $crate::kit::Id;
            type Doc = $doc_ty;
            fn key(&self) -> $crate::kit::Id {
                self.id.clone()
            }
            fn snapshot(&self) -> $doc_ty {
                let $doc = self;
                $snapshot
            }
        }
        impl $crate::kit::store::Versioned for $ty {
            fn version(&self) -> u64 {
                self.version
            }
            fn set_version(&mut self, version: u64) {
                self.version = version;
            }
        }
    };
}

/// Implements the harness's `Journal` for a database struct of the app's document
/// type: its change stream is its tables' streams, drained in the order listed, and
/// what a call touched is what its tables and counters logged
/// (`journal!(TicketsDb: Snapshot; tickets, outbox; next_id)`). Every field must be
/// listed, as a table (a [`Table`], a [`Collection`], an outbox) or after the `;` as a
/// [`Counter`]: a field left out does not compile ("pattern requires `..`": the
/// exhaustive search takes two calls that touch no common record to commute, so
/// nothing may be touched unlogged).
#[macro_export]
macro_rules! journal {
    ($db:ident : $doc_ty:ty; $($table:ident),+ $(; $($counter:ident),*)?) => {
        impl $crate::harness::store::Journal for $db {
            type Doc = $doc_ty;
            fn take_changes(&mut self) -> Vec<$doc_ty> {
                let mut changes = Vec::new();
                $(self.$table.drain_changes_into(&mut changes);)+
                changes
            }
            fn take_reads(&mut self) -> Vec<String> {
                let mut reads = Vec::new();
                $(self.$table.drain_reads_into(&mut reads);)+
                reads.dedup();
                reads
            }
            fn take_access(&mut self) -> Option<$crate::harness::store::Access> {
                use $crate::kit::store::Part;
                let $db { $($table,)+ $($($counter,)*)? } = self;
                let mut access = $crate::harness::store::Access::default();
                $($table.take_access($crate::harness::hash::key(&stringify!($table)), &mut access);)+
                $($($counter.take_access($crate::harness::hash::key(&stringify!($counter)), &mut access);)*)?
                Some(access)
            }
            fn forget(&mut self) {
                use $crate::kit::store::Part;
                let $db { $($table,)+ $($($counter,)*)? } = self;
                $($table.forget_access();)+
                $($($counter.forget_access();)*)?
            }
        }
    };
}

/// A collection of versioned documents, in id order.
#[derive(Clone, Debug)]
pub struct Collection<T: Versioned> {
    table: Table<T>,
    /// Version control on (`updateIfCurrent`); off, saves overwrite and keep the version.
    pub occ: bool,
}

impl<T: Versioned> Default for Collection<T> {
    fn default() -> Self {
        Collection { table: Table::default(), occ: true }
    }
}

impl<T: Versioned> Collection<T> {
    pub fn find(&self, id: &str) -> Option<T> {
        self.table.reads.key(id.to_string());
        self.table.rows.get(id).cloned()
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.table.values()
    }

    /// Every document, logged as the scan `what` is for (`orders on ticket T1`), so the
    /// trace of a record shows the reads that looked for it.
    pub fn scan(&self, what: String) -> impl Iterator<Item = &T> {
        self.table.scan(what)
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Inserts a new document at the version it carries (0, or a replica's event version).
    pub fn insert(&mut self, doc: T) -> Result<(), StoreError> {
        self.table.insert(doc)
    }

    /// Saves a document read earlier: fails if the stored version moved on, else stores
    /// it at version + 1 (without version control: overwrites, version unchanged).
    pub fn save(&mut self, mut doc: T) -> Result<T, StoreError> {
        let stored = self.table.stored(&doc.key()).ok_or_else(|| StoreError::NotFound(doc.key()))?;
        if self.occ {
            if stored.version() != doc.version() {
                return Err(StoreError::VersionConflict { id: doc.key(), read: doc.version(), stored: stored.version() });
            }
            doc.set_version(doc.version() + 1);
        }
        self.table.upsert(doc.clone());
        Ok(doc)
    }

    /// Changes a document without bumping its version (a field no replica tracks);
    /// still conditional on the version read.
    pub fn update_in_place(&mut self, doc: T) -> Result<(), StoreError> {
        let stored = self.table.stored(&doc.key()).ok_or_else(|| StoreError::NotFound(doc.key()))?;
        if self.occ && stored.version() != doc.version() {
            return Err(StoreError::VersionConflict { id: doc.key(), read: doc.version(), stored: stored.version() });
        }
        self.table.upsert(doc);
        Ok(())
    }

    /// Stores a replica at the version its event carries, unconditionally.
    pub fn put(&mut self, doc: T) {
        self.table.upsert(doc);
    }

    /// The document `id` if it holds `version - 1` (the previous version of an event).
    pub fn find_by_event(&self, id: &str, version: u64) -> Option<T> {
        self.table.reads.key(id.to_string());
        self.table.rows.get(id).filter(|d| version >= 1 && d.version() == version - 1).cloned()
    }

    pub fn drain_changes_into(&mut self, into: &mut Vec<T::Doc>) {
        self.table.drain_changes_into(into);
    }

    pub fn drain_reads_into(&mut self, into: &mut Vec<String>) {
        self.table.drain_reads_into(into);
    }
}

impl<T: Versioned> Part for Collection<T> {
    fn take_access(&mut self, part: u64, into: &mut Access) {
        self.table.take_access(part, into);
    }

    fn forget_access(&mut self) {
        self.table.forget_access();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_s_last_segment_is_what_rsplit_gives() {
        for path in ["", "a", ":", "::", "a::", "::b", "a:::b", "a::::b", "a::b::c", "x<y::z>", "a:b", "ticketsim::kit::Note"] {
            assert_eq!(last_segment(path), path.rsplit("::").next().unwrap(), "{path:?}");
        }
    }

    #[derive(Clone, Debug)]
    struct Note {
        id: Id,
        version: u64,
        text: String,
    }

    crate::impl_doc!(Note: String, |n| format!("note {} v{} {}", n.id, n.version, n.text));

    fn note(version: u64, text: &str) -> Note {
        Note { id: "n1".into(), version, text: text.into() }
    }

    #[test]
    fn save_increments_version_even_without_changes_and_rejects_stale_saves() {
        let mut c = Collection::default();
        c.insert(note(0, "a")).unwrap();
        let read = c.find("n1").unwrap();
        let saved = c.save(read.clone()).unwrap();
        assert_eq!(saved.version, 1);
        let err = c.save(read).unwrap_err();
        assert_eq!(err, StoreError::VersionConflict { id: "n1".into(), read: 0, stored: 1 });
        assert_eq!(c.find("n1").unwrap().version, 1, "a stale save changes nothing");
        let drained = |c: &mut Collection<Note>| {
            let mut changes = Vec::new();
            c.drain_changes_into(&mut changes);
            changes
        };
        assert_eq!(drained(&mut c).len(), 2, "the insert and the one save that happened");
        assert!(drained(&mut c).is_empty(), "drained");
    }

    #[test]
    fn duplicate_insert_is_a_duplicate_key_error() {
        let mut c = Collection::default();
        c.insert(note(0, "a")).unwrap();
        assert_eq!(c.insert(note(0, "b")), Err(StoreError::DuplicateKey("n1".into())));
    }

    #[test]
    fn find_by_event_needs_the_previous_version() {
        let mut c = Collection::default();
        c.insert(note(1, "a")).unwrap();
        assert!(c.find_by_event("n1", 2).is_some());
        assert!(c.find_by_event("n1", 3).is_none());
        assert!(c.find_by_event("n1", 1).is_none());
    }

    /// A database of two collections and a counter, as an app declares one.
    #[derive(Default)]
    struct NotesDb {
        notes: Collection<Note>,
        drafts: Collection<Note>,
        next: Counter,
    }

    crate::journal!(NotesDb: String; notes, drafts; next);

    fn access(db: &mut NotesDb, f: impl FnOnce(&mut NotesDb)) -> Access {
        use crate::harness::store::Journal;
        db.take_access();
        f(db);
        db.take_access().expect("the kit's databases know what each call touched")
    }

    #[test]
    fn a_call_s_access_names_the_records_it_read_and_wrote_and_the_tables_it_scanned() {
        let mut db = NotesDb::default();
        let insert = access(&mut db, |db| db.notes.insert(note(0, "a")).unwrap());
        let read = access(&mut db, |db| drop(db.notes.find("n1")));
        let save = access(&mut db, |db| drop(db.notes.save(db.notes.find("n1").unwrap())));
        let other = access(&mut db, |db| db.drafts.insert(note(0, "d")).unwrap());
        let missing = access(&mut db, |db| drop(db.notes.find("n2")));
        let late = access(&mut db, |db| db.notes.insert(Note { id: "n2".into(), ..note(0, "b") }).unwrap());
        let scan = access(&mut db, |db| {
            let _ = db.notes.scan("notes by text".into()).count();
        });
        let count = access(&mut db, |db| {
            let _ = db.notes.len();
        });
        let id = access(&mut db, |db| {
            let _ = db.next.next_value();
        });
        let peek = access(&mut db, |db| {
            let _ = db.next.get();
        });
        assert!(insert.conflicts(&read) && read.conflicts(&save) && insert.conflicts(&save), "one record");
        assert!(!read.conflicts(&read), "two reads commute");
        assert!(!other.conflicts(&save), "the same id in another table is another record");
        assert!(!insert.conflicts(&missing) && !missing.conflicts(&save), "n2 is another record, read while missing");
        assert!(late.conflicts(&missing), "a read of a missing record and its insert");
        assert!(scan.conflicts(&insert) && count.conflicts(&save) && !scan.conflicts(&other), "a scan reads its table");
        assert!(id.conflicts(&id) && id.conflicts(&peek) && !peek.conflicts(&peek), "the counter is a record");
        assert!(!id.conflicts(&insert));
        assert_eq!(access(&mut db, |_| ()), Access::default(), "drained");
        assert_eq!(db.next.get(), 1);
    }

    #[test]
    fn forgetting_a_call_leaves_nothing_for_the_next_one_and_reads_show_as_before() {
        use crate::harness::store::Journal;
        let mut db = NotesDb::default();
        db.notes.insert(note(0, "a")).unwrap();
        let _ = db.next.next_value();
        let _ = db.notes.values().count();
        let _ = db.drafts.scan("drafts by text".into()).count();
        assert_eq!(db.take_reads(), ["every Note", "scan of drafts by text"], "shown as the trace shows them");
        let _ = db.notes.find("n1");
        db.forget();
        assert!(db.take_reads().is_empty(), "the reads are forgotten");
        assert_eq!(db.take_access(), Some(Access::default()), "and what was read and written");
        assert_eq!(db.take_changes().len(), 1, "the change stream is the writes', not forgotten");
    }

    #[test]
    fn a_database_s_changes_and_reads_come_table_by_table_in_the_order_listed() {
        use crate::harness::store::Journal;
        let mut db = NotesDb::default();
        db.drafts.insert(note(0, "d")).unwrap();
        db.notes.insert(note(0, "a")).unwrap();
        db.notes.save(db.notes.find("n1").unwrap()).unwrap();
        assert_eq!(db.take_changes(), ["note n1 v0 a", "note n1 v1 a", "note n1 v0 d"], "notes, then drafts, each oldest first");
        db.drafts.insert(Note { id: "n2".into(), ..note(0, "e") }).unwrap();
        assert_eq!(db.take_changes(), ["note n2 v0 e"], "a drained stream starts again empty");
        let _ = db.drafts.find("n2");
        let _ = db.notes.find("n1");
        let _ = db.notes.find("n1");
        assert_eq!(db.take_reads(), ["n1", "n2"], "notes' reads, then drafts', a repeat shown once");
    }

    #[test]
    fn without_version_control_saves_overwrite_and_keep_the_version() {
        let mut c = Collection { occ: false, ..Default::default() };
        c.insert(note(0, "a")).unwrap();
        let read = c.find("n1").unwrap();
        c.save(Note { text: "b".into(), ..read.clone() }).unwrap();
        let saved = c.save(Note { text: "c".into(), ..read }).unwrap();
        assert_eq!((saved.version, saved.text.as_str()), (0, "c"));
    }
}
