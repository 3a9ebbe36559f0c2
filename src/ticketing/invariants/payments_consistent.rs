//! `payments-consistent`: at most one payment per order; no paid (complete) order is
//! cancelled afterwards; no cancelled order becomes complete (a payment that succeeded
//! for an order cancelled before it); and after the quiet phase no cancelled order
//! keeps an unrefunded charge.

use super::{writes, Input, Violation};
use crate::ticketing::domain::{Id, OrderStatus, Snapshot};
use std::collections::{BTreeMap, BTreeSet};

const NAME: &str = "payments-consistent";

pub fn check(input: &Input) -> Vec<Violation> {
    let mut status: BTreeMap<Id, OrderStatus> = BTreeMap::new();
    let mut payments: BTreeMap<Id, BTreeSet<Id>> = BTreeMap::new();
    let mut reported: BTreeSet<(Id, &str)> = BTreeSet::new();
    let mut violations = Vec::new();
    for (entry, store, _, doc) in writes(input.entries) {
        match (store, doc) {
            ("orders", Snapshot::Order { id, status: now, .. }) => {
                let before = status.insert(id.clone(), *now);
                let problem = match (before, now) {
                    (Some(OrderStatus::Complete), OrderStatus::Cancelled) => {
                        Some(("paid-cancelled", format!("order {id} was paid (complete) and then cancelled")))
                    }
                    (Some(OrderStatus::Cancelled), OrderStatus::Complete) => {
                        Some(("cancelled-paid", format!("order {id} was cancelled and then completed by a payment")))
                    }
                    _ => None,
                };
                if let Some((kind, explanation)) = problem {
                    if reported.insert((id.clone(), kind)) {
                        violations.push(Violation::new(NAME, entry.time, vec![id.to_string()], explanation));
                    }
                }
            }
            ("payments", Snapshot::Payment { id, order_id, .. }) => {
                let set = payments.entry(order_id.clone()).or_default();
                set.insert(id.clone());
                if set.len() > 1 && reported.insert((order_id.clone(), "double")) {
                    let mut records = vec![order_id.to_string()];
                    records.extend(set.iter().map(|p| p.to_string()));
                    violations.push(Violation::new(NAME, entry.time, records, format!("order {order_id} was paid {} times", set.len())));
                }
            }
            _ => {}
        }
    }
    let f = input.final_state;
    for payment in f.payments.iter().filter(|p| !p.refunded) {
        let cancelled = f.orders.iter().any(|o| o.id == payment.order_id && o.status == OrderStatus::Cancelled);
        if cancelled {
            violations.push(Violation::new(
                NAME,
                input.end,
                vec![payment.order_id.to_string(), payment.id.to_string()],
                format!(
                    "order {} ended cancelled but its payment {} ({}) was never refunded",
                    payment.order_id, payment.id, payment.amount
                ),
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::harness::history::Record;
    use crate::ticketing::domain::OrderStatus::*;
    use crate::ticketing::domain::{Obs, Snapshot};
    use crate::ticketing::services::payments::Payment;
    use crate::ticketing::state::FinalState;

    fn payment(id: &str, order: &str, refunded: bool) -> Record<Obs> {
        write(
            "payments",
            "charge",
            Snapshot::Payment { id: id.into(), order_id: order.into(), stripe_id: "ch_1".into(), amount: 2000, refunded },
        )
    }

    #[test]
    fn one_payment_then_complete_passes() {
        let h = vec![order("O1", 0, "T1", Created), payment("P1", "O1", false), order("O1", 1, "T1", Complete)];
        assert!(run(h, &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn paid_then_cancelled_and_cancelled_then_paid_and_double_payment_fail() {
        let h = vec![order("O1", 0, "T1", Created), order("O1", 1, "T1", Complete), order("O1", 2, "T1", Cancelled)];
        assert!(run(h, &FinalState::default(), super::check)[0].explanation.contains("paid (complete) and then cancelled"));
        let h = vec![order("O1", 0, "T1", Created), order("O1", 1, "T1", Cancelled), order("O1", 2, "T1", Complete)];
        assert!(run(h, &FinalState::default(), super::check)[0].explanation.contains("cancelled and then completed"));
        let h = vec![payment("P1", "O1", false), payment("P2", "O1", false)];
        assert!(run(h, &FinalState::default(), super::check)[0].explanation.contains("paid 2 times"));
    }

    #[test]
    fn cancelled_order_with_an_unrefunded_charge_fails_at_the_end() {
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
        let p = |refunded| Payment { id: "P1".into(), order_id: "O1".into(), stripe_id: "ch".into(), amount: 20, refunded };
        f.payments = vec![p(true)];
        assert!(run(vec![], &f, super::check).is_empty());
        f.payments = vec![p(false)];
        assert_eq!(run(vec![], &f, super::check).len(), 1);
    }
}
