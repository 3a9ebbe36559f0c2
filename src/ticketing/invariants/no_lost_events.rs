//! `no-lost-events`: every version an owner wrote reached the broker as an event
//! (whether published directly or through the outbox), and every event the broker
//! accepted was processed (acked) by every group that consumes its subject. Events a
//! script published itself are the script's to judge (`scripted-expectations`).

use super::{Input, Violation};
use crate::ticketing::domain::{Group, Id, Obs, OrderStatus, Snapshot, Subject};
use crate::ticketing::services::{orders, payments, tickets, transactions};
use crate::ticketing::workload::client::INJECTOR;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The event an owner's write calls for: its id (or the prefix of a versioned one),
/// whether the id is exact, when it was written, and the record.
fn owed(store: &str, doc: &Snapshot) -> Option<(String, bool, Id)> {
    Some(match (store, doc) {
        (tickets::NAME, Snapshot::Ticket { id, version, .. }) => {
            let subject = if *version == 0 { Subject::TicketCreated } else { Subject::TicketUpdated };
            (format!("{subject}/{id}/v{version}"), true, id.clone())
        }
        (orders::NAME, Snapshot::Order { id, status, .. }) => {
            let subject = match status {
                OrderStatus::Created => Subject::OrderCreated,
                OrderStatus::Cancelled => Subject::OrderCancelled,
                _ => return None, // a complete order announces nothing in this app
            };
            (format!("{subject}/{id}"), false, id.clone())
        }
        (payments::NAME, Snapshot::Payment { id, refunded: false, .. }) => (format!("{}/{id}", Subject::PaymentCreated), true, id.clone()),
        (transactions::NAME, Snapshot::Transaction { id, .. }) => (format!("{}/{id}", Subject::TransactionCreated), true, id.clone()),
        (_, Snapshot::Outbox { event_id, sent_to: None, .. }) => (event_id.to_string(), true, event_id.clone()),
        _ => return None,
    })
}

pub fn check(input: &Input) -> Vec<Violation> {
    let mut accepted: BTreeMap<Id, (Subject, Duration)> = BTreeMap::new();
    let mut processed: BTreeSet<(Group, Id)> = BTreeSet::new();
    let mut owes: Vec<(String, bool, Duration, Id)> = Vec::new();
    for entry in input.entries {
        match entry.observed() {
            Some(Obs::Accepted { subject, event, client, .. }) if client.as_ref() != INJECTOR => {
                accepted.entry(event.event_id.clone()).or_insert((*subject, entry.time));
            }
            Some(Obs::Acked { group, event_id, .. }) => {
                processed.insert((group, event_id.clone()));
            }
            _ => {}
        }
        let store = entry.store_call().map_or("", |(store, _)| store);
        for doc in entry.wrote() {
            if let Some((expected, exact, record)) = owed(store, doc) {
                owes.push((expected, exact, entry.time, record));
            }
        }
    }
    let mut violations = Vec::new();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for (expected, exact, time, record) in owes {
        let found = if exact {
            accepted.contains_key(expected.as_str())
        } else {
            // Order events carry "/v<version>" unless the unversioned-order-events flaw is on.
            let versioned = format!("{expected}/");
            accepted.contains_key(expected.as_str())
                || accepted.range::<Id, _>(Id::from(versioned.as_str())..).next().is_some_and(|(id, _)| id.starts_with(versioned.as_str()))
        };
        if !found && reported.insert(expected.clone()) {
            violations.push(Violation::new(
                "no-lost-events",
                time,
                vec![record.to_string()],
                format!("{expected} was written but never reached the broker: the event is lost"),
            ));
        }
    }
    for (event_id, (subject, time)) in &accepted {
        for group in input.final_state.consumers.get(subject).into_iter().flatten() {
            if !processed.contains(&(*group, event_id.clone())) {
                violations.push(Violation::new(
                    "no-lost-events",
                    *time,
                    vec![event_id.to_string()],
                    format!("{event_id} was accepted by the broker but {group} never processed it"),
                ));
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::harness::history::Record;
    use crate::ticketing::domain::{Event, Obs, Subject, TicketCreated, TicketUpdated};
    use crate::ticketing::state::FinalState;

    fn created(version: u64) -> std::sync::Arc<Event> {
        if version == 0 {
            Event::new(&TicketCreated { id: "T1".into(), version, title: "concert".into(), price: 20.0, user_id: "u1".into() })
        } else {
            Event::new(&TicketUpdated {
                id: "T1".into(),
                version,
                title: "concert".into(),
                price: 20.0,
                user_id: "u1".into(),
                order_id: None,
            })
        }
    }

    fn consumers() -> FinalState {
        let mut f = FinalState::default();
        f.consumers.insert(Subject::TicketCreated, vec!["orders-service"]);
        f.consumers.insert(Subject::TicketUpdated, vec!["orders-service"]);
        f
    }

    fn accepted(event: &std::sync::Arc<Event>) -> Record<Obs> {
        Record::Observed(Obs::Accepted { subject: event.subject, seq: 1, event: event.clone(), store_id: 1, client: "tickets-1#1".into() })
    }

    fn acked(event: &Event) -> Record<Obs> {
        Record::Observed(Obs::Acked {
            subject: event.subject,
            group: "orders-service",
            seq: 1,
            client: "orders-1#1".into(),
            event_id: event.event_id.clone(),
        })
    }

    #[test]
    fn published_and_processed_passes() {
        let e = created(0);
        let h = vec![ticket("T1", 0, 20, None), accepted(&e), acked(&e)];
        assert!(run(h, &consumers(), super::check).is_empty());
    }

    #[test]
    fn version_written_but_never_published_fails() {
        let e = created(0);
        let h = vec![ticket("T1", 0, 20, None), accepted(&e), acked(&e), ticket("T1", 1, 20, Some("O1"))];
        let v = run(h, &consumers(), super::check);
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.contains("ticket:updated/T1/v1"));
    }

    #[test]
    fn accepted_but_never_processed_fails() {
        let e = created(0);
        let h = vec![ticket("T1", 0, 20, None), accepted(&e)];
        let v = run(h, &consumers(), super::check);
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.contains("never processed"));
    }
}
