//! What caused a published event: the user request whose handler wrote it, the
//! delivered event whose listener did, or the scripted step that injected it. The
//! chain a step's expectations follow (request → handler → store write → publish →
//! delivery → listener → publish): an event's origin is set where it is made, from the
//! handler being polled, and travels with it through the outbox and every re-send.
//! Simulation metadata: never part of the event's data on the wire.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What a handler is working on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    /// Nothing the history can name (a background loop with no job of its own).
    #[default]
    Unknown,
    /// The handler of the user request with this number.
    Request(u64),
    /// A listener of the event with this id.
    Event(std::sync::Arc<str>),
    /// Injected by the scripted step with this index.
    Step(usize),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Unknown => write!(f, "no known cause"),
            Origin::Request(req) => write!(f, "request #{req}"),
            Origin::Event(id) => write!(f, "the handling of {id}"),
            Origin::Step(step) => write!(f, "step {step}"),
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Origin> = const { RefCell::new(Origin::Unknown) };
}

/// What the handler being polled works on.
pub fn current() -> Origin {
    CURRENT.with(|c| c.borrow().clone())
}

/// A future polled on behalf of an origin.
pub struct Within<F> {
    origin: Origin,
    inner: F,
}

impl<F: Future> Future for Within<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is never moved out of the pinned `Within` (structural pinning);
        // `origin` is only read.
        let this = unsafe { self.get_unchecked_mut() };
        let before = CURRENT.with(|c| c.replace(this.origin.clone()));
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let result = inner.poll(cx);
        CURRENT.with(|c| *c.borrow_mut() = before);
        result
    }
}

/// `future`, polled on behalf of `origin`.
pub fn within<F: Future>(origin: Origin, future: F) -> Within<F> {
    Within { origin, inner: future }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handler_sees_its_origin_only_while_polled() {
        madsim::runtime::Runtime::with_seed_and_config(1, Default::default()).block_on(async {
            assert_eq!(current(), Origin::Unknown);
            assert_eq!(within(Origin::Request(3), async { current() }).await, Origin::Request(3));
            let nested = within(Origin::Request(3), within(Origin::Event("e".into()), async { current() })).await;
            assert_eq!(nested, Origin::Event("e".into()));
            assert_eq!(current(), Origin::Unknown);
        });
    }
}
