//! The deep-bug benchmark's bugs. Two sets:
//!
//! - [`DEEP_BUGS`]: bugs uniform random needs thousands of full-system seeds to show,
//!   each a benchmark-only switch of the hardened services (`flaws::BENCHMARK`: a
//!   re-check inside a transaction removed, or a read moved out of one) and the
//!   fingerprint of the violation that shows it. Some switches also show a shallower
//!   symptom (docs/strategies.md says which); the bug measured is the one named here.
//! - [`CATALOGUE_BUGS`]: manifestations of catalogue flaws that uniform random finds
//!   within hundreds of seeds (the benchmark's first set, kept to show that a strategy
//!   loses nothing on shallow bugs).
//!
//! "Found" means this very fingerprint, not another symptom of the same switch.
//! `ticketsim hunt` measures how many seeds each exploration strategy needs.

use super::Scenario;
use crate::harness::strategy::Strategy;

pub struct DeepBug {
    pub name: &'static str,
    pub flaw: &'static str,
    /// The fingerprint of the violation that shows it (`Violation::fingerprint`).
    pub fingerprint: &'static str,
    /// What has to happen, in order.
    pub needs: &'static str,
    /// A seed at which it shows on this build (full-system, hardened, its flaw on,
    /// under `strategy`), found by `explore`. A test runs it, so the fingerprint cannot
    /// drift from the explanation that prints it unnoticed.
    pub seed: u64,
    pub strategy: Strategy,
}

/// Which set `hunt` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BugSet {
    Deep,
    Catalogue,
}

impl BugSet {
    pub fn bugs(self) -> &'static [DeepBug] {
        match self {
            BugSet::Deep => DEEP_BUGS,
            BugSet::Catalogue => CATALOGUE_BUGS,
        }
    }

    /// The set a bug belongs to (the sets share no name).
    pub fn of(bug: &DeepBug) -> BugSet {
        match DEEP_BUGS.iter().any(|b| b.name == bug.name) {
            true => BugSet::Deep,
            false => BugSet::Catalogue,
        }
    }
}

pub const DEEP_BUGS: &[DeepBug] = &[
    DeepBug {
        name: "lock-after-cancel",
        flaw: "lock-skips-inbox-recheck",
        fingerprint: "lock-matches-order: ticket # (v#) ends locked by order #, which is cancelled (v#)",
        needs: "tickets reads an order:created, and its order:cancelled (which overtook it) is handled by the other instance before the lock is written",
        seed: 3998,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "edit-drops-lock",
        flaw: "edit-last-writer-wins",
        fingerprint: "no-edit-while-reserved: ticket # was edited to v# at #s while order # (created) held it; locked by # at #s (v#), cleared at #s (v#, call edit) while # still held it",
        needs: "the owner's edit reads the ticket, an order locks it, and the edit's write lands after the lock",
        seed: 7396,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "edit-splits-replica",
        flaw: "edit-last-writer-wins",
        fingerprint: "replicas-converge: orders' replica of ticket # is v# … #, the owner has v# … #",
        needs: "an edit and a lock both write the version after the one they read, and orders applies the one tickets did not keep",
        seed: 411,
        strategy: Strategy::Stretch,
    },
    DeepBug {
        name: "cancel-after-payment",
        flaw: "cancel-skips-status-recheck",
        fingerprint: "payments-consistent: order # was paid (complete) (v# at #s), then cancelled (v# at #s)",
        needs: "orders reads an order to cancel it (the owner's DELETE or its expiration), payment:created completes it, and the cancel is written",
        seed: 4943,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "stale-unlock-skip",
        flaw: "unlock-skip-ignores-version",
        fingerprint: "lock-matches-order: ticket # (v#) ends locked by order #, which is cancelled (v#)",
        needs: "an order:cancelled finds the ticket not held by its order, and the order's lock is written before the cancel is recorded",
        seed: 1397,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "lock-overwrites-edit",
        flaw: "lock-saves-unversioned",
        fingerprint: "owner-versions-in-order: the tickets service wrote the same version twice: # v# (edit at #s), then v#",
        needs: "a lock reads the ticket, the owner's edit writes it, and the lock writes the version it read + 1",
        seed: 1821,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "lock-outlives-cancel",
        flaw: "lock-saves-unversioned",
        fingerprint: "lock-matches-order: ticket # (v#) ends locked by order #, which is cancelled (v#)",
        needs: "a lock reads the ticket, the order's cancel unlocks it, and the lock is written over the unlock",
        seed: 1586,
        strategy: Strategy::Stretch,
    },
    DeepBug {
        name: "charge-after-cancel",
        flaw: "charge-skips-rechecks",
        fingerprint: "cancelled-orders-refunded: order # ends cancelled (v#) but its payment # (charge ch_#, # cents) was never refunded",
        needs: "payments reads an order to charge it, the order expires and payments' replica is cancelled, and the charge is written",
        seed: 2534,
        strategy: Strategy::Stretch,
    },
    DeepBug {
        name: "charge-during-cancel",
        flaw: "refund-list-read-early",
        fingerprint: "cancelled-orders-refunded: order # ends cancelled (v#) but its payment # (charge ch_#, # cents) was never refunded",
        needs: "payments reads an order's payments to refund them on its order:cancelled, a payment for the order (whose replica is not cancelled yet) is charged and saved, and the cancel is written",
        seed: 154,
        strategy: Strategy::Rush,
    },
];

/// The benchmark's first set: catalogue flaws, rarely shown.
pub const CATALOGUE_BUGS: &[DeepBug] = &[
    DeepBug {
        name: "double-reservation",
        flaw: "racy-reservation",
        fingerprint: "no-double-reservation: ticket # is held by # non-cancelled orders at once: # (created #s), # (created #s)",
        needs: "two users reserve one ticket within one store round trip of each other",
        seed: 115,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "unlock-while-held",
        flaw: "unguarded-unlock",
        fingerprint: "lock-matches-order: ticket # (v#) ends unlocked while order # holds it",
        needs: "a cancelled order's unlock reaches tickets after a newer order locked the ticket",
        seed: 3,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "edit-while-held",
        flaw: "unguarded-unlock",
        fingerprint: "no-edit-while-reserved: ticket # was edited to v# at #s while order # (created) held it; locked by # at #s (v#), cleared at #s (v#, call lock) while # still held it",
        needs: "the stale unlock above, and then the owner edits the ticket before the order resolves",
        seed: 5514,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "paid-twice-after-expiry",
        flaw: "pay-expired-order",
        fingerprint: "no-double-reservation: ticket # was paid for by two orders: #, #",
        needs: "an order expires, the ticket is reserved again, and both orders are paid",
        seed: 367,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "edit-after-late-payment",
        flaw: "pay-expired-order",
        fingerprint: "no-edit-while-reserved: ticket # was edited to v# at #s while order # (complete) held it; locked by # at #s (v#), released at #s (v#) when # was cancelled; # is active again since",
        needs: "an expired order is paid, its ticket was already released, and the owner edits it",
        seed: 48,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "stale-lock-lost-event",
        flaw: "no-outbox",
        fingerprint: "lock-matches-order: ticket # (v#) ends locked by order #, which is cancelled (v#); order # holds it",
        needs: "a crash loses order:cancelled between write and publish while another order waits for the ticket",
        seed: 898,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "refund-lost",
        flaw: "no-outbox",
        fingerprint: "cancelled-orders-refunded: order # ends cancelled (v#) but its payment # (charge ch_#, # cents) was never refunded",
        needs: "an order is paid and cancelled, and a crash loses the event between write and publish",
        seed: 613,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "redelivered-lock",
        flaw: "non-idempotent-listeners",
        fingerprint: "lock-matches-order: ticket # (v#) ends locked by order #, which is cancelled (v#); order # holds it",
        needs: "a redelivered order:created is applied again after the order was cancelled and another took the ticket",
        seed: 601,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "paid-twice-after-cancel",
        flaw: "cancel-paid-order",
        fingerprint: "no-double-reservation: ticket # was paid for by two orders: #, #",
        needs: "a paid order is cancelled, the ticket is reserved again and paid",
        seed: 30,
        strategy: Strategy::Uniform,
    },
    DeepBug {
        name: "expired-stays-created",
        flaw: "unawaited-expiration-publish",
        fingerprint: "orders-resolve: order # (v#) expired at #s but is still created at the end (#s)",
        needs: "expiration crashes after marking a job done and before its publish is sent",
        seed: 45,
        strategy: Strategy::Uniform,
    },
];

/// The benchmark's scenario for `bug`: full-system, hardened, with its flaw on (the
/// scenario's own strategy: uniform).
pub fn scenario(bug: &DeepBug) -> Scenario {
    let text = super::scenario::shipped::text("full-system").unwrap_or_default();
    let s = Scenario::parse("full-system", text).unwrap_or_else(|e| unreachable!("the shipped full-system scenario is valid: {e}"));
    s.hardened_with(&[bug.flaw])
}

/// Every bug of both sets, the deep set first.
pub fn all() -> impl Iterator<Item = &'static DeepBug> {
    DEEP_BUGS.iter().chain(CATALOGUE_BUGS)
}

pub fn names() -> Vec<&'static str> {
    all().map(|b| b.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_names_a_switch_of_its_set_and_a_judged_invariant() {
        use crate::ticketing::flaws::{Flaw, Origin};
        let invariants = crate::ticketing::invariants::names();
        for (set, benchmark) in [(BugSet::Deep, true), (BugSet::Catalogue, false)] {
            for bug in set.bugs() {
                let flaw = Flaw::from_name(bug.flaw).unwrap_or_else(|| panic!("{}", bug.name));
                assert_eq!(flaw.info().origin == Origin::Benchmark, benchmark, "{}", bug.name);
                let invariant = bug.fingerprint.split(':').next().unwrap();
                assert!(invariants.contains(&invariant), "{}: {invariant}", bug.name);
            }
        }
        let mut names = names();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "bug names are unique across the sets");
    }
}
