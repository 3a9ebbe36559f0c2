//! `lock-matches-order`: after the quiet phase, a ticket's orderId is set exactly
//! when a non-cancelled order holds it, and names that order.

use super::{Input, Violation};

pub fn check(input: &Input) -> Vec<Violation> {
    let f = input.final_state;
    let mut violations = Vec::new();
    for ticket in &f.tickets {
        let active: Vec<&str> = f.orders.iter().filter(|o| o.ticket_id == ticket.id && o.status.is_active()).map(|o| &*o.id).collect();
        let problem = match (&ticket.order_id, active.as_slice()) {
            (None, []) => None,
            (Some(held), _) if active.contains(&&**held) => None,
            (None, [first, ..]) => {
                Some((first.to_string(), format!("ticket {} (v{}) ends unlocked while order {first} holds it", ticket.id, ticket.version)))
            }
            (Some(held), others) => {
                let status = f
                    .orders
                    .iter()
                    .find(|o| o.id == *held)
                    .map_or("not an order of the orders service".to_string(), |o| format!("{} (v{})", o.status.as_str(), o.version));
                let instead = others.first().map_or(String::new(), |o| format!("; order {o} holds it"));
                Some((
                    held.to_string(),
                    format!("ticket {} (v{}) ends locked by order {held}, which is {status}{instead}", ticket.id, ticket.version),
                ))
            }
        };
        if let Some((order, explanation)) = problem {
            violations.push(Violation::new("lock-matches-order", input.end, vec![ticket.id.to_string(), order], explanation));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::ticketing::domain::OrderStatus;
    use crate::ticketing::services::orders::Order;
    use crate::ticketing::services::tickets::Ticket;
    use crate::ticketing::state::FinalState;

    fn state(lock: Option<&str>, status: OrderStatus) -> FinalState {
        FinalState {
            tickets: vec![Ticket {
                id: "T1".into(),
                version: 2,
                title: "concert".into(),
                price: 20.0,
                user_id: "u1".into(),
                order_id: lock.map(Into::into),
            }],
            orders: vec![Order {
                id: "O1".into(),
                version: 0,
                status,
                user_id: "u2".into(),
                ticket_id: "T1".into(),
                ticket_price: 20.0,
                expires_at: ms(1),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn lock_naming_the_active_order_passes_and_no_lock_for_cancelled_passes() {
        assert!(run(vec![], &state(Some("O1"), OrderStatus::Created), super::check).is_empty());
        assert!(run(vec![], &state(None, OrderStatus::Cancelled), super::check).is_empty());
    }

    #[test]
    fn unlocked_while_held_or_locked_by_cancelled_fails() {
        assert_eq!(run(vec![], &state(None, OrderStatus::Created), super::check).len(), 1);
        let v = run(vec![], &state(Some("O1"), OrderStatus::Cancelled), super::check);
        assert_eq!(v[0].explanation, "ticket T1 (v2) ends locked by order O1, which is cancelled (v0)");
    }
}
