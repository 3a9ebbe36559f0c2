//! The ticketing invariants, one small file each: a name, a one-line meaning, and a
//! pure function of the recorded history and the final states. Safety invariants are
//! judged over the whole history; liveness ones on the final states, only once the
//! system has settled.

mod accounts_settle;
mod answers_match_the_rules;
mod authorized_writes;
mod balances_match_transactions;
mod cancelled_orders_refunded;
mod charges_match_prices;
mod charges_recorded;
mod expiry_respected;
mod lock_matches_order;
pub mod names;
mod no_double_reservation;
mod no_edit_while_reserved;
mod no_lost_events;
mod no_lost_refunds;
mod no_poison_messages;
mod orders_resolve;
mod owner_versions_in_order;
mod payments_consistent;
mod provider_requests_valid;
mod replicas_converge;
pub mod scripted_expectations;
mod step_expectations;
mod versions_in_sequence;

use super::domain::{Obs, Snapshot};
use super::scenario::Scenario;
use super::state::Ticketing;
use crate::harness::history::Entry;
pub use crate::harness::system::Violation;
use crate::harness::system::{Invariant, InvariantKind::*};
use crate::ticketing::services::{accounts, expiration, orders, payments, tickets, transactions};

/// What a ticketing invariant is judged on.
pub type Input<'a> = crate::harness::system::Check<'a, Ticketing>;

fn always(_: &Scenario) -> bool {
    true
}

fn runs_orders(s: &Scenario) -> bool {
    s.runs(orders::NAME)
}

fn runs_accounts(s: &Scenario) -> bool {
    s.runs(accounts::NAME) && s.runs(transactions::NAME)
}

/// A replica and the service that owns its records: orders' tickets, payments' orders.
/// A script that plays the owner's part by publishing its events has no owner to compare with.
fn runs_a_replica_and_its_owner(s: &Scenario) -> bool {
    (s.runs(tickets::NAME) && s.runs(orders::NAME)) || (s.runs(orders::NAME) && s.runs(payments::NAME))
}

/// Orders and the expiration service whose clock expires them.
fn runs_orders_and_expiration(s: &Scenario) -> bool {
    s.runs(orders::NAME) && s.runs(expiration::NAME)
}

fn runs_payments(s: &Scenario) -> bool {
    s.runs(payments::NAME) && s.runs(orders::NAME)
}

/// Payments charging through the payment provider as a remote party.
fn runs_the_provider(s: &Scenario) -> bool {
    s.app.payment_provider && s.runs(payments::NAME)
}

fn runs_tickets_and_orders(s: &Scenario) -> bool {
    s.runs(tickets::NAME) && s.runs(orders::NAME)
}

/// The invariants the scenario declares it does not judge, `"liveness"` spelled out.
pub fn not_judged(s: &Scenario) -> Vec<String> {
    let liveness = INVARIANTS.iter().filter(|i| i.kind == Liveness).map(|i| i.name.to_string());
    let all = s.not_judged.iter().any(|n| n == super::scenario::validate::LIVENESS);
    s.not_judged.iter().filter(|n| *n != super::scenario::validate::LIVENESS).cloned().chain(liveness.filter(|_| all)).collect()
}

/// Whether the scenario states expectations of its own.
pub fn scripted(s: &Scenario) -> bool {
    !s.expect.is_empty() || !s.expect_account.is_empty() || !s.expect_record.is_empty() || !s.workload.steps.is_empty()
}

pub const INVARIANTS: &[Invariant<Ticketing>] = &[
    Invariant {
        name: "no-double-reservation",
        meaning: "never two non-cancelled orders on one ticket at once; never two paid orders on one ticket",
        kind: Safety,
        applies: runs_orders,
        check: no_double_reservation::check,
    },
    Invariant {
        name: "owner-versions-in-order",
        meaning: "an owner writes each version of a record once and in order, v0 then v+1; a user's transactions are numbered 1, 2, 3, ...",
        kind: Safety,
        applies: always,
        check: owner_versions_in_order::check,
    },
    Invariant {
        name: "versions-in-sequence",
        meaning:
            "a replica applies each record's versions one by one, never skips or goes back, never holds a version its owner did not write",
        kind: Safety,
        applies: runs_a_replica_and_its_owner,
        check: versions_in_sequence::check,
    },
    Invariant {
        name: "no-edit-while-reserved",
        meaning: "no ticket edit succeeds while a non-cancelled order whose lock the ticket had taken still holds it",
        kind: Safety,
        applies: runs_tickets_and_orders,
        check: no_edit_while_reserved::check,
    },
    Invariant {
        name: "payments-consistent",
        meaning: "at most one payment per order; no paid order cancelled afterwards; no cancelled order completed by a payment",
        kind: Safety,
        applies: runs_payments,
        check: payments_consistent::check,
    },
    Invariant {
        name: "expiry-respected",
        meaning: "an order expires the expiration window after its creation; nothing cancels it by expiration, or runs its job, earlier",
        kind: Safety,
        applies: runs_orders_and_expiration,
        check: expiry_respected::check,
    },
    Invariant {
        name: "authorized-writes",
        meaning: "every successful ticket edit is by its seller; every successful cancel and payment of an order is by its buyer",
        kind: Safety,
        applies: always,
        check: authorized_writes::check,
    },
    Invariant {
        name: "answers-match-the-rules",
        meaning: "every answer of the tickets, orders and payments routes is the rules' for its store as it stood while the request was served: lists exactly what the rule selects, refusals by the first failing check, writes only when allowed",
        kind: Safety,
        applies: always,
        check: answers_match_the_rules::check,
    },
    Invariant {
        name: "charges-match-prices",
        meaning: "each charge is the order's price in cents, in usd, from the request's token, and its payment names it",
        kind: Safety,
        applies: runs_payments,
        check: charges_match_prices::check,
    },
    Invariant {
        name: "balances-match-transactions",
        meaning: "each account's balance is the sum of its applied transactions, applied in number order, each exactly once",
        kind: Safety,
        applies: runs_accounts,
        check: balances_match_transactions::check,
    },
    Invariant {
        name: "replicas-converge",
        meaning: "after the quiet phase every replica equals its owner's record (fields and version)",
        kind: Liveness,
        applies: runs_a_replica_and_its_owner,
        check: replicas_converge::check,
    },
    Invariant {
        name: "lock-matches-order",
        meaning: "after the quiet phase a ticket's orderId is set exactly when a non-cancelled order holds it, and names it",
        kind: Liveness,
        applies: runs_tickets_and_orders,
        check: lock_matches_order::check,
    },
    Invariant {
        name: "no-lost-events",
        meaning: "every version an owner wrote was published, and every accepted event was processed by every consuming group",
        kind: Liveness,
        applies: always,
        check: no_lost_events::check,
    },
    Invariant {
        name: "cancelled-orders-refunded",
        meaning: "after the quiet phase no cancelled order keeps an unrefunded payment",
        kind: Liveness,
        applies: runs_payments,
        check: cancelled_orders_refunded::check,
    },
    Invariant {
        name: "charges-recorded",
        meaning: "after the quiet phase every charge the payment provider made is recorded by one payment, every payment names one, and no order is charged twice",
        kind: Liveness,
        applies: runs_the_provider,
        check: charges_recorded::check,
    },
    Invariant {
        name: "no-lost-refunds",
        meaning: "after the quiet phase every payment recorded refunded was paid back by the payment provider, and every refund it made is recorded",
        kind: Liveness,
        applies: runs_the_provider,
        check: no_lost_refunds::check,
    },
    Invariant {
        name: "provider-requests-valid",
        meaning: "payments never sends the payment provider a request it refuses as invalid (an amount not in whole cents, or out of its limits)",
        kind: Safety,
        applies: runs_the_provider,
        check: provider_requests_valid::check,
    },
    Invariant {
        name: "orders-resolve",
        meaning: "after the quiet phase every order that expired before it is cancelled or complete",
        kind: Liveness,
        applies: runs_orders_and_expiration,
        check: orders_resolve::check,
    },
    Invariant {
        name: "accounts-settle",
        meaning: "after the quiet phase every account has reached its last transaction number and matching balance",
        kind: Liveness,
        applies: runs_accounts,
        check: accounts_settle::check,
    },
    Invariant {
        name: "no-poison-messages",
        meaning: "after the quiet phase no message is still unacknowledged (being redelivered) by any group",
        kind: Liveness,
        applies: always,
        check: no_poison_messages::check,
    },
    Invariant {
        name: "scripted-expectations",
        meaning: "scripted steps got the statuses they expect, and named records hold the expected state at the expected times",
        kind: Safety,
        applies: scripted,
        check: scripted_expectations::check,
    },
];

pub fn names() -> Vec<&'static str> {
    INVARIANTS.iter().map(|i| i.name).collect()
}

/// A user's request as the users recorded it, with its response if one came.
pub struct Call<'a> {
    pub time: std::time::Duration,
    /// The instance that served it (`(ingress)` or `(no ... instance)` when none did).
    pub instance: &'a str,
    pub user: Option<&'a super::domain::Id>,
    pub method: &'static str,
    pub path: &'a str,
    pub body: &'a serde_json::Value,
    pub response: Option<(std::time::Duration, u16, &'a serde_json::Value)>,
}

/// Every request of the run by request number.
pub fn calls(entries: &[Entry<Obs>]) -> Calls<'_> {
    let mut calls = Calls(Vec::new());
    for entry in entries {
        match entry.observed() {
            Some(Obs::Request { req, user, instance, method, path, body }) => {
                calls.insert(*req, Call { time: entry.time, instance, user: user.as_ref(), method, path, body, response: None });
            }
            Some(Obs::Response { req, status, body }) => {
                if let Some(call) = calls.get_mut(req) {
                    call.response = Some((entry.time, *status, &**body));
                }
            }
            _ => {}
        }
    }
    calls
}

/// The requests of a run in request-number order (the users number them as they send
/// them, so the history holds them in this order and each goes at the end).
pub struct Calls<'a>(Vec<(u64, Call<'a>)>);

impl<'a> Calls<'a> {
    /// Where request `req` is (`Ok`), or where it would go (`Err`).
    fn position(&self, req: u64) -> Result<usize, usize> {
        self.0.binary_search_by_key(&req, |(r, _)| *r)
    }

    /// Adds request `req`, or replaces the one with its number.
    fn insert(&mut self, req: u64, call: Call<'a>) {
        match self.0.last() {
            Some((last, _)) if *last >= req => match self.position(req) {
                Ok(at) => self.0[at].1 = call,
                Err(at) => self.0.insert(at, (req, call)),
            },
            _ => self.0.push((req, call)),
        }
    }

    pub fn get(&self, req: &u64) -> Option<&Call<'a>> {
        self.position(*req).ok().map(|at| &self.0[at].1)
    }

    fn get_mut(&mut self, req: &u64) -> Option<&mut Call<'a>> {
        self.position(*req).ok().map(|at| &mut self.0[at].1)
    }

    pub fn values(&self) -> impl Iterator<Item = &Call<'a>> {
        self.0.iter().map(|(_, call)| call)
    }
}

impl<'a> IntoIterator for Calls<'a> {
    type Item = (u64, Call<'a>);
    type IntoIter = std::vec::IntoIter<(u64, Call<'a>)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Every document written to a store, in history order: the entry, the store, the
/// call's name, and the document.
pub fn writes<'a>(entries: &'a [Entry<Obs>]) -> impl Iterator<Item = Write<'a>> + 'a {
    documents(entries.iter())
}

/// [`writes`] of the run being judged, from the entries that wrote ([`Input::written`]).
pub fn written<'a>(input: &Input<'a>) -> impl Iterator<Item = Write<'a>> + 'a {
    documents(input.written.iter().copied())
}

/// A document written: the entry, the store, the call's name, and the document.
pub type Write<'a> = (&'a Entry<Obs>, &'static str, &'static str, &'a Snapshot);

fn documents<'a>(entries: impl Iterator<Item = &'a Entry<Obs>> + 'a) -> impl Iterator<Item = Write<'a>> + 'a {
    entries.flat_map(|e| {
        let (store, call) = e.store_call().unwrap_or(("", ""));
        e.wrote().iter().map(move |doc| (e, store, call, doc))
    })
}

/// The latest document of `kind` that `store` wrote at or before `until` for which
/// `hit` holds: a record's state at a virtual time.
pub fn latest_doc<'a>(
    entries: &'a [Entry<Obs>],
    store: &str,
    kind: &str,
    until: std::time::Duration,
    hit: impl Fn(&Snapshot) -> bool,
) -> Option<&'a Snapshot> {
    writes(entries)
        .take_while(|(e, ..)| e.time <= until)
        .filter(|(_, s, _, doc)| *s == store && doc.kind() == kind && hit(doc))
        .map(|(.., doc)| doc)
        .last()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_names_list_is_the_invariants_list() {
        assert_eq!(super::names(), super::names::NAMES);
    }

    #[test]
    fn calls_keep_request_number_order_whatever_order_they_come_in() {
        let body = serde_json::Value::Null;
        let call = |path| super::Call {
            time: std::time::Duration::ZERO,
            instance: "i",
            user: None,
            method: "GET",
            path,
            body: &body,
            response: None,
        };
        let mut calls = super::Calls(Vec::new());
        for (req, path) in [(2, "/b"), (5, "/e"), (3, "/c"), (1, "/a"), (5, "/e2")] {
            calls.insert(req, call(path));
        }
        assert_eq!(calls.values().map(|c| c.path).collect::<Vec<_>>(), ["/a", "/b", "/c", "/e2"], "ordered, a repeated number replaced");
        assert_eq!(calls.get(&3).map(|c| c.path), Some("/c"));
        assert!(calls.get(&4).is_none());
        calls.get_mut(&1).unwrap().response = Some((std::time::Duration::ZERO, 200, &body));
        assert_eq!(
            calls.into_iter().map(|(req, c)| (req, c.response.is_some())).collect::<Vec<_>>(),
            [(1, true), (2, false), (3, false), (5, false)]
        );
    }
}

#[cfg(test)]
pub(crate) mod testkit {
    //! Hand-made histories for invariant tests.
    use super::*;
    use crate::harness::history::{History, Record};
    use crate::ticketing::domain::OrderStatus;
    use crate::ticketing::state::FinalState;
    use std::time::Duration;

    pub fn scenario() -> Scenario {
        Scenario::parse("test.toml", "name = \"test\"\n").unwrap()
    }

    pub fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// When hand-made runs begin their quiet phase, and end.
    pub const QUIET_START: Duration = Duration::from_secs(10);
    pub const END: Duration = Duration::from_secs(100);

    /// One store call that wrote one document.
    pub fn write(store: &'static str, call: &'static str, doc: Snapshot) -> Record<Obs> {
        Record::Store { store, call, began: Duration::ZERO, read: vec![], wrote: vec![doc] }
    }

    pub fn ticket(id: &str, version: u64, price: i64, order: Option<&str>) -> Record<Obs> {
        write(
            "tickets",
            if order.is_some() { "lock" } else { "unlock" },
            Snapshot::Ticket {
                id: id.into(),
                version,
                title: "concert".into(),
                price: price as f64,
                user_id: "u1".into(),
                order_id: order.map(Into::into),
            },
        )
    }

    pub fn edit(id: &str, version: u64, price: i64) -> Record<Obs> {
        let Record::Store { wrote, .. } = ticket(id, version, price, None) else { unreachable!() };
        write("tickets", "edit", wrote[0].clone())
    }

    pub fn order(id: &str, version: u64, ticket: &str, status: OrderStatus) -> Record<Obs> {
        write(
            "orders",
            "create",
            Snapshot::Order {
                id: id.into(),
                version,
                status,
                user_id: "u2".into(),
                ticket_id: ticket.into(),
                price: 20.0,
                expires_at: ms(900_000),
            },
        )
    }

    pub fn replica(id: &str, version: u64, price: i64) -> Record<Obs> {
        write("orders", "replicate", Snapshot::TicketReplica { id: id.into(), version, title: "concert".into(), price: price as f64 })
    }

    pub fn run(records: Vec<Record<Obs>>, final_state: &FinalState, check: fn(&Input) -> Vec<Violation>) -> Vec<Violation> {
        run_on(&scenario(), records, final_state, check)
    }

    pub fn run_on(
        scenario: &Scenario,
        records: Vec<Record<Obs>>,
        final_state: &FinalState,
        check: fn(&Input) -> Vec<Violation>,
    ) -> Vec<Violation> {
        let history = History::from_records(records.into_iter().enumerate().map(|(i, r)| (ms(i as u64 * 10), r)).collect());
        let entries = history.entries();
        let written = Input::written_in(&entries);
        let input = Input {
            entries: &entries,
            written: &written,
            final_state,
            scenario,
            end: END,
            quiet_start: QUIET_START,
            settle_window: Duration::ZERO,
            expectations: &[],
        };
        // As the harness does: the scenario's expectations judged once, then the invariants.
        let judgements = <crate::ticketing::Ticketing as crate::harness::System>::expectations(&input);
        check(&Input { expectations: &judgements, ..input })
    }
}
