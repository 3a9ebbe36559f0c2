//! `no-poison-messages`: after the quiet phase no message is still unacknowledged by
//! a group, i.e. still being redelivered, stuck undelivered, or (JetStream) parked at
//! MaxDeliver.

use super::{Input, Violation};

pub fn check(input: &Input) -> Vec<Violation> {
    crate::kit::invariants::no_poison_messages(input.entries, &input.final_state.outstanding, input.end)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::ticketing::domain::Subject;
    use crate::ticketing::state::{FinalState, Outstanding};

    #[test]
    fn drained_broker_passes() {
        assert!(run(vec![], &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn message_still_redelivered_fails() {
        let f = FinalState {
            outstanding: vec![Outstanding {
                subject: Subject::TicketUpdated,
                group: "orders-service",
                seq: 4,
                event_id: "ticket:updated/T1/v2".into(),
                deliveries: 19,
                parked: false,
            }],
            ..Default::default()
        };
        let v = run(vec![], &f, super::check);
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.contains("19 deliveries"));
    }

    #[test]
    fn message_parked_at_max_deliver_fails() {
        let parked = Outstanding {
            subject: Subject::TicketUpdated,
            group: "orders-service",
            seq: 4,
            event_id: "ticket:updated/T1/v2".into(),
            deliveries: 3,
            parked: true,
        };
        let v = run(vec![], &FinalState { outstanding: vec![parked], ..Default::default() }, super::check);
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.contains("parked by orders-service after 3 deliveries (MaxDeliver)"), "{}", v[0].explanation);
    }
}
