//! Invariants, each a named pure function of the recorded history and the final
//! states. Safety invariants are judged over the whole history; liveness ones on the
//! final states, after the quiet phase has let the system drain.

mod accounts_settle;
mod balances_match_transactions;
mod lock_matches_order;
mod no_double_reservation;
mod no_edit_while_reserved;
mod no_lost_events;
mod no_poison_messages;
mod orders_resolve;
mod payments_consistent;
mod replicas_converge;
pub mod scripted_expectations;
mod versions_in_sequence;

use crate::history::{Entry, History};
use crate::run::FinalState;
use crate::scenario::Scenario;
use std::time::Duration;

/// A broken invariant: which, when (virtual time), the records involved, and a
/// one-line explanation a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub invariant: &'static str,
    #[serde(serialize_with = "crate::report::ser_duration")]
    pub time: Duration,
    pub records: Vec<String>,
    pub explanation: String,
}

impl Violation {
    pub fn new(invariant: &'static str, time: Duration, records: Vec<String>, explanation: String) -> Self {
        Violation { invariant, time, records, explanation }
    }
}

impl Violation {
    /// The bug's fingerprint: the invariant plus the shape of the explanation, with
    /// record ids, numbers and quoted values blanked, so the seeds that hit one bug group
    /// together whatever ids and versions each run gave its records.
    pub fn fingerprint(&self) -> String {
        let mut shape = String::new();
        let mut chars = self.explanation.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                for d in chars.by_ref() {
                    if d == '"' {
                        break;
                    }
                }
                shape.push('…');
            } else if c.is_ascii_digit() || ((c.is_ascii_uppercase() || c == '-') && chars.peek().is_some_and(|n| n.is_ascii_digit())) {
                while chars.peek().is_some_and(|n| n.is_ascii_digit() || *n == '.') {
                    chars.next();
                }
                if !shape.ends_with('#') {
                    shape.push('#');
                }
            } else {
                shape.push(c);
            }
        }
        format!("{}: {shape}", self.invariant)
    }
}

/// What a checker sees.
pub struct Input<'a> {
    pub entries: &'a [Entry],
    pub final_state: &'a FinalState,
    pub scenario: &'a Scenario,
}

pub struct Invariant {
    pub name: &'static str,
    pub meaning: &'static str,
    pub liveness: bool,
    pub check: fn(&Input) -> Vec<Violation>,
}

pub const INVARIANTS: &[Invariant] = &[
    Invariant {
        name: "no-double-reservation",
        meaning: "never two non-cancelled orders on one ticket at once; never two paid orders on one ticket",
        liveness: false,
        check: no_double_reservation::check,
    },
    Invariant {
        name: "versions-in-sequence",
        meaning:
            "a replica applies each record's versions one by one, never skips or goes back, never holds a version its owner did not write",
        liveness: false,
        check: versions_in_sequence::check,
    },
    Invariant {
        name: "no-edit-while-reserved",
        meaning: "no ticket edit succeeds while a non-cancelled order whose lock the ticket had taken still holds it",
        liveness: false,
        check: no_edit_while_reserved::check,
    },
    Invariant {
        name: "payments-consistent",
        meaning: "at most one payment per order; no paid order cancelled afterwards; no cancelled order completed by a payment; no cancelled order left charged",
        liveness: false,
        check: payments_consistent::check,
    },
    Invariant {
        name: "balances-match-transactions",
        meaning: "each account's balance is the sum of its applied transactions, applied in number order, each exactly once",
        liveness: false,
        check: balances_match_transactions::check,
    },
    Invariant {
        name: "replicas-converge",
        meaning: "after the quiet phase every replica equals its owner's record (fields and version)",
        liveness: true,
        check: replicas_converge::check,
    },
    Invariant {
        name: "lock-matches-order",
        meaning: "after the quiet phase a ticket's orderId is set exactly when a non-cancelled order holds it, and names it",
        liveness: true,
        check: lock_matches_order::check,
    },
    Invariant {
        name: "no-lost-events",
        meaning: "every version an owner wrote was published, and every accepted event was processed by every consuming group",
        liveness: true,
        check: no_lost_events::check,
    },
    Invariant {
        name: "orders-resolve",
        meaning: "after the quiet phase every order that expired before it is cancelled or complete",
        liveness: true,
        check: orders_resolve::check,
    },
    Invariant {
        name: "accounts-settle",
        meaning: "after the quiet phase every account has reached its last transaction number and matching balance",
        liveness: true,
        check: accounts_settle::check,
    },
    Invariant {
        name: "no-poison-messages",
        meaning: "after the quiet phase no message is still unacknowledged (being redelivered) by any group",
        liveness: true,
        check: no_poison_messages::check,
    },
    Invariant {
        name: "scripted-expectations",
        meaning: "scripted steps got the statuses they expect, and named records hold the expected versions at the expected times",
        liveness: false,
        check: scripted_expectations::check,
    },
];

/// Runs every checker.
pub fn check_all(history: &History, final_state: &FinalState, scenario: &Scenario) -> Vec<Violation> {
    let entries = history.entries();
    let input = Input { entries: &entries, final_state, scenario };
    INVARIANTS.iter().flat_map(|inv| (inv.check)(&input)).collect()
}

pub fn names() -> Vec<&'static str> {
    INVARIANTS.iter().map(|i| i.name).collect()
}

#[cfg(test)]
mod tests {
    use super::Violation;
    use std::time::Duration;

    #[test]
    fn fingerprints_ignore_ids_numbers_and_values_but_not_the_shape() {
        let v = |e: &str| Violation::new("no-double-reservation", Duration::ZERO, vec![], e.into()).fingerprint();
        assert_eq!(
            v("ticket T1 is held by 2 non-cancelled orders at once: O1, O2"),
            v("ticket T12 is held by 3 non-cancelled orders at once: O7, O9")
        );
        assert_ne!(v("ticket T1 is held by 2 non-cancelled orders at once: O1, O2"), v("ticket T1 was paid for by two orders: O1, O2"));
        assert_eq!(v(r#"replica is v2 "a" 3"#), v(r#"replica is v7 "b" 9"#));
    }
}

#[cfg(test)]
pub(crate) mod testkit {
    //! Hand-made histories for checker tests.
    use super::*;
    use crate::history::{OrderStatus, Record, Snapshot};
    use std::time::Duration;

    pub fn scenario() -> Scenario {
        Scenario::parse("test.toml", "name = \"test\"\n").unwrap()
    }

    pub fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    pub fn ticket(id: &str, version: u64, price: i64, order: Option<&str>) -> Record {
        Record::Write {
            service: "tickets",
            cause: if order.is_some() { "lock" } else { "unlock" },
            snapshot: Snapshot::Ticket {
                id: id.into(),
                version,
                title: "concert".into(),
                price,
                user_id: "u1".into(),
                order_id: order.map(Into::into),
            },
        }
    }

    pub fn edit(id: &str, version: u64, price: i64) -> Record {
        let Record::Write { snapshot, .. } = ticket(id, version, price, None) else { unreachable!() };
        Record::Write { service: "tickets", cause: "edit", snapshot }
    }

    pub fn order(id: &str, version: u64, ticket: &str, status: OrderStatus) -> Record {
        Record::Write {
            service: "orders",
            cause: "create",
            snapshot: Snapshot::Order {
                id: id.into(),
                version,
                status,
                user_id: "u2".into(),
                ticket_id: ticket.into(),
                expires_at: ms(900_000),
            },
        }
    }

    pub fn replica(id: &str, version: u64, price: i64) -> Record {
        Record::Write {
            service: "orders",
            cause: "replicate",
            snapshot: Snapshot::TicketReplica { id: id.into(), version, title: "concert".into(), price },
        }
    }

    pub fn run(records: Vec<Record>, final_state: &FinalState, check: fn(&Input) -> Vec<Violation>) -> Vec<Violation> {
        let history = History::from_records(records.into_iter().enumerate().map(|(i, r)| (ms(i as u64 * 10), r)).collect());
        let scenario = scenario();
        let entries = history.entries();
        check(&Input { entries: &entries, final_state, scenario: &scenario })
    }
}
