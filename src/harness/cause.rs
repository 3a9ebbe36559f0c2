//! What a task is doing, as a key: the cause its decisions are keyed by. A message's
//! handler runs under its delivery's key, a user under its name, a node's start under
//! its name and incarnation; a task spawned with [`spawn`] inherits its parent's cause.
//! The decision source mixes the current cause into every key, so a decision names the
//! chain of events that led to it, not its position in the run.
//!
//! madsim polls one task at a time on one thread: the cause is a thread-local set for
//! the duration of each poll of a [`Caused`] future.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

/// The cause of the task being polled (0: none, the run's own setup).
pub fn current() -> u64 {
    CURRENT.with(Cell::get)
}

/// Clears the cause at the start of a run (a panicking run may have left one set).
pub(crate) fn reset() {
    CURRENT.with(|c| c.set(0));
}

/// A future polled under a cause.
pub struct Caused<F> {
    cause: u64,
    inner: F,
}

impl<F: Future> Future for Caused<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let cause = self.cause;
        // SAFETY: `inner` is never moved out of the pinned `Caused` (structural pinning).
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.inner) };
        let before = CURRENT.with(|c| c.replace(cause));
        if before == 0 {
            super::count_step();
        }
        let result = inner.poll(cx);
        CURRENT.with(|c| c.set(before));
        result
    }
}

/// `future`, polled under `cause`.
pub fn within<F: Future>(cause: u64, future: F) -> Caused<F> {
    Caused { cause, inner: future }
}

/// `future`, polled under the cause `label` within the current one (a user, a step,
/// a background loop).
pub fn labelled<F: Future>(label: impl std::hash::Hash, future: F) -> Caused<F> {
    within(super::hash::key(&(current(), label)), future)
}

/// Spawns a task on the current node that inherits the current cause.
pub fn spawn<F>(future: F) -> madsim::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    madsim::task::spawn(within(current(), future))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_future_sees_its_cause_only_while_polled() {
        madsim::runtime::Runtime::with_seed_and_config(1, Default::default()).block_on(async {
            assert_eq!(super::current(), 0);
            let seen = super::within(7, async { super::current() }).await;
            assert_eq!(seen, 7);
            assert_eq!(super::current(), 0);
            let inherited = super::within(9, async { super::spawn(async { super::current() }).await.unwrap() }).await;
            assert_eq!(inherited, 9, "a spawned task inherits its parent's cause");
        });
    }

    /// Pending once (waking its task), then done.
    fn yield_once() -> impl std::future::Future<Output = ()> {
        let mut yielded = false;
        std::future::poll_fn(move |cx| {
            if std::mem::replace(&mut yielded, true) {
                return std::task::Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        })
    }

    #[test]
    fn a_step_is_counted_once_however_deep_its_causes() {
        madsim::runtime::Runtime::with_seed_and_config(1, Default::default()).block_on(async {
            super::reset();
            let before = crate::harness::steps_taken();
            let task = async {
                super::within(7, yield_once()).await;
                yield_once().await;
            };
            madsim::task::spawn(super::within(9, task)).await.unwrap();
            // Three polls of the task: each yield once pending, then done; the inner
            // cause's polls are within its task's.
            assert_eq!(crate::harness::steps_taken() - before, 3);
        });
    }
}
