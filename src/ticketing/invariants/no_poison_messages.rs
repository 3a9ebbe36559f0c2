//! `no-poison-messages`: after the quiet phase no message is still unacknowledged by
//! a group, i.e. still being redelivered (or stuck undelivered).

use super::{Input, Violation};

pub fn check(input: &Input) -> Vec<Violation> {
    let f = input.final_state;
    // Events a script published itself are the script's to judge (`scripted-expectations`).
    let injected: std::collections::BTreeSet<&str> = input
        .entries
        .iter()
        .filter_map(|e| match e.observed() {
            Some(crate::ticketing::domain::Obs::Accepted { event, client, .. })
                if client.as_ref() == crate::ticketing::workload::client::INJECTOR =>
            {
                Some(&*event.event_id)
            }
            _ => None,
        })
        .collect();
    f.outstanding
        .iter()
        .filter(|o| !injected.contains(&*o.event_id))
        .map(|o| {
            let what = if o.deliveries == 0 {
                format!("was never delivered to {}", o.group)
            } else {
                format!("is still unacked by {} after {} deliveries", o.group, o.deliveries)
            };
            Violation::new(
                "no-poison-messages",
                input.end,
                vec![o.event_id.to_string()],
                format!("{}#{} ({}) {what}", o.subject, o.seq, o.event_id),
            )
        })
        .collect()
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
            }],
            ..Default::default()
        };
        let v = run(vec![], &f, super::check);
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.contains("19 deliveries"));
    }
}
