//! `orders-resolve`: every order that expired early enough for its expiration to be
//! processed (a settle window before the end) is, at the end, cancelled or complete.

use super::{Input, Violation};
use crate::ticketing::domain::OrderStatus;

pub fn check(input: &Input) -> Vec<Violation> {
    let f = input.final_state;
    f.orders
        .iter()
        .filter(|o| o.expires_at + input.settle_window <= input.end && o.status == OrderStatus::Created)
        .map(|o| {
            Violation::new(
                "orders-resolve",
                input.end,
                vec![o.id.to_string()],
                format!(
                    "order {} (v{}) expired at {} but is still {} at the end ({})",
                    o.id,
                    o.version,
                    crate::harness::fmt_time(o.expires_at),
                    o.status.as_str(),
                    crate::harness::fmt_time(input.end)
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::ticketing::domain::OrderStatus;
    use crate::ticketing::services::orders::Order;
    use crate::ticketing::state::FinalState;

    fn state(status: OrderStatus, expires_ms: u64) -> FinalState {
        FinalState {
            orders: vec![Order {
                id: "O1".into(),
                version: 1,
                status,
                user_id: "u".into(),
                ticket_id: "T1".into(),
                ticket_price: 1.0,
                expires_at: ms(expires_ms),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn expired_orders_that_resolved_pass_and_unexpired_ones_are_not_judged() {
        assert!(run(vec![], &state(OrderStatus::Cancelled, 5_000), super::check).is_empty());
        assert!(run(vec![], &state(OrderStatus::Complete, 5_000), super::check).is_empty());
        assert!(run(vec![], &state(OrderStatus::Created, 150_000), super::check).is_empty(), "it expires after the end");
    }

    #[test]
    fn expired_order_still_created_fails() {
        assert_eq!(run(vec![], &state(OrderStatus::Created, 5_000), super::check).len(), 1);
    }
}
