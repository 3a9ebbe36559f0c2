//! `no-lost-events`: every version an owner wrote reached the broker as an event
//! (whether published directly or through the outbox), and every event the broker
//! accepted was processed (acked) by every group that consumes its subject.

use super::{Input, Violation};
use crate::history::{OrderStatus, Record, Snapshot};
use crate::proto::{Group, Id, Subject};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub fn check(input: &Input) -> Vec<Violation> {
    let mut accepted: BTreeMap<Id, (Subject, Duration)> = BTreeMap::new();
    let mut processed: BTreeSet<(Group, Id)> = BTreeSet::new();
    // Events that owners' writes call for: (expected event id or prefix, time, record).
    let mut owed: Vec<(String, bool, Duration, Id)> = Vec::new();
    for entry in input.entries {
        match &entry.record {
            Record::Accepted { subject, event, .. } => {
                accepted.entry(event.event_id.clone()).or_insert((*subject, entry.time));
            }
            Record::Acked { group, event_id, .. } => {
                processed.insert((group, event_id.clone()));
            }
            Record::Write { service: "tickets", snapshot: Snapshot::Ticket { id, version, .. }, .. } => {
                let subject = if *version == 0 { Subject::TicketCreated } else { Subject::TicketUpdated };
                owed.push((format!("{subject}/{id}/v{version}"), true, entry.time, id.clone()));
            }
            Record::Write { service: "orders", snapshot: Snapshot::Order { id, status, .. }, .. } => {
                let subject = match status {
                    OrderStatus::Created => Subject::OrderCreated,
                    OrderStatus::Cancelled => Subject::OrderCancelled,
                    _ => continue, // a complete order announces nothing in this app
                };
                owed.push((format!("{subject}/{id}"), false, entry.time, id.clone()));
            }
            Record::Write { service: "payments", snapshot: Snapshot::Payment { id, .. }, .. } => {
                owed.push((format!("{}/{id}", Subject::PaymentCreated), true, entry.time, id.clone()));
            }
            Record::Write { service: "transactions", snapshot: Snapshot::Transaction { id, .. }, .. } => {
                owed.push((format!("{}/{id}", Subject::TransactionCreated), true, entry.time, id.clone()));
            }
            Record::Outboxed { event_id, .. } => owed.push((event_id.to_string(), true, entry.time, event_id.clone())),
            _ => {}
        }
    }
    let mut violations = Vec::new();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for (expected, exact, time, record) in owed {
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
    use crate::history::Record;
    use crate::proto::{Event, EventData, Subject, TicketEvent};
    use crate::run::FinalState;

    fn created(version: u64) -> std::sync::Arc<Event> {
        let t = TicketEvent { id: "T1".into(), version, title: "concert".into(), price: 20, user_id: "u1".into(), order_id: None };
        Event::new(if version == 0 { EventData::TicketCreated(t) } else { EventData::TicketUpdated(t) })
    }

    fn consumers() -> FinalState {
        let mut f = FinalState::default();
        f.consumers.insert(Subject::TicketCreated, vec!["orders-service"]);
        f.consumers.insert(Subject::TicketUpdated, vec!["orders-service"]);
        f
    }

    fn acked(event: &Event) -> Record {
        Record::Acked {
            subject: event.subject(),
            group: "orders-service",
            seq: 1,
            client: "orders-1#1".into(),
            event_id: event.event_id.clone(),
        }
    }

    #[test]
    fn published_and_processed_passes() {
        let e = created(0);
        let h = vec![ticket("T1", 0, 20, None), Record::Accepted { subject: Subject::TicketCreated, seq: 1, event: e.clone() }, acked(&e)];
        assert!(run(h, &consumers(), super::check).is_empty());
    }

    #[test]
    fn version_written_but_never_published_fails() {
        let e = created(0);
        let h = vec![
            ticket("T1", 0, 20, None),
            Record::Accepted { subject: Subject::TicketCreated, seq: 1, event: e.clone() },
            acked(&e),
            ticket("T1", 1, 20, Some("O1")),
        ];
        let v = run(h, &consumers(), super::check);
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.contains("ticket:updated/T1/v1"));
    }

    #[test]
    fn accepted_but_never_processed_fails() {
        let e = created(0);
        let h = vec![ticket("T1", 0, 20, None), Record::Accepted { subject: Subject::TicketCreated, seq: 1, event: e }];
        let v = run(h, &consumers(), super::check);
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.contains("never processed"));
    }
}
