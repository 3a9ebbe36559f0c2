//! `replicas-converge`: after the quiet phase, every replica equals its owner's
//! record (fields and version), and every replica has an owner.

use super::{Input, Violation};

pub fn check(input: &Input) -> Vec<Violation> {
    let f = input.final_state;
    let mut violations = Vec::new();
    for ticket in &f.tickets {
        match f.ticket_replicas.iter().find(|r| r.id == ticket.id) {
            None => violations.push(Violation::new(
                "replicas-converge",
                f.end,
                vec![ticket.id.to_string()],
                format!("orders has no replica of ticket {} (owner at v{})", ticket.id, ticket.version),
            )),
            Some(r) if (r.version, &r.title, r.price) != (ticket.version, &ticket.title, ticket.price) => violations.push(Violation::new(
                "replicas-converge",
                f.end,
                vec![ticket.id.to_string()],
                format!(
                    "orders' replica of ticket {} is v{} {:?} {}, the owner has v{} {:?} {}",
                    ticket.id, r.version, r.title, r.price, ticket.version, ticket.title, ticket.price
                ),
            )),
            Some(_) => {}
        }
    }
    for replica in &f.ticket_replicas {
        if !f.tickets.iter().any(|t| t.id == replica.id) {
            violations.push(Violation::new(
                "replicas-converge",
                f.end,
                vec![replica.id.to_string()],
                format!("orders holds a replica {} that matches no ticket", replica.id),
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::run::FinalState;
    use crate::services::orders::ReplicaTicket;
    use crate::services::tickets::Ticket;

    fn state(replica_version: u64, replica_id: &str) -> FinalState {
        FinalState {
            tickets: vec![Ticket { id: "T1".into(), version: 3, title: "concert".into(), price: 30, user_id: "u1".into(), order_id: None }],
            ticket_replicas: vec![ReplicaTicket { id: replica_id.into(), version: replica_version, title: "concert".into(), price: 30 }],
            ..Default::default()
        }
    }

    #[test]
    fn equal_replica_passes() {
        assert!(run(vec![], &state(3, "T1"), super::check).is_empty());
    }

    #[test]
    fn lagging_replica_fails() {
        let v = run(vec![], &state(2, "T1"), super::check);
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.contains("v2") && v[0].explanation.contains("v3"));
    }

    #[test]
    fn replica_under_another_id_fails_twice() {
        assert_eq!(run(vec![], &state(3, "R1"), super::check).len(), 2);
    }
}
