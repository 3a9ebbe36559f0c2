//! The history of a run: every store round trip (captured by the store handle the
//! harness gives a service), every fault, network events when asked for, and what the
//! system's infrastructure reports through its probe, each with its virtual time and
//! node. Invariants are pure functions of a history and the final states.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a system's infrastructure reports, and the documents its stores hold.
pub trait Observation: Clone + fmt::Debug + fmt::Display + Send + Sync + 'static {
    /// A document as a store wrote it.
    type Doc: Clone + fmt::Debug + fmt::Display + Send + Sync + 'static;
    /// Whether this shows the system doing work that changes what happens next (a
    /// message accepted or acknowledged, say). Liveness is judged only after a stretch
    /// without progress.
    fn is_progress(&self) -> bool;

    /// What the trace hash takes of this observation: by default its text. A system may
    /// hash its fields instead (`Hash` into the digest, much cheaper than formatting),
    /// and leave out what follows from the rest (a payload its id already names).
    fn digest(&self, out: &mut Digest) {
        out.text(self);
    }

    /// What the trace hash takes of a document a store wrote: by default its text.
    fn digest_doc(doc: &Self::Doc, out: &mut Digest) {
        out.text(doc);
    }

    /// Whether message diagrams mark this observation on its node's lane, and how:
    /// a failure (a handler that did not ack, say) is drawn in red. Default: not drawn.
    fn mark(&self) -> Option<Mark> {
        None
    }
}

/// How a diagram marks an observation on its node's lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Drawn as a note.
    Note,
    /// Drawn in red: something went wrong on the node.
    Failure,
}

/// The observations of a system whose only record is what its stores write.
#[derive(Clone, Debug)]
pub enum StoresOnly<D> {
    #[doc(hidden)]
    Never(std::convert::Infallible, std::marker::PhantomData<D>),
}

impl<D> fmt::Display for StoresOnly<D> {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoresOnly::Never(never, _) => match *never {},
        }
    }
}

impl<D: Clone + fmt::Debug + fmt::Display + Send + Sync + 'static> Observation for StoresOnly<D> {
    type Doc = D;
    fn is_progress(&self) -> bool {
        match self {
            StoresOnly::Never(never, _) => match *never {},
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

/// What the nemesis did: a typed contract between the code that records a fault and
/// the readers (coverage, the diagram), never re-parsed from the fault's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultEvent {
    Crash,
    /// An instance killed right after its store write (buggify).
    CrashAfterWrite,
    Restart,
    Pause,
    /// An instance paused right after a store call that only read (stretch).
    PauseAfterRead,
    /// An instance paused right before a store call of one of the run's kinds (hold).
    PauseBeforeCall,
    Resume,
    Partition,
    Heal,
    /// The quiet phase began: faults stop.
    Quiet,
}

impl FaultEvent {
    pub fn name(self) -> &'static str {
        match self {
            FaultEvent::Crash => "crash",
            FaultEvent::CrashAfterWrite => "crash-after-write",
            FaultEvent::Restart => "restart",
            FaultEvent::Pause => "pause",
            FaultEvent::PauseAfterRead => "pause-after-read",
            FaultEvent::PauseBeforeCall => "pause-before-call",
            FaultEvent::Resume => "resume",
            FaultEvent::Partition => "partition",
            FaultEvent::Heal => "heal",
            FaultEvent::Quiet => "quiet",
        }
    }
}

/// What happened, at a virtual time.
#[derive(Clone, Debug)]
pub enum Record<O: Observation> {
    /// One store round trip: the store, the call's name (what the handler asked for),
    /// when it began, and what it wrote (nothing for a read).
    Store { store: &'static str, call: &'static str, began: Duration, read: Vec<String>, wrote: Vec<O::Doc> },
    /// A network event (recorded only when messages are traced).
    Net { id: u64, from: Arc<str>, to: Arc<str>, kind: &'static str, what: NetWhat },
    /// A fault the nemesis inflicted or undid: what it was, and the text that says it.
    Fault { event: FaultEvent, text: String },
    /// Reported by the system's infrastructure through its probe.
    Observed(O),
}

impl<O: Observation> Record<O> {
    fn is_progress(&self) -> bool {
        match self {
            Record::Store { wrote, .. } => !wrote.is_empty(),
            Record::Net { .. } => false,
            Record::Fault { .. } => true,
            Record::Observed(o) => o.is_progress(),
        }
    }
}

impl<O: Observation> fmt::Display for Record<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Store { store, call, began, read, wrote } => {
                write!(f, "{store} store {call}")?;
                for (i, doc) in wrote.iter().enumerate() {
                    write!(f, "{}{doc}", if i == 0 { ": " } else { "; " })?;
                }
                match (read.is_empty(), wrote.is_empty()) {
                    (true, true) => write!(f, " (read, since {})", super::fmt_time(*began)),
                    (false, true) => write!(f, " (read {}, since {})", read.join(", "), super::fmt_time(*began)),
                    (false, false) => write!(f, " (read {})", read.join(", ")),
                    (true, false) => Ok(()),
                }
            }
            Record::Net { id, from, to, kind, what } => match what {
                NetWhat::Sent(text) => write!(f, "net #{id} {from} -> {to} {kind}: {text}"),
                NetWhat::Duplicated => write!(f, "net #{id} {from} -> {to} {kind} duplicated"),
                NetWhat::Dropped(reason) => write!(f, "net #{id} {from} -> {to} {kind} dropped ({reason})"),
                NetWhat::Delivered => write!(f, "net #{id} {from} -> {to} {kind} delivered"),
            },
            Record::Fault { text, .. } => write!(f, "nemesis: {text}"),
            Record::Observed(o) => fmt::Display::fmt(o, f),
        }
    }
}

/// A record with its virtual time, the node it happened on, and its position.
#[derive(Clone, Debug)]
pub struct Entry<O: Observation> {
    pub index: usize,
    pub time: Duration,
    pub node: Option<Arc<str>>,
    pub record: Record<O>,
    /// The cause of the task that recorded it (see [`super::cause`]): a message's
    /// delivery and everything its handler did share one, so a diagram can draw what a
    /// delivery caused. 0 for the run's own setup and hand-made histories.
    pub cause: u64,
}

impl<O: Observation> Entry<O> {
    /// Whether the entry names `word` (a record id, a node name) as a whole word.
    pub fn mentions(&self, word: &str) -> bool {
        self.node.as_deref() == Some(word) || mentions(&self.record.to_string(), word)
    }

    /// The documents this entry wrote to a store (none for anything else).
    pub fn wrote(&self) -> &[O::Doc] {
        match &self.record {
            Record::Store { wrote, .. } => wrote,
            _ => &[],
        }
    }

    /// When this entry's store round trip began (`None` for anything else).
    pub fn store_began(&self) -> Option<Duration> {
        match &self.record {
            Record::Store { began, .. } => Some(*began),
            _ => None,
        }
    }

    /// The store this entry is a round trip to, with the call's name.
    pub fn store_call(&self) -> Option<(&'static str, &'static str)> {
        match &self.record {
            Record::Store { store, call, .. } => Some((store, call)),
            _ => None,
        }
    }

    pub fn observed(&self) -> Option<&O> {
        match &self.record {
            Record::Observed(o) => Some(o),
            _ => None,
        }
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
    /// Only what names one of these records (none: everything).
    pub records: Vec<String>,
    pub from: Option<Duration>,
    pub until: Option<Duration>,
}

impl TraceFilter {
    pub fn matches<O: Observation>(&self, entry: &Entry<O>) -> bool {
        self.from.is_none_or(|from| entry.time >= from)
            && self.until.is_none_or(|until| entry.time <= until)
            && self.node.as_deref().is_none_or(|n| entry.mentions(n))
            && (self.records.is_empty() || self.records.iter().any(|r| entry.mentions(r)))
    }

    /// Whether the filter lets everything through.
    pub fn is_empty(&self) -> bool {
        self.node.is_none() && self.records.is_empty() && self.from.is_none() && self.until.is_none()
    }
}

/// The recorded history; cheap to clone, shared by every node of a run.
pub struct History<O: Observation> {
    entries: Arc<Entries<O>>,
    /// The virtual time (ns) of the last record that showed progress.
    last_progress: Arc<AtomicU64>,
    trace: Option<Arc<TraceFilter>>,
    events: Arc<EventBudget>,
}

/// A history's records. When the last handle to a history goes, its emptied buffer is
/// kept for the thread's next history (one buffer a thread, at most [`SPARE_BYTES`]):
/// a sweep does not free and grow it again for every seed.
#[derive(Debug)]
struct Entries<O: Observation>(Mutex<Vec<Entry<O>>>);

/// The largest buffer a thread keeps for its next history.
const SPARE_BYTES: usize = 16 << 20;

impl<O: Observation> Default for Entries<O> {
    fn default() -> Self {
        Entries(Mutex::new(super::spare::take()))
    }
}

impl<O: Observation> Drop for Entries<O> {
    fn drop(&mut self) {
        let Ok(entries) = self.0.get_mut() else { return };
        let mut entries = std::mem::take(entries);
        entries.clear();
        if entries.capacity() * std::mem::size_of::<Entry<O>>() <= SPARE_BYTES {
            super::spare::keep(entries);
        }
    }
}

impl<O: Observation> std::ops::Deref for Entries<O> {
    type Target = Mutex<Vec<Entry<O>>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The run's events (every record but network ones, which are kept only on request,
/// so the count is the same whatever is recorded) against its budget.
#[derive(Debug)]
struct EventBudget {
    counted: AtomicU64,
    /// The virtual time (ns) of the last event.
    last: AtomicU64,
    limit: AtomicU64,
    /// Woken when the count reaches the limit.
    waker: Mutex<Option<std::task::Waker>>,
}

impl Default for EventBudget {
    fn default() -> Self {
        EventBudget { counted: AtomicU64::new(0), last: AtomicU64::new(0), limit: AtomicU64::new(u64::MAX), waker: Mutex::default() }
    }
}

impl<O: Observation> Clone for History<O> {
    fn clone(&self) -> Self {
        History {
            entries: self.entries.clone(),
            last_progress: self.last_progress.clone(),
            trace: self.trace.clone(),
            events: self.events.clone(),
        }
    }
}

impl<O: Observation> fmt::Debug for History<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "History({} records)", self.len())
    }
}

impl<O: Observation> Default for History<O> {
    fn default() -> Self {
        History::new(None)
    }
}

impl<O: Observation> History<O> {
    /// A history; with a filter, matching entries are also emitted as tracing events.
    pub fn new(trace: Option<TraceFilter>) -> Self {
        History { entries: Arc::default(), last_progress: Arc::default(), trace: trace.map(Arc::new), events: Arc::default() }
    }

    /// Sets the most events the run may record (see [`History::events`]).
    pub fn set_event_budget(&self, limit: u64) {
        self.events.limit.store(limit, Ordering::Relaxed);
    }

    /// Events recorded so far: every record but network ones.
    pub fn events(&self) -> u64 {
        self.events.counted.load(Ordering::Relaxed)
    }

    /// When the last event was recorded.
    pub fn last_event(&self) -> Duration {
        Duration::from_nanos(self.events.last.load(Ordering::Relaxed))
    }

    /// Resolves once the run has recorded as many events as its budget allows.
    pub fn budget_spent(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let events = self.events.clone();
        std::future::poll_fn(move |cx| {
            if events.counted.load(Ordering::Relaxed) >= events.limit.load(Ordering::Relaxed) {
                return std::task::Poll::Ready(());
            }
            *events.waker.lock().unwrap() = Some(cx.waker().clone());
            std::task::Poll::Pending
        })
    }

    /// Builds a history from hand-made records (for invariant tests).
    pub fn from_records(records: Vec<(Duration, Record<O>)>) -> Self {
        let history = History::new(None);
        {
            let mut entries = history.entries.lock().unwrap();
            for (time, record) in records {
                let index = entries.len();
                entries.push(Entry { index, time, node: None, record, cause: 0 });
            }
        }
        history
    }

    /// Records at the current virtual time, on no particular node (the harness).
    pub fn push(&self, record: Record<O>) {
        self.push_on(None, record);
    }

    /// Records at the current virtual time, as happening on `node`.
    pub fn push_on(&self, node: Option<&Arc<str>>, record: Record<O>) {
        let time = super::now();
        let mut entries = self.entries.lock().unwrap();
        if let Some(last) = entries.last() {
            assert!(time >= last.time, "harness assumption broken: virtual time ran backwards ({:?} after {:?})", time, last.time);
        }
        if record.is_progress() {
            self.last_progress.store(time.as_nanos() as u64, Ordering::Relaxed);
        }
        if !matches!(record, Record::Net { .. }) {
            self.events.last.store(time.as_nanos() as u64, Ordering::Relaxed);
            let counted = self.events.counted.fetch_add(1, Ordering::Relaxed) + 1;
            if counted == self.events.limit.load(Ordering::Relaxed) {
                if let Some(waker) = self.events.waker.lock().unwrap().take() {
                    waker.wake();
                }
            }
        }
        let entry = Entry { index: entries.len(), time, node: node.cloned(), record, cause: super::cause::current() };
        if let Some(filter) = &self.trace {
            if filter.matches(&entry) {
                tracing::info!(target: "ticketsim", "{:<14} {}", entry.node.as_deref().unwrap_or("-"), entry.record);
            }
        }
        entries.push(entry);
    }

    pub fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry<O>>> {
        self.entries.lock().unwrap()
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// When the system last showed progress.
    pub fn last_progress(&self) -> Duration {
        Duration::from_nanos(self.last_progress.load(Ordering::Relaxed))
    }

    /// A stable hash of the whole history (each entry's time, node and record, their
    /// fields fed to a hasher, with no text built): two runs of one seed must give the
    /// same value.
    pub fn fingerprint(&self) -> u64 {
        let mut out = Digest::default();
        for entry in self.entries.lock().unwrap().iter() {
            out.write_u64(entry.time.as_nanos() as u64);
            entry.node.as_deref().hash(&mut out);
            entry.record.digest(&mut out);
        }
        out.finish()
    }
}

impl<O: Observation> Record<O> {
    /// Feeds what the trace hash takes of this record: every field, and what a
    /// system's [`Observation::digest`] and [`Observation::digest_doc`] take.
    fn digest(&self, out: &mut Digest) {
        match self {
            Record::Store { store, call, began, read, wrote } => {
                (0u8, store, call, began, read, wrote.len()).hash(out);
                wrote.iter().for_each(|doc| O::digest_doc(doc, out));
            }
            Record::Net { id, from, to, kind, what } => {
                (1u8, id, from, to, kind).hash(out);
                match what {
                    NetWhat::Sent(text) => (0u8, text.as_str()).hash(out),
                    NetWhat::Duplicated => out.write_u8(1),
                    NetWhat::Dropped(reason) => (2u8, reason).hash(out),
                    NetWhat::Delivered => out.write_u8(3),
                }
            }
            Record::Fault { event, text } => (2u8, event, text).hash(out),
            Record::Observed(o) => {
                out.write_u8(3);
                o.digest(out);
            }
        }
    }
}

/// A map that judging looks things up in, and never iterates where the order could
/// show (answers-match visits its waiting requests, each answered again on its own):
/// hashed by [`Digest`]'s multiply-rotate, quicker than an ordered map's comparisons of
/// text keys and than std's default hasher. Its order is arbitrary: where an order can
/// show, use an ordered map.
pub type Lookup<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<Digest>>;

/// [`Lookup`]'s set: asked only whether it holds a value.
pub type LookupSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<Digest>>;

/// What the trace hash is computed with: a [`Hasher`](std::hash::Hasher) (a record's
/// fields are fed as `Hash` feeds them) that also takes text (what a type only says
/// through `Display`). FxHash's multiply-rotate over 8-byte words, not random-seeded:
/// the same within one build, run after run and machine after machine; another build
/// may give other values (`Hash` of std's types may feed them otherwise).
#[derive(Default)]
pub struct Digest(TraceHasher);

impl Digest {
    /// Feeds a value's text, as it formats (no string built), then an end mark.
    pub fn text(&mut self, value: &(impl fmt::Display + ?Sized)) {
        use std::fmt::Write;
        let _ = write!(self.0, "{value}");
        self.0.word(0xff);
    }
}

impl std::hash::Hasher for Digest {
    fn finish(&self) -> u64 {
        self.0 .0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.feed(bytes);
    }

    fn write_u8(&mut self, n: u8) {
        self.0.word(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.0.word(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.0.word(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0.word(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.0.word(n as u64);
    }

    fn write_isize(&mut self, n: isize) {
        self.0.word(n as u64);
    }
}

/// A fast, stable (not random-seeded) hash of bytes: FxHash's multiply-rotate over
/// 8-byte words.
struct TraceHasher(u64);

/// Eight hex digits naming a text (a bug's fingerprint in a file name), stable across
/// runs and builds.
pub fn short_hash(text: &str) -> String {
    let mut hasher = TraceHasher::default();
    hasher.feed(text.as_bytes());
    format!("{:08x}", hasher.0 >> 32)
}

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHasher {
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn feed(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.word(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 56));
    }
}

impl std::fmt::Write for TraceHasher {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.feed(s.as_bytes());
        Ok(())
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

    type H = super::History<super::StoresOnly<String>>;

    fn faults(n: usize) -> H {
        let fault = || super::Record::Fault { event: super::FaultEvent::Crash, text: "crash".into() };
        H::from_records((0..n).map(|_| (std::time::Duration::ZERO, fault())).collect())
    }

    #[test]
    fn the_trace_hash_takes_every_field_of_the_harness_s_records() {
        use super::{FaultEvent, NetWhat, Record};
        use std::time::Duration;
        type R = Record<super::StoresOnly<String>>;
        let store = |store: &'static str, call: &'static str, read: &[&str], wrote: &str, began: u64| R::Store {
            store,
            call,
            began: Duration::from_millis(began),
            read: read.iter().map(|r| r.to_string()).collect(),
            wrote: vec![wrote.to_string()],
        };
        let net =
            |id: u64, from: &str, to: &str, kind: &'static str, what: NetWhat| R::Net { id, from: from.into(), to: to.into(), kind, what };
        let sent = || NetWhat::Sent("hi".into());
        let fault = |event: FaultEvent, text: &str| R::Fault { event, text: text.into() };
        let base = || {
            vec![
                store("tickets", "save", &["T1", "T2"], "ticket T1 v0", 5),
                net(1, "a", "b", "event", sent()),
                fault(FaultEvent::Crash, "crash"),
            ]
        };
        let history = |at: u64, node: Option<&str>, records: Vec<R>| {
            let history = H::from_records(records.into_iter().map(|r| (Duration::from_millis(at), r)).collect());
            history.entries()[0].node = node.map(Into::into);
            history.fingerprint()
        };
        let with = |i: usize, record: R| {
            let mut records = base();
            records[i] = record;
            history(7, None, records)
        };
        let hashes = [
            history(7, None, base()),
            history(8, None, base()),
            history(7, Some("orders"), base()),
            history(7, Some("-"), base()),
            with(0, store("orders", "save", &["T1", "T2"], "ticket T1 v0", 5)),
            with(0, store("tickets", "find", &["T1", "T2"], "ticket T1 v0", 5)),
            with(0, store("tickets", "save", &["T1, T2"], "ticket T1 v0", 5)),
            with(0, store("tickets", "save", &["T1", "T2"], "ticket T1 v1", 5)),
            with(0, store("tickets", "save", &["T1", "T2"], "ticket T1 v0", 6)),
            with(1, net(2, "a", "b", "event", sent())),
            with(1, net(1, "c", "b", "event", sent())),
            with(1, net(1, "a", "c", "event", sent())),
            with(1, net(1, "a", "b", "ack", sent())),
            with(1, net(1, "a", "b", "event", NetWhat::Sent("ho".into()))),
            with(1, net(1, "a", "b", "event", NetWhat::Delivered)),
            with(1, net(1, "a", "b", "event", NetWhat::Duplicated)),
            with(1, net(1, "a", "b", "event", NetWhat::Dropped("random"))),
            with(1, net(1, "a", "b", "event", NetWhat::Dropped("partition"))),
            with(2, fault(FaultEvent::Pause, "crash")),
            with(2, fault(FaultEvent::Crash, "restart")),
            history(
                7,
                None,
                vec![
                    store("tickets", "save", &["T1", "T2"], "ticket T1 v0", 5),
                    fault(FaultEvent::Crash, "crash"),
                    net(1, "a", "b", "event", sent()),
                ],
            ),
        ];
        assert_eq!(history(7, None, base()), hashes[0], "the same history, the same hash");
        let distinct: std::collections::BTreeSet<u64> = hashes.iter().copied().collect();
        assert_eq!(distinct.len(), hashes.len(), "each change of a field or of the order changes the hash: {hashes:x?}");
    }

    #[test]
    fn a_history_gone_leaves_its_emptied_buffer_to_the_next_one_on_its_thread() {
        let first = faults(1000);
        let capacity = first.entries().capacity();
        let handle = first.clone();
        drop(first);
        assert_eq!(handle.len(), 1000, "a handle still held keeps the records");
        drop(handle);
        let next = H::new(None);
        assert_eq!((next.len(), next.entries().capacity()), (0, capacity));
        let other = H::new(None);
        assert_eq!(other.entries().capacity(), 0, "one buffer a thread, given once");
    }

    #[test]
    fn a_buffer_over_the_bound_is_freed_not_kept() {
        let entry = std::mem::size_of::<super::Entry<super::StoresOnly<String>>>();
        drop(faults(super::SPARE_BYTES / entry + 1));
        assert_eq!(H::new(None).entries().capacity(), 0);
    }
}
