//! Flaws: named switches that put one known bug of the ticketing app back. Each is
//! checked at the exact line where the as-built behaviour differs (grep the service
//! files for `Flaw::`). Presets: `as-built` (the app as shipped) and `hardened` (none).
//! Besides the app's own weaknesses and the course's lesson bugs, a few bugs are
//! planted: plausible mistakes that exist to prove an invariant catches its rule.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flaw {
    RacyReservation,
    UnguardedUnlock,
    CancelPaidOrder,
    NoOutbox,
    NonIdempotentListeners,
    ReplicaWithoutId,
    NoVersionCheck,
    UnversionedOrderEvents,
    NoOrderOcc,
    SilentVersionBump,
    ExpirationCancelsComplete,
    PayExpiredOrder,
    DoublePayment,
    PaymentsReplicaLag,
    UnawaitedExpirationPublish,
    AccountsNoSequence,
    AccountsDoubleApply,
    EditByAnyone,
    ChargeInDollars,
    EarlyExpiration,
    ReplicaWithoutExpiry,
    NoRefund,
    ListAllTickets,
    ShowAnyOrder,
    OwnerBeforeReserved,
    CancelByAnyone,
    FloatAmount,
    ChargeWithoutRecord,
    ChargeWithoutKey,
    RefundInBooksOnly,
    ChargeBelowMinimum,
    TermOnError,
    MaxDeliverParks,
    // The deep-bug benchmark's switches (not in the catalogue: see `BENCHMARK`).
    LockSkipsInboxRecheck,
    LockSavesUnversioned,
    EditLastWriterWins,
    UnlockSkipIgnoresVersion,
    CancelSkipsStatusRecheck,
    ChargeSkipsRechecks,
    RefundListReadEarly,
}

/// Where a flaw comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// In the app as shipped: the `as-built` preset has it.
    AsBuilt,
    /// A bug the course made and fixed along the way.
    Lesson,
    /// A plausible mistake planted to prove an invariant catches its rule.
    Planted,
    /// A mistake of a port to JetStream: a JetStream feature misused (only on that broker).
    JetstreamPort,
    /// A guard of the hardened services removed for the deep-bug benchmark alone: a bug
    /// uniform random rarely shows (`BENCHMARK`; not in the catalogue, its selftest or
    /// its sweeps).
    Benchmark,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Origin::AsBuilt => "as-built",
            Origin::Lesson => "lesson",
            Origin::Planted => "planted",
            Origin::JetstreamPort => "jetstream-port",
            Origin::Benchmark => "benchmark",
        }
    }
}

/// What a flaw is, who has it, and which invariant is expected to catch it where.
pub struct FlawInfo {
    pub flaw: Flaw,
    pub name: &'static str,
    pub description: &'static str,
    pub origin: Origin,
    pub caught_by: &'static str,
    /// The scenario whose sweep should find it.
    pub target: &'static str,
}

pub const CATALOGUE: &[FlawInfo] = &[
    FlawInfo {
        flaw: Flaw::RacyReservation,
        name: "racy-reservation",
        description: "POST /api/orders checks for an active order and saves the new one in two round trips, not atomically",
        origin: Origin::AsBuilt,
        caught_by: "no-double-reservation",
        target: "order-race",
    },
    FlawInfo {
        flaw: Flaw::UnguardedUnlock,
        name: "unguarded-unlock",
        description: "tickets' order listeners set or clear a ticket's orderId without checking which order holds it",
        origin: Origin::AsBuilt,
        caught_by: "lock-matches-order",
        target: "tickets-orders",
    },
    FlawInfo {
        flaw: Flaw::CancelPaidOrder,
        name: "cancel-paid-order",
        description: "orders cancels without a status check: DELETE on a complete order, or an expiration of an already-cancelled one",
        origin: Origin::AsBuilt,
        caught_by: "payments-consistent",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::NoOutbox,
        name: "no-outbox",
        description: "events are published after the save, not through an outbox: a crash or failed publish in between loses them",
        origin: Origin::AsBuilt,
        caught_by: "no-lost-events",
        target: "tickets-orders",
    },
    FlawInfo {
        flaw: Flaw::NonIdempotentListeners,
        name: "non-idempotent-listeners",
        description: "listeners fail (never ack) on duplicate or stale events, or apply them again, instead of acking them",
        origin: Origin::AsBuilt,
        caught_by: "no-poison-messages",
        target: "out-of-order-updates",
    },
    FlawInfo {
        flaw: Flaw::ReplicaWithoutId,
        name: "replica-without-id",
        description: "orders' ticket:created listener builds its replica with a fresh id instead of the ticket's",
        origin: Origin::Lesson,
        caught_by: "replicas-converge",
        target: "out-of-order-updates",
    },
    FlawInfo {
        flaw: Flaw::NoVersionCheck,
        name: "no-version-check",
        description: "orders applies ticket:updated by id, without checking it holds the previous version",
        origin: Origin::Lesson,
        caught_by: "versions-in-sequence",
        target: "out-of-order-updates",
    },
    FlawInfo {
        flaw: Flaw::UnversionedOrderEvents,
        name: "unversioned-order-events",
        description: "order:created and order:cancelled are published without the order's version",
        origin: Origin::Lesson,
        caught_by: "no-poison-messages",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::NoOrderOcc,
        name: "no-order-occ",
        description: "the orders model has no version control: saves overwrite and never bump the version",
        origin: Origin::Lesson,
        caught_by: "owner-versions-in-order",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::SilentVersionBump,
        name: "silent-version-bump",
        description: "tickets' order:created listener saves the ticket (version + 1) without publishing ticket:updated",
        origin: Origin::Lesson,
        caught_by: "replicas-converge",
        target: "tickets-orders",
    },
    FlawInfo {
        flaw: Flaw::ExpirationCancelsComplete,
        name: "expiration-cancels-complete",
        description: "orders' expiration:complete listener cancels the order even when it is complete (paid)",
        origin: Origin::Lesson,
        caught_by: "payments-consistent",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::PayExpiredOrder,
        name: "pay-expired-order",
        description:
            "payments accepts payment for an expired order whose cancel has not arrived, and payment:created completes a cancelled order",
        origin: Origin::AsBuilt,
        caught_by: "payments-consistent",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::DoublePayment,
        name: "double-payment",
        description: "POST /api/payments does not refuse an order that is already paid",
        origin: Origin::AsBuilt,
        caught_by: "payments-consistent",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::PaymentsReplicaLag,
        name: "payments-replica-lag",
        description: "payment:created makes orders bump the order's version without publishing, so payments' replica falls behind for good",
        origin: Origin::AsBuilt,
        caught_by: "replicas-converge",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::UnawaitedExpirationPublish,
        name: "unawaited-expiration-publish",
        description: "the expiration job publishes expiration:complete without awaiting it: a failed publish and the order never expires",
        origin: Origin::AsBuilt,
        caught_by: "orders-resolve",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::AccountsNoSequence,
        name: "accounts-no-sequence",
        description: "accounts applies transaction:created in arrival order, without the number == lastNumber + 1 rule",
        origin: Origin::Lesson,
        caught_by: "balances-match-transactions",
        target: "accounts",
    },
    FlawInfo {
        flaw: Flaw::AccountsDoubleApply,
        name: "accounts-double-apply",
        description: "accounts checks the number, then writes the balance unconditionally: a redelivery to a second instance applies twice",
        origin: Origin::Lesson,
        caught_by: "balances-match-transactions",
        target: "accounts",
    },
    FlawInfo {
        flaw: Flaw::EditByAnyone,
        name: "edit-by-anyone",
        description: "PUT /api/tickets/:id skips the owner check: any signed-in user can edit any free ticket",
        origin: Origin::Planted,
        caught_by: "authorized-writes",
        target: "tickets-orders",
    },
    FlawInfo {
        flaw: Flaw::ChargeInDollars,
        name: "charge-in-dollars",
        description: "payments charges the ticket price as is, not price * 100 cents",
        origin: Origin::Planted,
        caught_by: "charges-match-prices",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::EarlyExpiration,
        name: "early-expiration",
        description: "expiration schedules the job when the order is created instead of at its expiresAt",
        origin: Origin::Planted,
        caught_by: "expiry-respected",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::ReplicaWithoutExpiry,
        name: "replica-without-expiry",
        description: "payments' order:created listener leaves the replica's expiresAt unset",
        origin: Origin::Planted,
        caught_by: "versions-in-sequence",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::NoRefund,
        name: "no-refund",
        description: "payments' order:cancelled listener does not refund a payment that raced the cancel",
        origin: Origin::Planted,
        caught_by: "cancelled-orders-refunded",
        target: "expiration-payments",
    },
    FlawInfo {
        flaw: Flaw::ListAllTickets,
        name: "list-all-tickets",
        description: "GET /api/tickets forgets its filter: reserved tickets are listed as if free",
        origin: Origin::Planted,
        caught_by: "answers-match-the-rules",
        target: "full-system",
    },
    FlawInfo {
        flaw: Flaw::ShowAnyOrder,
        name: "show-any-order",
        description: "GET /api/orders/:id skips the owner check: any signed-in user can read any order",
        origin: Origin::Planted,
        caught_by: "answers-match-the-rules",
        target: "full-system",
    },
    FlawInfo {
        flaw: Flaw::OwnerBeforeReserved,
        name: "owner-before-reserved",
        description: "PUT /api/tickets/:id checks the owner before the reservation: a stranger editing a reserved ticket gets 401, not 400",
        origin: Origin::Planted,
        caught_by: "answers-match-the-rules",
        target: "full-system",
    },
    FlawInfo {
        flaw: Flaw::CancelByAnyone,
        name: "cancel-by-anyone",
        description: "DELETE /api/orders/:id skips the owner check: any signed-in user can cancel any order",
        origin: Origin::Planted,
        caught_by: "authorized-writes",
        target: "full-system",
    },
    FlawInfo {
        flaw: Flaw::FloatAmount,
        name: "float-amount",
        description: "payments asks the provider for price * 100 unrounded: 20.1 * 100 is 2010.0000000000002, which it refuses",
        origin: Origin::AsBuilt,
        caught_by: "provider-requests-valid",
        target: "payment-provider",
    },
    FlawInfo {
        flaw: Flaw::ChargeWithoutRecord,
        name: "charge-without-record",
        description: "payments charges, then saves: a lost answer or a crash in between leaves a charge no payment records",
        origin: Origin::AsBuilt,
        caught_by: "charges-recorded",
        target: "payment-provider",
    },
    FlawInfo {
        flaw: Flaw::ChargeWithoutKey,
        name: "charge-without-key",
        description: "payments sends no idempotency key: a retried charge whose first answer was lost charges twice",
        origin: Origin::AsBuilt,
        caught_by: "charges-recorded",
        target: "payment-provider",
    },
    FlawInfo {
        flaw: Flaw::ChargeBelowMinimum,
        name: "charge-below-minimum",
        description: "payments asks the provider to charge any price the app took: a ticket priced under 50 cents is a request the provider refuses (amount_too_small)",
        origin: Origin::AsBuilt,
        caught_by: "provider-requests-valid",
        target: "payment-provider",
    },
    FlawInfo {
        flaw: Flaw::RefundInBooksOnly,
        name: "refund-in-books-only",
        description: "payments marks a payment of a cancelled order refunded in its own store and never asks the provider to pay the charge back",
        origin: Origin::Planted,
        caught_by: "no-lost-refunds",
        target: "payment-provider",
    },
    FlawInfo {
        flaw: Flaw::TermOnError,
        name: "term-on-error",
        description: "on JetStream, a listener whose handler failed answers Term (as if the event were poison): an event that came before its predecessor is never redelivered",
        origin: Origin::JetstreamPort,
        caught_by: "no-lost-events",
        target: "jetstream",
    },
    FlawInfo {
        flaw: Flaw::MaxDeliverParks,
        name: "max-deliver-parks",
        description: "on JetStream, consumers cap MaxDeliver at 3 and a failed handler naks at once: an event that waits for its predecessor is parked, never processed",
        origin: Origin::JetstreamPort,
        caught_by: "no-lost-events",
        target: "jetstream",
    },
];

/// The deep-bug benchmark's switches: each removes a re-check inside a transaction of
/// the hardened services, a guard that matters only when another handler writes between
/// the read before the transaction and the transaction itself (the survivors of the
/// mutation runs, docs/invariants.md). Not in [`CATALOGUE`]: no preset has them, the
/// selftest and the catalogue test leave them out, `list` shows them apart; `hunt`
/// measures them (src/ticketing/deep.rs) and a scenario may switch them on by name.
pub const BENCHMARK: &[FlawInfo] = &[
    FlawInfo {
        flaw: Flaw::LockSkipsInboxRecheck,
        name: "lock-skips-inbox-recheck",
        description: "tickets' locking transaction does not re-check the inbox: two handlers of one order (its order:created and its order:cancelled, or one event twice) can both apply",
        origin: Origin::Benchmark,
        caught_by: "lock-matches-order",
        target: "full-system",
    },
    FlawInfo {
        flaw: Flaw::LockSavesUnversioned,
        name: "lock-saves-unversioned",
        description: "tickets' locking and unlocking write stores the ticket it read at the next version without checking the stored one is still that version",
        origin: Origin::Benchmark,
        caught_by: "owner-versions-in-order",
        target: "full-system",
    },
    FlawInfo {
        flaw: Flaw::EditLastWriterWins,
        name: "edit-last-writer-wins",
        description: "PUT /api/tickets/:id stores the ticket it read (edited) at the next version without checking the stored one is still that version: a lock taken meanwhile is lost",
        origin: Origin::Benchmark,
        caught_by: "owner-versions-in-order",
        target: "full-system",
    },
    FlawInfo {
        flaw: Flaw::UnlockSkipIgnoresVersion,
        name: "unlock-skip-ignores-version",
        description: "tickets' order:cancelled listener marks an order cancelled without checking the ticket did not move since it read it",
        origin: Origin::Benchmark,
        caught_by: "lock-matches-order",
        target: "full-system",
    },
    FlawInfo {
        flaw: Flaw::CancelSkipsStatusRecheck,
        name: "cancel-skips-status-recheck",
        description: "orders' cancelling write does not re-check the status it read: a completion in place meanwhile is overwritten",
        origin: Origin::Benchmark,
        caught_by: "payments-consistent",
        target: "full-system",
    },
    FlawInfo {
        flaw: Flaw::ChargeSkipsRechecks,
        name: "charge-skips-rechecks",
        description: "payments' charging transaction re-checks neither that the order was not cancelled nor its expiry (the checks before it stand)",
        origin: Origin::Benchmark,
        caught_by: "cancelled-orders-refunded",
        target: "full-system",
    },
    FlawInfo {
        flaw: Flaw::RefundListReadEarly,
        name: "refund-list-read-early",
        description: "payments' order:cancelled listener refunds the payments it found before its write, not those stored when it writes: a charge taken in between is never refunded",
        origin: Origin::Benchmark,
        caught_by: "cancelled-orders-refunded",
        target: "full-system",
    },
];

impl Flaw {
    /// The broker a flaw needs, when it is one broker's: a JetStream port's mistakes
    /// exist only on JetStream.
    pub fn only_on(self) -> Option<crate::kit::broker::BrokerKind> {
        (self.info().origin == Origin::JetstreamPort).then_some(crate::kit::broker::BrokerKind::JetStream)
    }

    pub fn info(self) -> &'static FlawInfo {
        every().find(|i| i.flaw == self).expect("every flaw is catalogued or a benchmark's")
    }
    pub fn name(self) -> &'static str {
        self.info().name
    }
    pub fn from_name(name: &str) -> Option<Flaw> {
        every().find(|i| i.name == name).map(|i| i.flaw)
    }
    /// Every switch a scenario may name: the catalogue's, then the benchmark's.
    pub fn names() -> Vec<&'static str> {
        every().map(|i| i.name).collect()
    }
}

/// The catalogue and the benchmark's switches.
fn every() -> impl Iterator<Item = &'static FlawInfo> {
    CATALOGUE.iter().chain(BENCHMARK)
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    AsBuilt,
    Hardened,
}

impl Preset {
    pub fn name(self) -> &'static str {
        match self {
            Preset::AsBuilt => "as-built",
            Preset::Hardened => "hardened",
        }
    }
    pub fn from_name(name: &str) -> Option<Preset> {
        match name {
            "as-built" => Some(Preset::AsBuilt),
            "hardened" => Some(Preset::Hardened),
            _ => None,
        }
    }
}

/// The set of flaws switched on for a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flaws(u64);

impl Flaws {
    pub fn none() -> Self {
        Flaws(0)
    }
    pub fn preset(preset: Preset) -> Self {
        match preset {
            Preset::Hardened => Flaws(0),
            Preset::AsBuilt => CATALOGUE.iter().filter(|i| i.origin == Origin::AsBuilt).fold(Flaws(0), |f, i| f.with(i.flaw)),
        }
    }
    pub fn has(self, flaw: Flaw) -> bool {
        self.0 & (1 << flaw as u64) != 0
    }
    /// [`Flaws::has`] at the line where the buggy and the fixed code part: the
    /// consultation is logged when a run asks (`--fix` names the line that decided).
    #[track_caller]
    pub fn on(self, flaw: Flaw) -> bool {
        crate::harness::switches::consulted(flaw.name(), self.has(flaw))
    }
    pub fn with(self, flaw: Flaw) -> Self {
        Flaws(self.0 | (1 << flaw as u64))
    }
    pub fn without(self, flaw: Flaw) -> Self {
        Flaws(self.0 & !(1 << flaw as u64))
    }
    pub fn iter(self) -> impl Iterator<Item = Flaw> {
        every().map(|i| i.flaw).filter(move |f| self.has(*f))
    }
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(|f| f.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_names_round_trip() {
        assert_eq!(Flaws::preset(Preset::Hardened).iter().count(), 0);
        let as_built = Flaws::preset(Preset::AsBuilt);
        assert!(as_built.has(Flaw::RacyReservation) && !as_built.has(Flaw::NoVersionCheck));
        for info in CATALOGUE {
            assert_eq!(Flaw::from_name(info.name), Some(info.flaw));
            assert!(Flaws::none().with(info.flaw).has(info.flaw));
            assert!(!as_built.with(info.flaw).without(info.flaw).has(info.flaw));
            assert_eq!(serde_json::to_value(info.origin).unwrap(), info.origin.name(), "JSON and text name an origin alike");
        }
    }
}

/// Test-only bugs planted outside the flaw switches: no scenario key turns them on and
/// `without_bugs` cannot turn them off, as with a bug nobody knows of yet.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Planted {
    /// The expiration service loses its waiting jobs when an instance restarts (as a
    /// queue kept in memory would).
    ExpirationForgetsJobs,
}
