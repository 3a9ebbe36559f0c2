//! `payments-consistent`: at most one payment per order; no paid (complete) order is
//! cancelled afterwards; no cancelled order becomes complete (a payment that succeeded
//! for an order cancelled before it). (That a cancelled order keeps no charge is
//! `cancelled-orders-refunded`, a liveness rule.)

use super::{written, Input, Violation};
use crate::harness::fmt_time;
use crate::harness::history::{Lookup, LookupSet};
use crate::ticketing::domain::{Id, OrderStatus, Snapshot};
use crate::ticketing::services::{orders, payments};
use std::time::Duration;

const NAME: &str = "payments-consistent";

pub fn check(input: &Input) -> Vec<Violation> {
    // Each order's last status, version and when it was written.
    let mut last: Lookup<Id, (OrderStatus, u64, Duration)> = Lookup::default();
    let mut payments: Lookup<Id, Vec<(Id, Duration)>> = Lookup::default();
    let mut reported: LookupSet<(Id, &str)> = LookupSet::default();
    let mut violations = Vec::new();
    for (entry, store, _, doc) in written(input) {
        match (store, doc) {
            (orders::NAME, Snapshot::Order { id, status: now, version, .. }) => {
                let before = last.insert(id.clone(), (*now, *version, entry.time));
                let transition = |what: &str, (_, v, t): (OrderStatus, u64, Duration)| {
                    format!(
                        "order {id} was {what} (v{v} at {}), then {} (v{version} at {})",
                        fmt_time(t),
                        now.as_str(),
                        fmt_time(entry.time)
                    )
                };
                let problem = match (before, now) {
                    (Some(b @ (OrderStatus::Complete, ..)), OrderStatus::Cancelled) => {
                        Some(("paid-cancelled", transition("paid (complete)", b)))
                    }
                    (Some(b @ (OrderStatus::Cancelled, ..)), OrderStatus::Complete) => Some(("cancelled-paid", transition("cancelled", b))),
                    _ => None,
                };
                if let Some((kind, explanation)) = problem {
                    if reported.insert((id.clone(), kind)) {
                        violations.push(Violation::new(NAME, entry.time, vec![id.to_string()], explanation));
                    }
                }
            }
            (payments::NAME, Snapshot::Payment { id, order_id, refunded: false, .. }) => {
                let list = payments.entry(order_id.clone()).or_default();
                if !list.iter().any(|(p, _)| p == id) {
                    list.push((id.clone(), entry.time));
                }
                if list.len() > 1 && reported.insert((order_id.clone(), "double")) {
                    let mut records = vec![order_id.to_string()];
                    records.extend(list.iter().map(|(p, _)| p.to_string()));
                    let each: Vec<String> = list.iter().map(|(p, t)| format!("{p} at {}", fmt_time(*t))).collect();
                    violations.push(Violation::new(
                        NAME,
                        entry.time,
                        records,
                        format!("order {order_id} was paid {} times: {}", list.len(), each.join(", ")),
                    ));
                }
            }
            _ => {}
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
    use crate::ticketing::state::FinalState;

    fn payment(id: &str, order: &str, refunded: bool) -> Record<Obs> {
        write(
            "payments",
            "charge",
            Snapshot::Payment { id: id.into(), order_id: order.into(), stripe_id: "ch_1".into(), amount: 2000, refunded, refund: None },
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
        let v = run(h, &FinalState::default(), super::check);
        assert_eq!(v[0].explanation, "order O1 was paid (complete) (v1 at 0.010s), then cancelled (v2 at 0.020s)");
        let h = vec![order("O1", 0, "T1", Created), order("O1", 1, "T1", Cancelled), order("O1", 2, "T1", Complete)];
        assert!(run(h, &FinalState::default(), super::check)[0].explanation.contains("was cancelled (v1 at 0.010s), then complete"));
        let h = vec![payment("P1", "O1", false), payment("P2", "O1", false)];
        assert_eq!(run(h, &FinalState::default(), super::check)[0].explanation, "order O1 was paid 2 times: P1 at 0.000s, P2 at 0.010s");
        let refund = vec![payment("P1", "O1", false), payment("P1", "O1", true)];
        assert!(run(refund, &FinalState::default(), super::check).is_empty(), "a refund is not a second payment");
    }
}
