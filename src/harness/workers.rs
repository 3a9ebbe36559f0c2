//! Reusable tasks for deliveries. A message's handler runs in a task of its destination
//! node, as if spawned for it, but the task is an idle one of the node's incarnation
//! when there is one: madsim's spawn was 12% of a full-system sweep (the task, its
//! bookkeeping record with a wall-clock read, its join handle), a wake is a queue push.
//!
//! Until a crash the run is the same as with a spawn per message, poll for poll: a job
//! handed to an idle task enters madsim's ready queue where a spawned task would, and
//! the task is polled exactly when the job would have been. Two things keep it so:
//! - a job polls with wakers of its own, which stop waking the task when the job ends:
//!   a timer a finished job left behind (the losing sleep of a timeout) cannot poll the
//!   task while it waits for, or runs, a later job;
//! - an idle task is woken only to take a job.
//!
//! One case differs: a job that wakes its own task in its last poll (its waker still
//! counts then) has the task polled once more after it went back to wait, where a
//! spawned task, finished, would not be; the task goes on waiting, listed once.
//!
//! A crash loses what the incarnation's tasks held, as it does spawned tasks: madsim
//! drops them, and the fabric drops the pool with the incarnation ([`Workers`] is one
//! incarnation's); a job still waiting for its timer ([`Workers::run_after`]) finds the
//! pool gone when it fires, and is dropped. Dropping the idle tasks takes madsim
//! executor steps that a spawn per message would not, each drawing from madsim's random
//! source, so after a crash the run may take other tie-breaks (docs/performance.md
//! measures how often). At most [`MAX_IDLE`] tasks wait per pool; one more ends instead.

use super::sync::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// What a task runs for one delivery.
pub type Job = super::BoxFuture;

/// The bound on one incarnation's idle tasks (a burst of deliveries to a node leaves at
/// most this many waiting for the next one).
pub const MAX_IDLE: usize = 64;

/// One node incarnation's pool of idle tasks.
pub struct Workers {
    node: madsim::runtime::NodeHandle,
    pool: Arc<Mutex<Pool>>,
    /// The incarnation is paused (madsim holds its tasks until it resumes).
    paused: AtomicBool,
}

/// The tasks waiting for a job and every task's inbox, under the one lock that handing
/// over a job and going back to wait each take once.
#[derive(Default)]
struct Pool {
    /// The inboxes of the tasks waiting for a job, the last to wait on top.
    waiting: Vec<usize>,
    /// Each task's inbox, by the slot it took when it first waited.
    inboxes: Vec<Inbox>,
    /// The slots of tasks that ended, for the next task's first wait.
    free: Vec<usize>,
    /// The pool is gone (its incarnation ended): a task that finishes a job ends.
    closed: bool,
}

impl Drop for Workers {
    fn drop(&mut self) {
        // No job comes any more: the waiting tasks are never woken again (madsim drops
        // them with the incarnation), and a busy one ends after its job. A waiting
        // task's waker stays in its inbox until the pool goes (madsim's record of the
        // task holds a waker of its own, so this one is never the task's last).
        let mut pool = self.pool.lock();
        pool.closed = true;
        pool.waiting.clear();
    }
}

/// One task's inbox.
#[derive(Default)]
struct Inbox {
    /// A job handed over and not yet taken.
    job: Option<Job>,
    /// The task's own waker, kept from the first time it waited (woken only to take a
    /// job: the task is in the pool's waiting list exactly while it waits).
    waker: Option<Waker>,
    /// In the pool's waiting list: a task polled again while it waits (a job that woke
    /// itself in its last poll) is not listed twice, which would hand it two jobs.
    waiting: bool,
}

impl Workers {
    pub fn new(node: madsim::runtime::NodeHandle) -> Arc<Workers> {
        Arc::new(Workers { node, pool: Arc::default(), paused: Default::default() })
    }

    /// Marks the incarnation paused or resumed, as the harness pauses its madsim node.
    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    /// Whether the incarnation is paused now ([`Workers::set_paused`]).
    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Runs `job` in a task of the node: an idle one, else a new one.
    pub fn run(self: &Arc<Self>, job: Job) {
        let mut pool = self.pool.lock();
        let Some(slot) = pool.waiting.pop() else {
            drop(pool);
            self.node.spawn(Task {
                pool: self.pool.clone(),
                slot: None,
                first: Some(job),
                ended: Arc::default(),
                current: None,
                waker: None,
            });
            return;
        };
        let inbox = &mut pool.inboxes[slot];
        assert!(inbox.waiting && inbox.job.is_none(), "harness assumption broken: a job handed to a task that does not wait for one");
        inbox.waiting = false;
        inbox.job = Some(job);
        // The task keeps its waker in the inbox for the next time it waits.
        inbox.waker.as_ref().expect("an idle task waits with its waker").wake_by_ref();
    }

    /// Runs `job` as [`Workers::run`] does once `delay` has passed, as [`super::sleep`]
    /// counts it. The timer is set now, so a delivery takes one executor step, when it
    /// fires, instead of a first step of its task to set the timer and a second when it
    /// fires. If the incarnation has ended by then, the job is dropped, as a task that
    /// waited out the delay in it would have been.
    pub fn run_after(self: &Arc<Self>, delay: Duration, job: Job) {
        let spare = SPARE_DUES.try_with(|spare| spare.borrow_mut().pop()).ok().flatten();
        let due = match spare {
            Some(mut due) => {
                let unused = Arc::get_mut(&mut due).expect("a spare due is held by its list alone");
                unused.workers = Arc::downgrade(self);
                *unused.job.get_mut() = Some(job);
                due
            }
            None => Arc::new(Due { workers: Arc::downgrade(self), job: Mutex::new(Some(job)) }),
        };
        super::wake_after(delay, &Waker::from(due));
    }
}

/// A job waiting for its timer ([`Workers::run_after`]); the timer wakes it once.
struct Due {
    /// The pool, while its incarnation lives (the fabric holds it until then).
    workers: Weak<Workers>,
    job: Mutex<Option<Job>>,
}

/// The most fired dues a thread keeps for the next deliveries to reuse.
const SPARE_DUES_KEPT: usize = 256;

thread_local! {
    /// Dues whose timers fired, emptied: a delivery reuses one instead of allocating
    /// it (madsim's timer held the last reference, so nothing else sees the reuse).
    static SPARE_DUES: std::cell::RefCell<Vec<Arc<Due>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Due {
    fn start(&self) {
        let job = self.job.lock().take();
        if let (Some(job), Some(workers)) = (job, self.workers.upgrade()) {
            workers.run(job);
        }
    }
}

impl Wake for Due {
    /// The timer's wake, with its reference: the last one, as the sender's went with
    /// the send; the emptied due goes to the thread's spares.
    fn wake(mut self: Arc<Self>) {
        self.start();
        if let Some(fired) = Arc::get_mut(&mut self) {
            fired.workers = Weak::new();
            let _ = SPARE_DUES.try_with(|spare| {
                if let Ok(mut spare) = spare.try_borrow_mut() {
                    if spare.len() < SPARE_DUES_KEPT {
                        spare.push(self);
                    }
                }
            });
        }
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.start();
    }
}

/// What a task without a job does next.
enum Next {
    Job(Job),
    Wait,
    End,
}

/// A task of the pool: runs the job handed to it, then waits in the pool for the next.
struct Task {
    pool: Arc<Mutex<Pool>>,
    /// Its inbox in the pool, taken the first time it waits.
    slot: Option<usize>,
    /// The job it was spawned for, not yet started.
    first: Option<Job>,
    /// Counts the jobs the task has ended: a job's wakers wake the task only while it
    /// is the job being run.
    ended: Arc<AtomicU64>,
    /// The job being run.
    current: Option<Job>,
    /// The waker the current (or last) job polls with, and what it is made of; kept for
    /// the next job when nothing kept a clone of it, else made anew.
    waker: Option<(Arc<JobWaker>, Waker)>,
}

impl Future for Task {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.current.is_none() {
                let next = match self.first.take() {
                    Some(job) => Next::Job(job),
                    None => self.take_or_wait(cx),
                };
                let job = match next {
                    Next::Job(job) => job,
                    Next::Wait => return Poll::Pending,
                    Next::End => return Poll::Ready(()),
                };
                self.job_waker(cx);
                self.current = Some(job);
            }
            let Task { current, waker, .. } = &mut *self;
            let (job, (_, waker)) = (current.as_mut().expect("a job is being run"), waker.as_ref().expect("made for the job"));
            if job.as_mut().poll(&mut Context::from_waker(waker)).is_pending() {
                return Poll::Pending;
            }
            // Only this task writes `ended` (its jobs' wakers only read it), so a load
            // and a store count it.
            self.ended.store(self.ended.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            self.current = None;
        }
    }
}

impl Task {
    /// The waker for the job about to start: the last job's when no timer or channel
    /// kept a clone of it (most of the time: the task's handle and its waker are then
    /// the only references), else a new one.
    fn job_waker(&mut self, cx: &Context<'_>) {
        let job = self.ended.load(Ordering::Relaxed);
        match &self.waker {
            Some((unshared, _)) if Arc::strong_count(unshared) == 2 => unshared.job.store(job, Ordering::Relaxed),
            _ => {
                let made = Arc::new(JobWaker { ended: self.ended.clone(), job: AtomicU64::new(job), task: cx.waker().clone() });
                self.waker = Some((made.clone(), Waker::from(made)));
            }
        }
    }

    /// The job handed over; else back to the pool to wait, its waker kept in the inbox
    /// for whoever hands it the next job; or the end of the task when the pool is full
    /// or gone (its incarnation ended).
    fn take_or_wait(&mut self, cx: &mut Context<'_>) -> Next {
        let mut pool = self.pool.lock();
        if let Some(job) = self.slot.and_then(|slot| pool.inboxes[slot].job.take()) {
            return Next::Job(job);
        }
        let waiting = self.slot.is_some_and(|slot| pool.inboxes[slot].waiting);
        if pool.closed || (!waiting && pool.waiting.len() >= MAX_IDLE) {
            if let Some(slot) = self.slot.take() {
                pool.inboxes[slot] = Inbox::default();
                pool.free.push(slot);
            }
            return Next::End;
        }
        let slot = *self.slot.get_or_insert_with(|| {
            pool.free.pop().unwrap_or_else(|| {
                pool.inboxes.push(Inbox::default());
                pool.inboxes.len() - 1
            })
        });
        let inbox = &mut pool.inboxes[slot];
        if !inbox.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            inbox.waker = Some(cx.waker().clone());
        }
        if !waiting {
            inbox.waiting = true;
            pool.waiting.push(slot);
        }
        Next::Wait
    }
}

/// A job's waker: wakes the task only while the job it was made for is being run.
struct JobWaker {
    ended: Arc<AtomicU64>,
    /// The job it wakes for (changed only while the task holds the sole references).
    job: AtomicU64,
    task: Waker,
}

impl Wake for JobWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.ended.load(Ordering::Relaxed) == self.job.load(Ordering::Relaxed) {
            self.task.wake_by_ref();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `body` in a new runtime, with a pool of one node's tasks.
    fn in_pool<F: Future<Output = ()>>(body: impl FnOnce(Arc<Workers>) -> F) {
        madsim::runtime::Runtime::with_seed_and_config(1, Default::default()).block_on(async move {
            body(Workers::new(madsim::runtime::Handle::current().create_node().name("n").build())).await;
        });
    }

    fn recorder() -> (Arc<Mutex<Vec<String>>>, impl Fn(String) + Clone + Send + 'static) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let push = {
            let log = log.clone();
            move |line: String| log.lock().push(line)
        };
        (log, push)
    }

    #[test]
    fn a_job_run_after_its_delay_starts_then_and_is_dropped_if_its_incarnation_ends_first() {
        let (log, push) = recorder();
        in_pool(|pool| async move {
            let steps = crate::harness::steps_taken();
            for (name, delay) in [("early", 10), ("late", 30)] {
                let push = push.clone();
                let job = crate::harness::cause::within(7, async move { push(format!("{name} at {:?}", crate::harness::now())) });
                pool.run_after(Duration::from_millis(delay), Box::pin(job));
            }
            madsim::time::sleep(Duration::from_millis(20)).await;
            // One step for the early job: its task's poll, when the timer fired.
            assert_eq!(crate::harness::steps_taken() - steps, 1);
            // The incarnation ends (the fabric lets go of its pool): the late job is
            // dropped when its timer fires, never run.
            drop(pool);
            madsim::time::sleep(Duration::from_millis(20)).await;
        });
        assert_eq!(*log.lock(), vec!["early at 10ms".to_string()]);
    }

    /// A due whose timer fired is kept and reused by the next delivery, which it runs in
    /// that delivery's pool: nothing of its first pool or job is left in it.
    #[test]
    fn a_fired_due_is_reused_for_the_next_delivery_in_its_own_pool() {
        let (log, push) = recorder();
        madsim::runtime::Runtime::with_seed_and_config(1, Default::default()).block_on(async move {
            let handle = madsim::runtime::Handle::current();
            let spares = || SPARE_DUES.with(|spare| spare.borrow().len());
            let kept = spares();
            let (a, b) = (handle.create_node().name("a").build(), handle.create_node().name("b").build());
            let names = [(a.id(), "a"), (b.id(), "b")];
            let job = |label: &'static str| {
                let push = push.clone();
                let name = move || names.iter().find(|(id, _)| *id == madsim::plugin::node()).map_or("?", |(_, n)| *n);
                Box::pin(async move { push(format!("{label} on {}", name())) })
            };
            let first = Workers::new(a);
            first.run_after(Duration::from_millis(10), job("first"));
            madsim::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(spares(), kept + 1, "the fired due is kept");
            drop(first);
            let second = Workers::new(b);
            second.run_after(Duration::from_millis(10), job("second"));
            assert_eq!(spares(), kept, "the next delivery took it");
            madsim::time::sleep(Duration::from_millis(20)).await;
        });
        assert_eq!(*log.lock(), ["first on a", "second on b"]);
    }

    #[test]
    fn jobs_run_concurrently_and_tasks_are_reused() {
        let (log, push) = recorder();
        in_pool(|pool| async move {
            for (name, delay) in [("slow", 30), ("fast", 10)] {
                let push = push.clone();
                pool.run(Box::pin(async move {
                    madsim::time::sleep(Duration::from_millis(delay)).await;
                    push(format!("{name} at {delay}ms"));
                }));
            }
            madsim::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(pool.pool.lock().waiting.len(), 2, "both tasks wait for the next job");
            let push = push.clone();
            pool.run(Box::pin(async move { push("third".into()) }));
            madsim::time::sleep(Duration::from_millis(5)).await;
            assert_eq!(pool.pool.lock().waiting.len(), 2, "the third job ran in a waiting task");
        });
        assert_eq!(*log.lock(), ["fast at 10ms", "slow at 30ms", "third"]);
    }

    /// The waker a finished job left unshared is the next job's: it wakes the task for
    /// that job (its job number moved on with it).
    #[test]
    fn a_jobs_unshared_waker_wakes_the_next_job() {
        let (log, push) = recorder();
        in_pool(|pool| async move {
            pool.run(Box::pin(async {}));
            madsim::time::sleep(Duration::from_millis(1)).await;
            let start = crate::harness::now();
            pool.run(Box::pin(async move {
                madsim::time::sleep(Duration::from_millis(10)).await;
                push(format!("woke after {:?}", crate::harness::now() - start));
            }));
            madsim::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(pool.pool.lock().waiting.len(), 1, "one task ran both jobs");
        });
        assert_eq!(*log.lock(), ["woke after 10ms"]);
    }

    #[test]
    fn a_finished_jobs_timer_does_not_poll_the_next_job() {
        let polls = Arc::new(AtomicU64::new(0));
        let seen = polls.clone();
        in_pool(|pool| async move {
            // The first job races a long sleep against a short one and ends; the long
            // sleep's timer stays armed with the job's waker.
            pool.run(Box::pin(async {
                let long = madsim::time::sleep(Duration::from_millis(100));
                let short = madsim::time::sleep(Duration::from_millis(10));
                futures::future::select(std::pin::pin!(long), std::pin::pin!(short)).await;
            }));
            madsim::time::sleep(Duration::from_millis(20)).await;
            // The second job counts its polls; it waits for a wake that never comes.
            pool.run(Box::pin(std::future::poll_fn(move |_| {
                seen.fetch_add(1, Ordering::Relaxed);
                Poll::<()>::Pending
            })));
            madsim::time::sleep(Duration::from_millis(200)).await;
        });
        assert_eq!(polls.load(Ordering::Relaxed), 1, "the long sleep's timer fired into the first job's waker, not the task's");
    }

    #[test]
    fn a_pool_let_go_lets_go_of_its_idle_tasks_and_a_busy_one_ends_after_its_job() {
        in_pool(|pool| async move {
            pool.run(Box::pin(async { madsim::time::sleep(Duration::from_millis(10)).await }));
            pool.run(Box::pin(async {}));
            madsim::time::sleep(Duration::from_millis(1)).await;
            let shared = pool.pool.clone();
            assert_eq!(shared.lock().waiting.len(), 1, "the second task waits");
            assert_eq!(Arc::strong_count(&shared), 4, "the pool, this test and both tasks");
            drop(pool);
            {
                let left = shared.lock();
                assert!(left.closed && left.waiting.is_empty(), "the waiting task is let go");
            }
            madsim::time::sleep(Duration::from_millis(20)).await;
            assert!(shared.lock().waiting.is_empty(), "the busy task did not go back to wait");
            assert_eq!(Arc::strong_count(&shared), 2, "the busy task ended; the waiting one is never woken again");
        });
    }

    #[test]
    fn a_job_that_wakes_itself_as_it_ends_leaves_its_task_waiting_once() {
        let (log, push) = recorder();
        in_pool(|pool| async move {
            // Woken during its last poll, the task is polled once more after it went
            // back to wait.
            pool.run(Box::pin(std::future::poll_fn(|cx| {
                cx.waker().wake_by_ref();
                Poll::Ready(())
            })));
            madsim::time::sleep(Duration::from_millis(1)).await;
            assert_eq!(pool.pool.lock().waiting.len(), 1, "the task waits once");
            for name in ["first", "second"] {
                let push = push.clone();
                pool.run(Box::pin(async move { push(name.to_string()) }));
            }
            madsim::time::sleep(Duration::from_millis(1)).await;
        });
        assert_eq!(*log.lock(), ["first", "second"], "neither job was handed to a task that already had one");
    }

    #[test]
    fn the_idle_pool_is_bounded() {
        in_pool(|pool| async move {
            for _ in 0..MAX_IDLE + 10 {
                pool.run(Box::pin(async { madsim::time::sleep(Duration::from_millis(5)).await }));
            }
            madsim::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(pool.pool.lock().waiting.len(), MAX_IDLE);
        });
    }
}
