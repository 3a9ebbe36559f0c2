//! `replicas-converge`: after the quiet phase, every replica equals its owner's
//! record (fields and version), and every replica has an owner: the orders service's
//! tickets, and the payments service's orders.

use super::{Input, Violation};
use crate::ticketing::domain::Subject;
use crate::ticketing::services::{orders, payments, tickets};

pub fn check(input: &Input) -> Vec<Violation> {
    let f = input.final_state;
    let mut violations = Vec::new();
    // A replica is judged against its owner only where the owner runs.
    if input.scenario.runs(orders::NAME) && f.consumes(Subject::OrderCreated, payments::SPEC.group) {
        check_order_replicas(input, &mut violations);
    }
    if !input.scenario.runs(tickets::NAME) || !f.consumes(Subject::TicketCreated, orders::SPEC.group) {
        return violations;
    }
    for ticket in &f.tickets {
        match f.ticket_replicas.iter().find(|r| r.id == ticket.id) {
            None => violations.push(Violation::new(
                "replicas-converge",
                input.end,
                vec![ticket.id.to_string()],
                format!("orders has no replica of ticket {} (owner at v{})", ticket.id, ticket.version),
            )),
            Some(r) if (r.version, &r.title, r.price) != (ticket.version, &ticket.title, ticket.price) => violations.push(Violation::new(
                "replicas-converge",
                input.end,
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
                input.end,
                vec![replica.id.to_string()],
                format!("orders holds a replica {} that matches no ticket", replica.id),
            ));
        }
    }
    violations
}

fn check_order_replicas(input: &Input, violations: &mut Vec<Violation>) {
    let f = input.final_state;
    for order in &f.orders {
        let problem = match f.order_replicas.iter().find(|r| r.id == order.id) {
            None => Some(format!("payments has no replica of order {} (owner at v{} {})", order.id, order.version, order.status.as_str())),
            Some(r) if (r.version, r.status) != (order.version, order.status) => Some(format!(
                "payments' replica of order {} is v{} {}, the owner has v{} {}",
                order.id,
                r.version,
                r.status.as_str(),
                order.version,
                order.status.as_str()
            )),
            Some(_) => None,
        };
        if let Some(explanation) = problem {
            violations.push(Violation::new("replicas-converge", input.end, vec![order.id.to_string()], explanation));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::ticketing::services::orders::ReplicaTicket;
    use crate::ticketing::services::tickets::Ticket;
    use crate::ticketing::state::FinalState;

    fn state(replica_version: u64, replica_id: &str) -> FinalState {
        let mut consumers = std::collections::BTreeMap::new();
        consumers.insert(crate::ticketing::domain::Subject::TicketCreated, vec![crate::ticketing::services::orders::SPEC.group]);
        FinalState {
            consumers,
            tickets: vec![Ticket {
                id: "T1".into(),
                version: 3,
                title: "concert".into(),
                price: 30.0,
                user_id: "u1".into(),
                order_id: None,
            }],
            ticket_replicas: vec![ReplicaTicket { id: replica_id.into(), version: replica_version, title: "concert".into(), price: 30.0 }],
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

    #[test]
    fn payments_replica_behind_its_order_fails_and_equal_passes() {
        use crate::ticketing::domain::OrderStatus;
        use crate::ticketing::services::orders::Order;
        use crate::ticketing::services::payments::ReplicaOrder;
        let mut f = FinalState::default();
        f.consumers.insert(crate::ticketing::domain::Subject::OrderCreated, vec![crate::ticketing::services::payments::SPEC.group]);
        f.orders = vec![Order {
            id: "O1".into(),
            version: 1,
            status: OrderStatus::Complete,
            user_id: "u".into(),
            ticket_id: "T1".into(),
            ticket_price: 5.0,
            expires_at: ms(1),
        }];
        let replica =
            |version, status| ReplicaOrder { id: "O1".into(), version, user_id: "u".into(), price: 5.0, status, expires_at: ms(1) };
        f.order_replicas = vec![replica(1, OrderStatus::Complete)];
        assert!(run(vec![], &f, super::check).is_empty());
        f.order_replicas = vec![replica(0, OrderStatus::Created)];
        let v = run(vec![], &f, super::check);
        assert!(v.len() == 1 && v[0].explanation.contains("payments' replica of order O1 is v0 created"), "{v:?}");
    }
}
