//! The store handle the harness gives a service: the service's database behind round
//! trips. The database belongs to the service, not to an instance, so it survives
//! crashes. Every call waits a latency drawn from the decision source (that is where
//! concurrent handlers interleave), then runs atomically; afterwards the handle drains
//! the database's change stream and records the call and what it wrote. Services never
//! record anything themselves.

use super::choices::{Choices, Site};
pub use super::schedule::Access;
use super::sync::Mutex;
use std::sync::Arc;
use std::time::Duration;

/// A database state that reports what it wrote (its change stream, like a real
/// database's oplog): the store handle drains it after every call.
pub trait Journal: Send + 'static {
    /// A document as written.
    type Doc: Send + 'static;
    /// Documents written since the last call, oldest first.
    fn take_changes(&mut self) -> Vec<Self::Doc>;
    /// What was read since the last call (the keys found, the tables scanned), for the
    /// trace: a race of two handlers shows as two reads, then two writes. Default: nothing.
    fn take_reads(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// What was touched since the last call, record by record (for the exhaustive
    /// search: two calls that touch no common record commute). None: not known, the
    /// call is taken to touch the whole store. A state that returns Some must log every
    /// read and write of every part of it (the kit's `journal!` makes sure of it).
    fn take_access(&mut self) -> Option<Access> {
        None
    }
    /// Forgets what was read and touched since the last call without gathering it (an
    /// idle poll's reads, a call's access outside the exhaustive search, which nobody
    /// reads). Default: takes both.
    fn forget(&mut self) {
        self.take_reads();
        self.take_access();
    }
}

/// Records one store call: the node that made it, its name, when it began, what it wrote.
pub(crate) type Recorder<D> = Arc<dyn Fn(Option<&Arc<str>>, &'static str, Duration, Vec<String>, Vec<D>) + Send + Sync>;

/// What [`Store::poll_if`] did.
pub enum Polled<R> {
    Made(R),
    /// Not made, as it would have found nothing; its round trip would have ended `over`.
    Spared {
        over: Duration,
    },
}

/// A store call's kind: a transaction (always recorded, a step of the exhaustive
/// search) or a background poll (recorded only when it wrote).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tx,
    Poll,
}

/// A service's database as one instance sees it; cheap to clone.
pub struct Store<St: Journal> {
    pub(crate) name: &'static str,
    /// The instance using this handle, for the history.
    pub(crate) node: Option<Arc<str>>,
    pub(crate) state: Arc<Mutex<St>>,
    pub(crate) choices: Choices,
    pub(crate) latency: (Duration, Duration),
    pub(crate) recorder: Recorder<St::Doc>,
    /// Test-only: a latency offset that depends on state outside the run.
    pub(crate) planted: Option<u64>,
    /// Fault sites (swarm): an instance may die right after a write.
    pub(crate) buggify: Arc<super::buggify::Buggify>,
    /// Schedule mode: calls wait at the gate instead of sleeping a latency.
    pub(crate) gate: Option<super::schedule::Gate>,
}

impl<St: Journal> Clone for Store<St> {
    fn clone(&self) -> Self {
        Store {
            name: self.name,
            node: self.node.clone(),
            state: self.state.clone(),
            choices: self.choices.clone(),
            latency: self.latency,
            recorder: self.recorder.clone(),
            planted: self.planted,
            buggify: self.buggify.clone(),
            gate: self.gate.clone(),
        }
    }
}

impl<St: Journal> Store<St> {
    /// The same database, used by the instance on `node`.
    pub fn on(&self, node: &Arc<str>) -> Self {
        Store { node: Some(node.clone()), ..self.clone() }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// One round trip named `call` (what the handler asks for: `read`, `lock`, ...):
    /// waits the store latency, then runs `f` atomically.
    pub async fn tx<R>(&self, call: &'static str, f: impl FnOnce(&mut St) -> R) -> R {
        if let Some(answered) = self.buggify.before_call(self.node.as_ref(), self.name, call, &self.choices) {
            // Paused here (hold): the call is made at the resume.
            let _ = answered.await;
        }
        let began = super::now();
        let step = self.wait(call).await;
        let (result, read, docs, access) = self.apply(f, Kind::Tx);
        let wrote = !docs.is_empty();
        // A fault site decides on what the call read before the record takes it (the
        // decision is keyed, so its place among the run's draws changes nothing).
        let site = super::buggify::Call { node: self.node.as_ref(), store: self.name, wrote, read: &read };
        let fault = self.buggify.after_call(site, &self.choices);
        (self.recorder)(self.node.as_ref(), call, began, read, docs);
        if let (Some(gate), Some(id)) = (&self.gate, step) {
            gate.called(id, wrote, access);
        }
        if let Some(answered) = fault {
            // This instance dies (after a write) or freezes (after a read) here, unless
            // the quiet phase has begun: the nemesis kills it, and this call with it,
            // before it can answer, or resumes it after the pause.
            let _ = answered.await;
        }
        result
    }

    /// The round trip: its latency, or in schedule mode its turn at the gate (its step's
    /// id returned).
    async fn wait(&self, call: &'static str) -> Option<u64> {
        match &self.gate {
            Some(gate) => {
                let task = super::cause::current();
                let base = super::choices::mix(super::choices::key(&(self.name, call)), task);
                // A call touches its store; what its handler does around it is its task's (in
                // order, through the task's cause), not the node's.
                let owner = self.node.as_deref().map_or(0, |node| super::choices::key(&node));
                let store = super::schedule::Footprint::store(super::choices::key(&("store", self.name)), owner);
                Some(gate.pass(base, store, false, (task, task)).await.1)
            }
            None => {
                super::sleep(self.latency(call)).await;
                None
            }
        }
    }

    /// One round trip's latency, drawn from the decision source, keyed by the store and
    /// the call (and, through the decision source, the handler's cause).
    fn latency(&self, call: &'static str) -> Duration {
        let key = super::choices::key(&(self.name, call));
        let latency = self.choices.duration(Site::StoreLatency, key, self.latency.0, self.latency.1);
        match self.planted {
            // Test-only: state that outlives a run (how many runs this process made) leaks into it.
            Some(run) => latency + Duration::from_micros(1 + run % 97),
            None => latency,
        }
    }

    /// A background poll (a queue worker's scan, say): a round trip like [`Store::tx`],
    /// recorded only when it wrote something, so idle polling does not flood the history.
    pub async fn poll<R>(&self, call: &'static str, f: impl FnOnce(&mut St) -> R) -> R {
        let began = super::now();
        // In schedule mode a poll runs at its time, atomically: polls are not steps (two
        // instances' scans of one store at the same beats would double the schedules at
        // every beat, for calls that mostly find nothing).
        if self.gate.is_none() {
            super::sleep(self.latency(call)).await;
        }
        self.polled(call, began, f)
    }

    /// A [`Store::poll`] spared when it would find nothing: `worth` looks at the state
    /// as the call begins (it must not write), and when it says the poll would find
    /// nothing, no round trip is made. The latency is drawn all the same, so the draws
    /// after it are those the poll would have left, and [`Polled::Spared`] says when its
    /// round trip would have ended (in schedule mode, when it began: a poll there takes
    /// no time).
    pub async fn poll_if<R>(&self, call: &'static str, worth: impl FnOnce(&mut St) -> bool, f: impl FnOnce(&mut St) -> R) -> Polled<R> {
        let began = super::now();
        let latency = if self.gate.is_none() { Some(self.latency(call).max(super::MIN_SLEEP)) } else { None };
        if !worth(&mut self.state.lock()) {
            return Polled::Spared { over: super::on_grid(began + latency.unwrap_or_default()) };
        }
        if let Some(latency) = latency {
            super::sleep(latency).await;
        }
        Polled::Made(self.polled(call, began, f))
    }

    /// The poll's call on the state, recorded when it wrote.
    fn polled<R>(&self, call: &'static str, began: Duration, f: impl FnOnce(&mut St) -> R) -> R {
        let (result, read, wrote, _) = self.apply(f, Kind::Poll);
        if !wrote.is_empty() {
            (self.recorder)(self.node.as_ref(), call, began, read, wrote);
        }
        result
    }

    /// Runs `f` on the state: its result, what it wrote and, when the call is recorded
    /// (a transaction, a poll that wrote), what it read (for the trace); what it touched
    /// for the exhaustive search's transactions (nobody else reads it).
    fn apply<R>(&self, f: impl FnOnce(&mut St) -> R, kind: Kind) -> (R, Vec<String>, Vec<St::Doc>, Option<Access>) {
        let mut state = self.state.lock();
        // What unrecorded reads (final states, reports) left behind.
        state.forget();
        let result = f(&mut state);
        let docs = state.take_changes();
        let recorded = kind == Kind::Tx || !docs.is_empty();
        let read = if recorded { state.take_reads() } else { Vec::new() };
        let access = if kind == Kind::Tx && self.gate.is_some() {
            state.take_access()
        } else {
            state.forget();
            None
        };
        (result, read, docs, access)
    }

    /// Reads the state without a round trip and without recording (final states, reports).
    pub fn read<R>(&self, f: impl FnOnce(&St) -> R) -> R {
        f(&self.state.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store of numbers to hand on: a poll takes them all.
    #[derive(Default)]
    struct Queue {
        items: Vec<u64>,
        taken: Vec<u64>,
    }

    impl Journal for Queue {
        type Doc = u64;
        fn take_changes(&mut self) -> Vec<u64> {
            std::mem::take(&mut self.taken)
        }
    }

    type Calls = Arc<Mutex<Vec<(&'static str, Duration)>>>;

    fn queue(calls: &Calls) -> Store<Queue> {
        let calls = calls.clone();
        Store {
            name: "queue",
            node: None,
            state: Arc::default(),
            choices: Choices::new(1),
            latency: (Duration::from_millis(1), Duration::from_millis(4)),
            recorder: Arc::new(move |_, call, began, _, _| calls.lock().push((call, began))),
            planted: None,
            buggify: Arc::default(),
            gate: None,
        }
    }

    async fn take_all(store: &Store<Queue>) -> Polled<usize> {
        let worth = |q: &mut Queue| !q.items.is_empty();
        store
            .poll_if("take", worth, |q| {
                q.taken = std::mem::take(&mut q.items);
                q.taken.len()
            })
            .await
    }

    /// A spared poll takes no time, runs and records nothing, and draws its latency:
    /// the poll after it waits what the second of two polls waits.
    #[test]
    fn a_poll_with_nothing_to_do_is_spared_and_leaves_the_draws_a_poll_would() {
        let calls = Calls::default();
        let (ours, twin) = (queue(&calls), queue(&calls));
        madsim::runtime::Runtime::with_seed_and_config(1, Default::default()).block_on(async move {
            let began = crate::harness::now();
            let Polled::Spared { over } = take_all(&ours).await else { panic!("nothing to take") };
            assert_eq!(crate::harness::now(), began, "no round trip");
            let first = {
                twin.poll("take", |_| ()).await;
                crate::harness::now() - began
            };
            assert_eq!(over - began, first, "the spared poll's round trip is the first of the twin's");
            ours.state.lock().items.push(7);
            let (began, second) = (crate::harness::now(), twin.poll("take", |_| ()));
            second.await;
            let twin_second = crate::harness::now() - began;
            let began = crate::harness::now();
            assert!(matches!(take_all(&ours).await, Polled::Made(1)));
            assert_eq!(crate::harness::now() - began, twin_second, "the made poll waits the second draw");
            assert!(matches!(take_all(&ours).await, Polled::Spared { .. }), "all taken");
        });
        assert_eq!(calls.lock().len(), 1, "only the poll that wrote is recorded");
    }
}
