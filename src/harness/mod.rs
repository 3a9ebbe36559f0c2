//! The simulation harness: everything that is not the system under test. It knows
//! nothing about tickets. A system plugs in through the [`System`] trait: its nodes and
//! how they start and restart, its workload, its final state and its invariants. The
//! harness gives it a network ([`fabric`]), stores ([`store`]) and a probe for its
//! infrastructure ([`world::Probe`]); faults, random decisions and time all come from here.
//!
//! - [`choices`]: the one decision source (draws from madsim's seeded RNG; record, replay)
//! - [`fabric`]: every message between nodes; drop, duplicate, delay, partitions
//! - [`workers`]: the reused tasks a node runs its deliveries in
//! - [`nemesis`]: the fault plan and its execution (crash, restart, pause, partition)
//! - [`world`]: the world runtime: madsim nodes, incarnations, attach/detach
//! - [`store`]: the store handle a service gets (round trips, observed writes)
//! - [`history`]: what happened, with virtual times
//! - [`run`], [`explore`], [`shrink`], [`determinism`]: one seed, sweeps, minimal
//!   reproductions, the determinism check

pub mod alarm;
pub mod attribute;
pub mod buggify;
pub mod cause;
pub mod causes;
pub mod choices;
pub mod determinism;
pub mod diff;
pub mod duration;
pub mod exhaustive;
pub mod explore;
pub mod fabric;
pub mod hash;
pub mod history;
pub mod hunt;
pub mod interrupt;
pub mod kept;
pub mod nemesis;
pub mod panics;
pub mod plan;
pub mod priority;
pub mod run;
pub mod schedule;
pub mod shrink;
pub mod spare;
pub mod store;
pub mod strategy;
pub mod switches;
pub mod sync;
pub mod system;
pub mod triage;
pub mod workers;
pub mod world;

pub use system::{Check, Invariant, InvariantKind, System, Violation};

/// A node of the world, as [`world::WorldBuilder::node`] and `users` hand it out: a
/// handle, stable across crashes and restarts. It is opaque on purpose: a system names
/// a node by the handle it was given, never by where it was declared, so reordering
/// declarations cannot silently point a message at another node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct NodeId(u16);

impl NodeId {
    /// The bound on a world's nodes (the fabric's slot table).
    pub const LIMIT: usize = u16::MAX as usize;

    pub(crate) fn from_slot(slot: usize) -> NodeId {
        assert!(slot < Self::LIMIT, "a world holds at most {} nodes", Self::LIMIT);
        NodeId(slot as u16)
    }

    /// The node's slot in the harness's tables (declaration order; harness-internal).
    pub(crate) fn slot(self) -> usize {
        self.0 as usize
    }
}

use std::time::Duration;

/// The grid of the harness's clock. madsim advances its clock 50-100 ns per task poll,
/// drawn from its own RNG, so two runs that poll differently drift apart by nanoseconds;
/// every time the harness reads or sleeps is taken on this grid instead, and a timer
/// fires exactly on its deadline, so the drift never carries from one hop to the next.
pub const TICK: Duration = Duration::from_micros(10);

/// The shortest sleep: madsim makes every sleep last at least 1 ms from its drifted
/// clock; one tick more keeps every deadline on the grid.
pub const MIN_SLEEP: Duration = Duration::from_micros(1010);

/// Virtual time elapsed since the simulation started, on the [`TICK`] grid.
pub fn now() -> Duration {
    with_clock(|clock| on_grid(clock.time.elapsed()))
}

/// The running world's clock and the instant its time counts from (madsim's instant
/// is that base plus the elapsed time: one read of the clock gives both), and the one
/// madsim sleep every sleep of the run polls with.
struct Clock {
    time: madsim::time::TimeHandle,
    base: madsim::time::Instant,
    /// The madsim sleep each poll of a sleep resets to its deadline and polls, as
    /// [`wake_after`] does: madsim's sleep is its deadline and the clock's handle, and
    /// its timer holds the waker, not the sleep, so one serves the whole run.
    waking: std::cell::RefCell<Option<madsim::time::Sleep>>,
}

impl Clock {
    fn new(time: madsim::time::TimeHandle) -> Clock {
        let base = time.now_instant() - time.elapsed();
        Clock { time, base, waking: std::cell::RefCell::new(None) }
    }

    /// The deadline of a sleep until `at` on the grid, from one read of the clock: `at`
    /// from what is on the grid now, never less than a millisecond from now (madsim's
    /// `sleep_until`'s floor).
    fn deadline(&self, at: impl FnOnce(Duration) -> Duration) -> madsim::time::Instant {
        bump(&TIMERS);
        let elapsed = self.time.elapsed();
        // The later of the two times, added to the base once.
        self.base + at(on_grid(elapsed)).max(elapsed + Duration::from_millis(1))
    }

    /// madsim's sleep until `deadline`, polled with `cx`: ready once the deadline has
    /// passed, else a timer set to wake `cx`'s waker then.
    fn poll_until(&self, deadline: madsim::time::Instant, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let mut waking = self.waking.borrow_mut();
        let sleep = waking.get_or_insert_with(|| self.time.sleep_until(deadline));
        let mut sleep = std::pin::Pin::new(sleep);
        sleep.as_mut().reset(deadline);
        let polled = std::future::Future::poll(sleep, cx);
        if polled.is_pending() {
            // madsim sets a timer each time it finds a sleep pending.
            bump(&TIMERS_SET);
        }
        polled
    }
}

/// A sleep on the harness's clock ([`sleep`], [`sleep_until`]): its deadline, polled as
/// madsim polls its own sleep (through the clock's one madsim sleep, so nothing is
/// made or kept per sleep). It belongs to the run it was made in, and is polled on the
/// clock of the run polling it (madsim drops a run's tasks, and their sleeps, with it).
pub struct Sleep {
    deadline: madsim::time::Instant,
}

impl std::future::Future for Sleep {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let deadline = self.deadline;
        with_clock(|clock| clock.poll_until(deadline, cx))
    }
}

thread_local! {
    /// Sleeps started on this thread, for `bench`.
    static TIMERS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Timers madsim set for the sleeps on this thread: one each time a sleep is polled
    /// and found pending (a sleep polled twice before its deadline sets two).
    static TIMERS_SET: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Polls of a task's outermost caused future on this thread (each a madsim executor
    /// step), for `bench`.
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Adds one to one of this thread's counters for `bench`.
fn bump(counter: &'static std::thread::LocalKey<std::cell::Cell<u64>>) {
    counter.with(|c| c.set(c.get() + 1));
}

/// The madsim work of a run (or of a sweep's runs, summed): the sleeps the harness and
/// the systems started, the madsim timers those set, the executor steps that polled the
/// run's tasks. `bench` divides a scenario's by its delivered messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    pub timers: u64,
    pub timers_set: u64,
    pub steps: u64,
}

impl Work {
    /// This thread's counters so far.
    pub fn so_far() -> Work {
        Work { timers: timers_started(), timers_set: timers_set(), steps: steps_taken() }
    }

    /// This thread's work since `start` (its counters then).
    pub fn since(start: Work) -> Work {
        let now = Work::so_far();
        Work { timers: now.timers - start.timers, timers_set: now.timers_set - start.timers_set, steps: now.steps - start.steps }
    }
}

impl std::ops::AddAssign for Work {
    fn add_assign(&mut self, other: Work) {
        self.timers += other.timers;
        self.timers_set += other.timers_set;
        self.steps += other.steps;
    }
}

/// How many sleeps the harness and the systems started on this thread so far: `bench`
/// divides a scenario's by its delivered messages.
pub fn timers_started() -> u64 {
    TIMERS.with(std::cell::Cell::get)
}

/// How many madsim timers the harness's and the systems' sleeps set on this thread so
/// far (at least [`timers_started`] less the sleeps never found pending: never polled,
/// or first polled at their deadline): `bench` prices them.
pub fn timers_set() -> u64 {
    TIMERS_SET.with(std::cell::Cell::get)
}

/// Counts an executor step: [`cause::Caused`] calls it when polled with no cause set,
/// that is as the outermost future of a task's poll. (A caused future of cause 0 would
/// count as outermost, and so would those inside it; no task is rooted in cause 0: each
/// is a node's, a user's or a delivery's.)
pub(crate) fn count_step() {
    bump(&STEPS);
}

/// How many executor steps polled a caused future on this thread so far: nearly every
/// step of a run (the nodes' tasks, the users', the deliveries; not the fault tasks
/// nor the run's own). `bench` divides a scenario's by its delivered messages.
pub fn steps_taken() -> u64 {
    STEPS.with(std::cell::Cell::get)
}

thread_local! {
    /// The running world's clock, kept for the run (madsim's `TimeHandle::current`
    /// looks the runtime up and clones two `Arc`s on every read).
    static CLOCK: std::cell::RefCell<Option<Clock>> = const { std::cell::RefCell::new(None) };
}

/// Keeps the running world's clock for this thread (`None` when its run ends).
pub(crate) fn keep_clock(clock: Option<madsim::time::TimeHandle>) {
    // The old clock is dropped after the borrow ends.
    let old = CLOCK.with(|c| std::mem::replace(&mut *c.borrow_mut(), clock.map(Clock::new)));
    drop(old);
}

fn with_clock<R>(f: impl FnOnce(&Clock) -> R) -> R {
    CLOCK.with(|c| match c.borrow().as_ref() {
        Some(clock) => f(clock),
        // Not a kept clock: the runtime's, looked up for this call.
        None => f(&Clock::new(madsim::time::TimeHandle::current())),
    })
}

pub(crate) fn on_grid(t: Duration) -> Duration {
    // In u64 nanoseconds (584 years; u128 division costs a call per clock read).
    const TICK_NANOS: u64 = TICK.as_nanos() as u64;
    let nanos = t.as_secs() * 1_000_000_000 + u64::from(t.subsec_nanos());
    Duration::from_nanos(nanos - nanos % TICK_NANOS)
}

/// Sleeps `duration` (at least [`MIN_SLEEP`]) from [`now`]: the deadline is on the grid
/// whatever madsim's drift.
pub fn sleep(duration: Duration) -> Sleep {
    with_clock(|clock| Sleep { deadline: clock.deadline(|now| now + duration.max(MIN_SLEEP)) })
}

/// Wakes `waker` once [`sleep`]`(duration)` would be over: the sleep polled once with
/// it (madsim's timer holds the waker, not the sleep; the fabric's deliveries set their
/// timers at the send this way). madsim wakes it from its timer's expiry, under its
/// timer lock: the wake must not poll a future or set a timer there (it would wait for
/// that lock forever); handing a job to a task, as [`workers::Workers::run_after`]
/// does, is a queue push.
pub(crate) fn wake_after(duration: Duration, waker: &std::task::Waker) {
    with_clock(|clock| {
        let deadline = clock.deadline(|now| now + duration.max(MIN_SLEEP));
        let polled = clock.poll_until(deadline, &mut std::task::Context::from_waker(waker));
        assert!(polled.is_pending(), "harness assumption broken: a sleep of at least a millisecond was over at once");
    });
}

/// Sleeps until virtual time `at` (at least [`MIN_SLEEP`] from now).
pub fn sleep_until(at: Duration) -> Sleep {
    with_clock(|clock| Sleep { deadline: clock.deadline(|now| at.max(now + MIN_SLEEP)) })
}

/// Sleeps until virtual time `at` on the grid, which comes after [`now`], even when it
/// is nearer than [`MIN_SLEEP`]: a periodic loop's next beat, kept after a wait that was
/// cut short. Its deadline is not held to madsim's floor of 1 ms (a madsim sleep reset
/// to it is not).
pub fn sleep_until_beat(at: Duration) -> Sleep {
    with_clock(|clock| {
        bump(&TIMERS);
        Sleep { deadline: clock.base + at.max(on_grid(clock.time.elapsed()) + TICK) }
    })
}

/// `future`, or `Err` once `duration` has passed ([`sleep`]'s clock).
pub async fn timeout<F: std::future::Future>(duration: Duration, future: F) -> Result<F::Output, ()> {
    match futures::future::select(std::pin::pin!(future), std::pin::pin!(sleep(duration))).await {
        futures::future::Either::Left((out, _)) => Ok(out),
        futures::future::Either::Right(_) => Err(()),
    }
}

/// Formats a virtual time as seconds with millisecond precision, e.g. `12.345s`.
pub fn fmt_time(t: Duration) -> String {
    format!("{}.{:03}s", t.as_secs(), t.subsec_millis())
}

/// A virtual time to the microsecond, for telling apart events a millisecond hides.
pub fn fmt_time_precise(t: Duration) -> String {
    format!("{}.{:06}s", t.as_secs(), t.subsec_micros())
}

/// A boxed, sendable future.
pub type BoxFuture<T = ()> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

/// The longest piece of input an error message repeats.
pub const ECHO_LIMIT: usize = 80;

/// Input quoted for an error message: cut at [`ECHO_LIMIT`] characters, saying how
/// long it was, so a huge key or value cannot flood the terminal.
pub fn echo(text: &str) -> String {
    let total = text.chars().count();
    if total <= ECHO_LIMIT {
        return format!("{text:?}");
    }
    let cut: String = text.chars().take(ECHO_LIMIT).collect();
    format!("{cut:?}... ({total} characters)")
}

/// A message with every over-long word of input in it cut as [`echo`] cuts (and the
/// whole at 50 such words' worth), so no input can make an error message huge.
pub fn bounded(message: &str) -> String {
    let mut out = String::new();
    for (i, word) in message.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let total = word.chars().count();
        if total > 2 * ECHO_LIMIT {
            out.extend(word.chars().take(ECHO_LIMIT));
            out.push_str(&format!("... ({total} characters)"));
        } else {
            out.push_str(word);
        }
        if out.len() > 100 * ECHO_LIMIT {
            out.push_str(&format!("... (message cut; {} characters)", message.chars().count()));
            break;
        }
    }
    out
}

/// ` (did you mean "x"?)` when one of `known` is close to `given` (a typo), else "".
pub fn did_you_mean<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let best = known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(given, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    best.map(|(_, k)| format!(" (did you mean {k:?}?)")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn echo_cuts_long_input_and_says_how_long_it_was() {
        assert_eq!(super::echo("ab"), "\"ab\"");
        let long = "x".repeat(5000);
        let shown = super::echo(&long);
        assert!(shown.starts_with(&format!("\"{}\"", "x".repeat(80))) && shown.ends_with("... (5000 characters)"), "{shown}");
        let message = super::bounded(&format!("unknown field `{long}`, expected `name`"));
        assert_eq!(message, format!("unknown field `{}... (5003 characters) expected `name`", "x".repeat(79)));
        let many = super::bounded(&"word ".repeat(100_000));
        assert!(many.len() < 9000 && many.ends_with("(message cut; 500000 characters)"), "{}", many.len());
    }

    #[test]
    fn a_typo_gets_a_suggestion_and_nonsense_does_not() {
        let known = ["order-race", "full-system", "walkthrough"];
        assert_eq!(super::did_you_mean("order-rase", known), " (did you mean \"order-race\"?)");
        assert_eq!(super::did_you_mean("fullsystem", known), " (did you mean \"full-system\"?)");
        assert_eq!(super::did_you_mean("zzz", known), "");
    }

    /// Sleeps polled at once, each through the clock's one madsim sleep reset to its
    /// deadline, wake at their own deadlines on the grid, whichever was polled last; a
    /// beat nearer than the shortest sleep wakes at the beat.
    #[test]
    fn sleeps_sharing_the_one_madsim_sleep_each_wake_at_their_own_deadline() {
        use std::time::Duration;
        let ms = Duration::from_millis;
        madsim::runtime::Runtime::with_seed_and_config(3, Default::default()).block_on(async move {
            super::keep_clock(Some(madsim::time::TimeHandle::current()));
            super::sleep(ms(7)).await;
            let start = super::now();
            let woke = std::sync::Mutex::new(Vec::new());
            let after = |name: &'static str, sleep: super::Sleep| {
                let woke = &woke;
                async move {
                    sleep.await;
                    woke.lock().unwrap().push((name, super::now() - start));
                }
            };
            let (long, short, until) = (super::sleep(ms(30)), super::sleep(ms(7)), super::sleep_until(start + ms(1_000)));
            futures::future::join3(after("long", long), after("short", short), after("until", until)).await;
            assert_eq!(*woke.lock().unwrap(), [("short", ms(7)), ("long", ms(30)), ("until", ms(1_000))]);
            // Each sleep counts one started and one timer set (found pending once).
            let counted = || (super::timers_started(), super::timers_set());
            let before = counted();
            let beat = super::now() + super::TICK * 5;
            super::sleep_until_beat(beat).await;
            assert_eq!(super::now(), beat, "a beat nearer than the shortest sleep");
            assert_eq!(counted(), (before.0 + 1, before.1 + 1));
            // A sleep made before its clock was kept again wakes at its own deadline.
            let made = super::sleep(ms(20));
            let due = super::now() + ms(20);
            super::keep_clock(Some(madsim::time::TimeHandle::current()));
            made.await;
            assert_eq!(super::now(), due);
            assert_eq!(counted(), (before.0 + 2, before.1 + 2));
            super::keep_clock(None);
        });
    }
}
