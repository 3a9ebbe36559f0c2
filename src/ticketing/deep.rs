//! The deep-bug benchmark's bugs: manifestations of catalogue flaws that uniform random
//! finds rarely in the full-system scenario (the smallest showing seed, below, is 3 to
//! 5,514 on the crowd mix of 2026-12-04; see
//! docs/strategies.md). Each is one flaw switched on over the hardened preset and the
//! fingerprint of the violation that shows it, so "found" means this very bug, not
//! another symptom of the same flaw. `ticketsim hunt` measures how many seeds each
//! exploration strategy needs to find each one.

use super::Scenario;

pub struct DeepBug {
    pub name: &'static str,
    pub flaw: &'static str,
    /// The fingerprint of the violation that shows it (`Violation::fingerprint`).
    pub fingerprint: &'static str,
    /// What has to happen, in order.
    pub needs: &'static str,
    /// A seed at which it shows on this build (full-system, hardened, its flaw on, the
    /// uniform strategy): the smallest in 0..6000, found by `explore`. A test runs it, so
    /// the fingerprint cannot drift from the explanation that prints it unnoticed.
    pub seed: u64,
}

pub const DEEP_BUGS: &[DeepBug] = &[
    DeepBug {
        name: "double-reservation",
        flaw: "racy-reservation",
        fingerprint: "no-double-reservation: ticket # is held by # non-cancelled orders at once: # (created #s), # (created #s)",
        needs: "two users reserve one ticket within one store round trip of each other",
        seed: 115,
    },
    DeepBug {
        name: "unlock-while-held",
        flaw: "unguarded-unlock",
        fingerprint: "lock-matches-order: ticket # (v#) ends unlocked while order # holds it",
        needs: "a cancelled order's unlock reaches tickets after a newer order locked the ticket",
        seed: 3,
    },
    DeepBug {
        name: "edit-while-held",
        flaw: "unguarded-unlock",
        fingerprint: "no-edit-while-reserved: ticket # was edited to v# at #s while order # (created) held it; locked by # at #s (v#), cleared at #s (v#, call lock) while # still held it",
        needs: "the stale unlock above, and then the owner edits the ticket before the order resolves",
        seed: 5514,
    },
    DeepBug {
        name: "paid-twice-after-expiry",
        flaw: "pay-expired-order",
        fingerprint: "no-double-reservation: ticket # was paid for by two orders: #, #",
        needs: "an order expires, the ticket is reserved again, and both orders are paid",
        seed: 367,
    },
    DeepBug {
        name: "edit-after-late-payment",
        flaw: "pay-expired-order",
        fingerprint: "no-edit-while-reserved: ticket # was edited to v# at #s while order # (complete) held it; locked by # at #s (v#), released at #s (v#) when # was cancelled; # is active again since",
        needs: "an expired order is paid, its ticket was already released, and the owner edits it",
        seed: 48,
    },
    DeepBug {
        name: "stale-lock-lost-event",
        flaw: "no-outbox",
        fingerprint: "lock-matches-order: ticket # (v#) ends locked by order #, which is cancelled (v#); order # holds it",
        needs: "a crash loses order:cancelled between write and publish while another order waits for the ticket",
        seed: 898,
    },
    DeepBug {
        name: "refund-lost",
        flaw: "no-outbox",
        fingerprint: "cancelled-orders-refunded: order # ends cancelled (v#) but its payment # (charge ch_#, # cents) was never refunded",
        needs: "an order is paid and cancelled, and a crash loses the event between write and publish",
        seed: 613,
    },
    DeepBug {
        name: "redelivered-lock",
        flaw: "non-idempotent-listeners",
        fingerprint: "lock-matches-order: ticket # (v#) ends locked by order #, which is cancelled (v#); order # holds it",
        needs: "a redelivered order:created is applied again after the order was cancelled and another took the ticket",
        seed: 601,
    },
    DeepBug {
        name: "paid-twice-after-cancel",
        flaw: "cancel-paid-order",
        fingerprint: "no-double-reservation: ticket # was paid for by two orders: #, #",
        needs: "a paid order is cancelled, the ticket is reserved again and paid",
        seed: 30,
    },
    DeepBug {
        name: "expired-stays-created",
        flaw: "unawaited-expiration-publish",
        fingerprint: "orders-resolve: order # (v#) expired at #s but is still created at the end (#s)",
        needs: "expiration crashes after marking a job done and before its publish is sent",
        seed: 45,
    },
];

/// The benchmark's scenario for `bug`: full-system, hardened, with its flaw on.
pub fn scenario(bug: &DeepBug) -> Scenario {
    let text = super::scenario::shipped::text("full-system").unwrap_or_default();
    let s = Scenario::parse("full-system", text).unwrap_or_else(|e| unreachable!("the shipped full-system scenario is valid: {e}"));
    s.hardened_with(&[bug.flaw])
}

pub fn names() -> Vec<&'static str> {
    DEEP_BUGS.iter().map(|b| b.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_deep_bug_names_a_catalogue_flaw_and_a_judged_invariant() {
        let invariants = crate::ticketing::invariants::names();
        for bug in DEEP_BUGS {
            assert!(crate::ticketing::flaws::Flaw::from_name(bug.flaw).is_some(), "{}", bug.name);
            let invariant = bug.fingerprint.split(':').next().unwrap();
            assert!(invariants.contains(&invariant), "{}: {invariant}", bug.name);
        }
        assert!(DEEP_BUGS.len() >= 8);
    }
}
