//! A periodic loop's wait while its beats have nothing to do. Each beat of a loop costs
//! a timer and a step of the executor even when it finds nothing; a loop that can tell
//! when work may next come waits on an [`Alarm`] for the first beat that may find it,
//! and whatever gives it work sooner rings the alarm.

use super::sync::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// A wait until an instant that a step elsewhere can cut short.
#[derive(Default)]
pub struct Alarm(Mutex<Waiting>);

#[derive(Default)]
struct Waiting {
    /// While a loop waits: the instant its work comes after, as it knew when it began
    /// to wait. A step that brings work sooner rings.
    work_after: Option<Duration>,
    rung: bool,
    waker: Option<Waker>,
}

impl Alarm {
    /// Waits until virtual time `until` (`None`: until rung), for work that comes only
    /// after `work_after`. True when rung first: the wait ended before `until`.
    pub async fn wait(&self, until: Option<Duration>, work_after: Duration) -> bool {
        *self.0.lock() = Waiting { work_after: Some(work_after), rung: false, waker: None };
        Wait { alarm: self, until, sleep: until.map(super::sleep_until) }.await
    }

    /// While a loop waits: the instant it expects its work after.
    pub fn work_after(&self) -> Option<Duration> {
        self.0.lock().work_after
    }

    /// Ends the wait, if a loop waits: its next beat is its next one from now.
    pub fn ring(&self) {
        let waker = {
            let mut waiting = self.0.lock();
            if waiting.work_after.is_none() {
                return;
            }
            waiting.rung = true;
            waiting.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The first of the beats `first`, `first + beat`, ... that comes after `t`; `None` past
/// the end of time.
pub fn first_beat_after(first: Duration, beat: Duration, t: Duration) -> Option<Duration> {
    if t < first {
        return Some(first);
    }
    let beats = (t - first).as_nanos() / beat.as_nanos() + 1;
    let offset = u64::try_from(beat.as_nanos().checked_mul(beats)?).ok()?;
    first.checked_add(Duration::from_nanos(offset))
}

struct Wait<'a> {
    alarm: &'a Alarm,
    until: Option<Duration>,
    sleep: Option<super::Sleep>,
}

impl Future for Wait<'_> {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        {
            let mut waiting = self.alarm.0.lock();
            if waiting.rung {
                // Rung at the instant the wait ends: its time came all the same, and the
                // loop takes the beat it waited for.
                return Poll::Ready(self.until.is_none_or(|until| super::now() < until));
            }
            if !waiting.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                waiting.waker = Some(cx.waker().clone());
            }
        }
        // Polled only when not rung: madsim sets a timer each time it finds a sleep pending.
        match self.sleep.as_mut().map(|sleep| Pin::new(sleep).poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(false),
            _ => Poll::Pending,
        }
    }
}

impl Drop for Wait<'_> {
    /// Over (or dropped with its task): a ring from now on finds nobody waiting.
    fn drop(&mut self) {
        *self.alarm.0.lock() = Waiting::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn the_first_beat_after_an_instant_is_strictly_after_it() {
        assert_eq!(first_beat_after(MS(500), MS(500), MS(100)), Some(MS(500)));
        assert_eq!(first_beat_after(MS(500), MS(500), MS(500)), Some(MS(1_000)));
        assert_eq!(first_beat_after(MS(500), MS(500), MS(1_499)), Some(MS(1_500)));
        assert_eq!(first_beat_after(MS(500), MS(500), MS(1_500)), Some(MS(2_000)));
        assert_eq!(first_beat_after(MS(500), MS(500), Duration::MAX), None);
    }

    /// Runs `body` in a madsim world, from its first instant.
    fn in_world(body: impl Future<Output = ()> + 'static) {
        madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default()).block_on(body);
    }

    #[test]
    fn a_wait_ends_at_its_instant_or_when_rung_and_a_ring_with_nobody_waiting_is_lost() {
        in_world(async {
            let alarm = std::sync::Arc::new(Alarm::default());
            alarm.ring();
            assert!(!alarm.wait(Some(MS(100)), MS(50)).await, "a ring before the wait does not end it");
            assert_eq!(crate::harness::now(), MS(100));
            assert_eq!(alarm.work_after(), None, "nobody waits once the wait is over");

            let ringer = alarm.clone();
            madsim::task::spawn(async move {
                crate::harness::sleep(MS(30)).await;
                assert_eq!(ringer.work_after(), Some(MS(900)));
                ringer.ring();
            });
            assert!(alarm.wait(None, MS(900)).await, "rung");
            assert_eq!(crate::harness::now(), MS(130), "the ring ends the wait at once");

            // A ring at the instant the wait ends, in either order of the two: its time came.
            for seed_order in 0..4 {
                let ringer = alarm.clone();
                let end = crate::harness::now() + MS(100);
                madsim::task::spawn(async move {
                    crate::harness::sleep_until(end).await;
                    ringer.ring();
                });
                assert!(!alarm.wait(Some(end), MS(900)).await, "round {seed_order}: the wait's own end");
                assert_eq!(crate::harness::now(), end);
                // The ringer has rung (on nobody) before the next round waits.
                crate::harness::sleep(MS(1)).await;
            }
        });
    }

    #[test]
    fn a_beat_nearer_than_the_shortest_sleep_is_kept() {
        in_world(async {
            crate::harness::sleep(MS(10)).await;
            let beat = MS(10) + Duration::from_micros(200);
            crate::harness::sleep_until_beat(beat).await;
            assert_eq!(crate::harness::now(), beat, "not held to MIN_SLEEP");
        });
    }
}
