//! The invariants' names, for scenario validation (a reproduction file names the one
//! it shows); kept equal to `INVARIANTS` by a test.

pub const NAMES: &[&str] = &[
    "no-double-reservation",
    "owner-versions-in-order",
    "versions-in-sequence",
    "no-edit-while-reserved",
    "payments-consistent",
    "expiry-respected",
    "authorized-writes",
    "answers-match-the-rules",
    "charges-match-prices",
    "balances-match-transactions",
    "replicas-converge",
    "lock-matches-order",
    "no-lost-events",
    "cancelled-orders-refunded",
    "charges-recorded",
    "no-lost-refunds",
    "provider-requests-valid",
    "orders-resolve",
    "accounts-settle",
    "no-poison-messages",
    "scripted-expectations",
];
