//! `scripted-expectations`: scripted steps got what they expect (see
//! `step_expectations`), records hold the expected state at the expected times, and
//! named tickets (and the orders replica of them) the expected versions, prices and
//! locks (the version table `run` prints, built here too).

use super::{Input, Violation};
use crate::harness::history::Entry;
use crate::harness::system::{Judgement, Verdict};
use crate::ticketing::domain::Script;
use crate::ticketing::domain::{Id, Obs, Snapshot};
use crate::ticketing::scenario::Expectation;
use std::collections::BTreeMap;

const NAME: &str = "scripted-expectations";

/// What a named ticket looked like at a moment, in the owner and in the replica.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    pub ticket: Option<(u64, f64, Option<Id>)>,
    pub replica: Option<(u64, String, f64)>,
}

/// Step names bound to record ids during the run.
pub fn names(entries: &[Entry<Obs>]) -> BTreeMap<String, Id> {
    entries
        .iter()
        .filter_map(|e| match e.observed() {
            Some(Obs::App(Script::Named { name, id, .. })) => Some((name.clone(), id.clone())),
            _ => None,
        })
        .collect()
}

/// The latest owner and replica writes of `ticket` at or before `expectation.at`.
pub fn observe(entries: &[Entry<Obs>], ticket: &Id, expectation: &Expectation) -> Observed {
    let mut observed = Observed::default();
    for entry in entries.iter().take_while(|e| e.time <= expectation.at.0) {
        for doc in entry.wrote() {
            match doc {
                Snapshot::Ticket { id, version, price, order_id, .. } if id == ticket => {
                    observed.ticket = Some((*version, *price, order_id.clone()));
                }
                Snapshot::TicketReplica { id, version, title, price } if id == ticket => {
                    observed.replica = Some((*version, title.clone(), *price));
                }
                _ => {}
            }
        }
    }
    observed
}

/// A user's account (balance, last number) at or before `at`, from the accounts store's writes.
pub fn observe_account(entries: &[Entry<Obs>], user: &str, at: std::time::Duration) -> Option<(i64, u64)> {
    let mut observed = None;
    for entry in entries.iter().take_while(|e| e.time <= at) {
        for doc in entry.wrote() {
            if let Snapshot::Account { user_id, balance, last_number } = doc {
                if &**user_id == user {
                    observed = Some((*balance, *last_number));
                }
            }
        }
    }
    observed
}

/// Mismatches between an expectation and what was observed.
pub fn mismatches(expectation: &Expectation, observed: &Observed, names: &BTreeMap<String, Id>) -> Vec<String> {
    let mut problems = Vec::new();
    let (version, price, lock) = match &observed.ticket {
        Some((v, p, l)) => (Some(*v), Some(*p), l.clone()),
        None => (None, None, None),
    };
    let show = |v: Option<u64>| v.map(|v| format!("v{v}")).unwrap_or_else(|| "nothing".into());
    if let Some(expected) = expectation.version {
        if version != Some(expected) {
            problems.push(format!("ticket at {} instead of v{expected}", show(version)));
        }
    }
    if let Some(expected) = expectation.price {
        if price != Some(expected as f64) {
            problems.push(format!("ticket price {price:?} instead of {expected}"));
        }
    }
    if let Some(order) = &expectation.order {
        let expected: Option<Id> =
            if order.is_empty() { None } else { Some(names.get(order).cloned().unwrap_or_else(|| order.as_str().into())) };
        if lock != expected {
            problems.push(format!("ticket orderId {:?} instead of {:?}", lock.as_deref(), expected.as_deref()));
        }
    }
    let replica_version = observed.replica.as_ref().map(|r| r.0);
    if let Some(expected) = expectation.replica_version {
        if replica_version != Some(expected) {
            problems.push(format!("replica at {} instead of v{expected}", show(replica_version)));
        }
    }
    if let Some(expected) = expectation.replica_price {
        let got = observed.replica.as_ref().map(|r| r.2);
        if got != Some(expected as f64) {
            problems.push(format!("replica price {got:?} instead of {expected}"));
        }
    }
    problems
}

/// The version-table expectations (`[[expect]]`), judged.
fn ticket_judgements(input: &Input, names: &BTreeMap<String, Id>) -> Vec<Judgement> {
    let mut judgements = Vec::new();
    for expectation in &input.scenario.expect {
        let label = format!("expectation at {} ({})", crate::ticketing::scenario::fmt_duration(expectation.at.0), expectation.label);
        let verdict = match names.get(&expectation.ticket) {
            None => Verdict::Failed(format!("ticket {} was never created, so its expected state cannot hold", expectation.ticket)),
            Some(ticket) => {
                let problems = mismatches(expectation, &observe(input.entries, ticket, expectation), names);
                if problems.is_empty() {
                    Verdict::Passed
                } else {
                    Verdict::Failed(format!("{} ({ticket}): {}", expectation.ticket, problems.join("; ")))
                }
            }
        };
        judgements.push(Judgement { label, time: expectation.at.0, verdict, optional: false });
    }
    judgements
}

/// The account expectations (`[[expect_account]]`), judged.
fn account_judgements(input: &Input) -> Vec<Judgement> {
    let mut judgements = Vec::new();
    for e in &input.scenario.expect_account {
        let observed = observe_account(input.entries, &e.user, e.at.0);
        let verdict = if observed == Some((e.balance, e.last_number)) {
            Verdict::Passed
        } else {
            let got = observed.map(|(b, n)| format!("balance {b}, lastNumber {n}")).unwrap_or_else(|| "no account".into());
            Verdict::Failed(format!("account {} has {got}, expected balance {}, lastNumber {}", e.user, e.balance, e.last_number))
        };
        let label = format!("account expectation at {} ({})", crate::ticketing::scenario::fmt_duration(e.at.0), e.label);
        judgements.push(Judgement { label, time: e.at.0, verdict, optional: false });
    }
    judgements
}

/// Every expectation of the scenario, judged or not (see [`Judgement`]).
pub fn judgements(input: &Input) -> Vec<Judgement> {
    let mut judgements = super::step_expectations::judgements(input);
    let names = names(input.entries);
    judgements.extend(ticket_judgements(input, &names));
    judgements.extend(account_judgements(input));
    judgements
}

/// Each failed expectation, and each not judged that the scenario did not mark optional
/// (judged once per run: [`crate::harness::system::Check::expectations`]).
pub fn check(input: &Input) -> Vec<Violation> {
    input
        .expectations
        .iter()
        .cloned()
        .filter_map(|j| {
            let explanation = match (&j.verdict, j.optional) {
                (Verdict::Failed(what), _) => format!("{}: {what}", j.label),
                (Verdict::NotJudged(why), false) => format!("expectation not judged: {} {why}", j.label),
                _ => return None,
            };
            Some(Violation::new(NAME, j.time, vec![j.label], explanation))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::harness::history::Record;
    use crate::ticketing::domain::Obs;
    use crate::ticketing::domain::Script;
    use crate::ticketing::scenario::Scenario;
    use crate::ticketing::state::FinalState;
    use std::sync::Arc;

    const SCRIPT: &str = r#"
name = "s"
[[workload.steps]]
at = "0s"
user = "CZQ"
op = "create-ticket"
title = "concert"
price = 20
name = "CZQ"
expect_status = 201
[[expect]]
at = "1s"
ticket = "CZQ"
version = 1
order = ""
replica_version = 1
"#;

    fn check(records: Vec<Record<Obs>>) -> Vec<super::Violation> {
        let scenario = Scenario::parse("s.toml", SCRIPT).unwrap();
        run_on(&scenario, records, &FinalState::default(), super::check)
    }

    /// The step's request #1 and its response.
    fn answered(status: u16) -> Vec<Record<Obs>> {
        let body = Arc::new(serde_json::json!({"title": "concert", "price": 20}));
        vec![
            Record::Observed(Obs::Request {
                req: 1,
                user: Some("CZQ".into()),
                instance: "tickets-1".into(),
                method: "POST",
                path: "/api/tickets".into(),
                body,
            }),
            Record::Observed(Obs::Response { req: 1, status, body: Arc::new(serde_json::json!({"id": "T1"})) }),
            Record::Observed(Obs::App(Script::Step { step: 0, label: "CZQ".into(), req: 1 })),
            Record::Observed(Obs::App(Script::Named { name: "CZQ".into(), id: "T1".into(), req: 1 })),
        ]
    }

    #[test]
    fn matching_versions_and_statuses_pass() {
        let mut h = answered(201);
        h.extend([ticket("T1", 0, 20, None), replica("T1", 0, 20), edit("T1", 1, 25), replica("T1", 1, 25)]);
        assert_eq!(check(h), vec![]);
    }

    #[test]
    fn lagging_replica_and_wrong_status_fail() {
        let mut h = answered(400);
        h.extend([ticket("T1", 0, 20, None), replica("T1", 0, 20), edit("T1", 1, 25)]);
        let v = check(h);
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v[0].explanation.ends_with(": status: expected 201, got 400"), "{}", v[0].explanation);
        assert!(v[1].explanation.contains("replica at v0 instead of v1"));
    }
}
