//! `cancelled-orders-refunded`: after the quiet phase, no cancelled order keeps a
//! charge: a payment that raced the order's cancel is refunded once the cancel reaches
//! payments.

use super::{Input, Violation};
use crate::ticketing::domain::OrderStatus;

pub fn check(input: &Input) -> Vec<Violation> {
    let f = input.final_state;
    let mut violations = Vec::new();
    for payment in f.payments.iter().filter(|p| !p.refunded) {
        if let Some(order) = f.orders.iter().find(|o| o.id == payment.order_id && o.status == OrderStatus::Cancelled) {
            violations.push(Violation::new(
                "cancelled-orders-refunded",
                input.end,
                vec![payment.order_id.to_string(), payment.id.to_string()],
                format!(
                    "order {} ends cancelled (v{}) but its payment {} (charge {}, {} cents) was never refunded",
                    order.id, order.version, payment.id, payment.stripe_id, payment.amount
                ),
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::ticketing::domain::OrderStatus::*;
    use crate::ticketing::services::payments::Payment;
    use crate::ticketing::state::FinalState;

    #[test]
    fn cancelled_order_with_an_unrefunded_charge_fails_once_settled() {
        let order = crate::ticketing::services::orders::Order {
            id: "O1".into(),
            version: 1,
            status: Cancelled,
            user_id: "u".into(),
            ticket_id: "T1".into(),
            ticket_price: 20.0,
            expires_at: ms(1),
        };
        let mut f = FinalState { orders: vec![order], ..Default::default() };
        let p = |refunded| Payment { id: "P1".into(), order_id: "O1".into(), stripe_id: "ch".into(), amount: 20, refunded, refund: None };
        f.payments = vec![p(true)];
        assert!(run(vec![], &f, super::check).is_empty());
        f.payments = vec![p(false)];
        assert_eq!(run(vec![], &f, super::check).len(), 1);
    }
}
