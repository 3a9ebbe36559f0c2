//! The invariants' names, for scenario validation (a reproduction file names the one
//! it shows); kept equal to `INVARIANTS` by a test.

pub const NAMES: &[&str] = &[
    "no-double-reservation",
    "versions-in-sequence",
    "no-edit-while-reserved",
    "payments-consistent",
    "balances-match-transactions",
    "replicas-converge",
    "lock-matches-order",
    "no-lost-events",
    "orders-resolve",
    "accounts-settle",
    "no-poison-messages",
    "scripted-expectations",
];
