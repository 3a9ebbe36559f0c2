//! `no-lost-events`: every version an owner wrote reached the broker as an event
//! (whether published directly or through the outbox), and every event the broker
//! accepted was processed (acked) by every group that consumes its subject. Events a
//! script published itself are the script's to judge (`scripted-expectations`).

use super::{Input, Violation};
use crate::kit::event::event_id;
use crate::kit::invariants::Owed;
use crate::ticketing::domain::{OrderStatus, Snapshot, Subject};
use crate::ticketing::services::{orders, payments, tickets, transactions};

/// The event an owner's write calls for (an outbox entry left unsent calls for its own,
/// which the kit follows).
fn owed(store: &str, doc: &Snapshot) -> Option<Owed> {
    let (event_id, exact, record) = match (store, doc) {
        (tickets::NAME, Snapshot::Ticket { id, version, .. }) => {
            let subject = if *version == 0 { Subject::TicketCreated } else { Subject::TicketUpdated };
            (event_id(subject, id, Some(*version)), true, id.clone())
        }
        (orders::NAME, Snapshot::Order { id, status, .. }) => {
            let subject = match status {
                OrderStatus::Created => Subject::OrderCreated,
                OrderStatus::Cancelled => Subject::OrderCancelled,
                _ => return None, // a complete order announces nothing in this app
            };
            // Order events carry "/v<version>" unless the unversioned-order-events flaw is on.
            (event_id(subject, id, None), false, id.clone())
        }
        (payments::NAME, Snapshot::Payment { id, refunded: false, .. }) => (event_id(Subject::PaymentCreated, id, None), true, id.clone()),
        (transactions::NAME, Snapshot::Transaction { id, .. }) => (event_id(Subject::TransactionCreated, id, None), true, id.clone()),
        _ => return None,
    };
    Some(Owed { event_id, exact, record })
}

pub fn check(input: &Input) -> Vec<Violation> {
    crate::kit::invariants::no_lost_events(input.entries, owed, &input.final_state.consumers)
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
