//! `owner-versions-in-order`: an owner writes each version of its records once and in
//! order: a ticket or order starts at v0 and every change is the last version plus one.
//! The one change that keeps the version is the hardened orders service completing an
//! order in place (created to complete). A user's transactions are numbered 1, 2, 3, ...
//! in the order the transactions service writes them.

use super::{written, Input, Violation};
use crate::harness::fmt_time;
use crate::harness::history::{Lookup, LookupSet};
use crate::ticketing::domain::{Id, OrderStatus, Snapshot};
use crate::ticketing::services::{orders, tickets, transactions};
use std::time::Duration;

const NAME: &str = "owner-versions-in-order";

/// The last write of a record: version, status (orders), when, and by which call.
#[derive(Clone, Copy)]
struct Last {
    version: u64,
    status: Option<OrderStatus>,
    time: Duration,
    call: &'static str,
}

fn problem(kind: &str, id: &Id, last: Option<Last>, version: u64, status: Option<OrderStatus>) -> Option<String> {
    let Some(last) = last else {
        return (version != 0).then(|| format!("the {kind} service's first write of {id} is v{version}, not v0"));
    };
    let completed_in_place = last.status == Some(OrderStatus::Created) && status == Some(OrderStatus::Complete);
    if version == last.version + 1 || (version == last.version && completed_in_place) {
        return None;
    }
    let what = if version == last.version {
        "wrote the same version twice"
    } else if version > last.version {
        "skipped a version"
    } else {
        "went back"
    };
    Some(format!("the {kind} service {what}: {id} v{} ({} at {}), then v{version}", last.version, last.call, fmt_time(last.time)))
}

pub fn check(input: &Input) -> Vec<Violation> {
    let mut last: Lookup<(&str, Id), Last> = Lookup::default();
    let mut numbers: Lookup<Id, u64> = Lookup::default();
    let mut reported: LookupSet<Id> = LookupSet::default();
    let mut violations = Vec::new();
    for (entry, store, call, doc) in written(input) {
        let (kind, id, version, status) = match (store, doc) {
            (tickets::NAME, Snapshot::Ticket { id, version, .. }) => (tickets::NAME, id, *version, None),
            (orders::NAME, Snapshot::Order { id, version, status, .. }) => (orders::NAME, id, *version, Some(*status)),
            (transactions::NAME, Snapshot::Transaction { id, user_id, number, .. }) => {
                let expected = numbers.get(user_id).copied().unwrap_or(0) + 1;
                numbers.insert(user_id.clone(), *number);
                if *number != expected && reported.insert(user_id.clone()) {
                    let why = format!("transaction {id} of {user_id} is #{number}, but #{expected} was next");
                    violations.push(Violation::new(NAME, entry.time, vec![user_id.to_string(), id.to_string()], why));
                }
                continue;
            }
            _ => continue,
        };
        let previous = last.insert((kind, id.clone()), Last { version, status, time: entry.time, call });
        if let Some(why) = problem(kind, id, previous, version, status) {
            if reported.insert(id.clone()) {
                violations.push(Violation::new(NAME, entry.time, vec![id.to_string()], why));
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::ticketing::domain::OrderStatus::*;
    use crate::ticketing::domain::{Snapshot, TransactionKind};
    use crate::ticketing::state::FinalState;

    #[test]
    fn versions_one_by_one_and_an_in_place_completion_pass() {
        let h = vec![
            ticket("T1", 0, 20, None),
            ticket("T1", 1, 20, Some("O1")),
            order("O1", 0, "T1", Created),
            order("O1", 0, "T1", Complete),
            edit("T1", 2, 30),
        ];
        assert!(run(h, &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn a_version_written_twice_or_skipped_or_not_starting_at_zero_fails() {
        let twice = vec![order("O1", 0, "T1", Created), order("O1", 0, "T1", Cancelled)];
        let v = run(twice, &FinalState::default(), super::check);
        assert_eq!(v[0].explanation, "the orders service wrote the same version twice: O1 v0 (create at 0.000s), then v0");
        let skipped = vec![ticket("T1", 0, 20, None), edit("T1", 2, 30)];
        assert!(run(skipped, &FinalState::default(), super::check)[0].explanation.contains("skipped a version: T1 v0"));
        let late = vec![ticket("T1", 3, 20, None)];
        assert!(run(late, &FinalState::default(), super::check)[0].explanation.contains("first write of T1 is v3"));
    }

    #[test]
    fn transaction_numbers_must_count_up_per_user() {
        let t = |id: &str, number| {
            let doc = Snapshot::Transaction { id: id.into(), user_id: "CZQ".into(), kind: TransactionKind::Deposit, amount: 5, number };
            write("transactions", "create", doc)
        };
        assert!(run(vec![t("X1", 1), t("X2", 2)], &FinalState::default(), super::check).is_empty());
        let v = run(vec![t("X1", 1), t("X2", 1)], &FinalState::default(), super::check);
        assert_eq!(v[0].explanation, "transaction X2 of CZQ is #1, but #2 was next");
    }
}
