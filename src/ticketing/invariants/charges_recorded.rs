//! `charges-recorded`: with the payment provider as a remote party, after the quiet
//! phase the money taken is the money recorded: every charge the provider made is
//! recorded by exactly one payment, every payment names a charge the provider made,
//! and no order was charged twice. Judged on the provider's charges (its store's
//! writes) and payments' final state; its evidence is the charges' writes.

use super::{written, Input, Violation};
use crate::ticketing::domain::{Id, Snapshot};
use crate::ticketing::provider;
use std::collections::BTreeMap;

/// A charge the provider made: its amount, order and the entry that wrote it.
struct Made<'a> {
    amount: i64,
    order: Option<&'a Id>,
    entry: usize,
}

pub fn check(input: &Input) -> Vec<Violation> {
    let mut charges: BTreeMap<&Id, Made> = BTreeMap::new();
    for (entry, store, _, doc) in written(input) {
        if let (provider::NAME, Snapshot::Charge { id, amount, order_id, .. }) = (store, doc) {
            charges.insert(id, Made { amount: *amount, order: order_id.as_ref(), entry: entry.index });
        }
    }
    let payments = &input.final_state.payments;
    let mut violations = Vec::new();
    let mut violation = |records: Vec<String>, evidence: Vec<usize>, text: String| {
        violations.push(Violation::new("charges-recorded", input.end, records, text).with_evidence(evidence));
    };
    for (id, made) in &charges {
        let recorded: Vec<&Id> = payments.iter().filter(|p| p.stripe_id == **id).map(|p| &p.id).collect();
        if recorded.len() != 1 {
            let order = made.order.map_or("no order".to_string(), |o| o.to_string());
            let mut records = vec![id.to_string()];
            records.extend(made.order.map(|o| o.to_string()));
            let by = if recorded.is_empty() {
                "no payment: money taken that the app has no record of".to_string()
            } else {
                format!("{} payments", recorded.len())
            };
            violation(records, vec![made.entry], format!("charge {id} ({} cents for {order}) is recorded by {by}", made.amount));
        }
    }
    for p in payments.iter().filter(|p| !charges.contains_key(&p.stripe_id)) {
        violation(
            vec![p.id.to_string(), p.order_id.to_string()],
            vec![],
            format!("payment {} for {} names charge {}, which the provider never made", p.id, p.order_id, p.stripe_id),
        );
    }
    let mut by_order: BTreeMap<&Id, Vec<(&Id, usize)>> = BTreeMap::new();
    for (id, made) in &charges {
        if let Some(order) = made.order {
            by_order.entry(order).or_default().push((id, made.entry));
        }
    }
    for (order, list) in by_order.into_iter().filter(|(_, l)| l.len() > 1) {
        let ids: Vec<String> = list.iter().map(|(c, _)| c.to_string()).collect();
        let mut records = vec![order.to_string()];
        records.extend(ids.iter().cloned());
        violation(
            records,
            list.iter().map(|(_, e)| *e).collect(),
            format!("order {order} was charged {} times: {}", list.len(), ids.join(", ")),
        );
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::harness::history::Record;
    use crate::ticketing::domain::{Obs, Snapshot};
    use crate::ticketing::services::payments::Payment;
    use crate::ticketing::state::FinalState;

    fn charge(id: &str, order: &str) -> Record<Obs> {
        let doc = Snapshot::Charge {
            id: id.into(),
            amount: 2000,
            currency: "usd".into(),
            source: "tok_visa".into(),
            order_id: Some(order.into()),
        };
        Record::Store { store: "provider", call: "charge", began: ms(0), read: vec![], wrote: vec![doc] }
    }

    fn payment(id: &str, order: &str, charge: &str) -> Payment {
        Payment { id: id.into(), order_id: order.into(), stripe_id: charge.into(), amount: 2000, refunded: false, refund: None }
    }

    #[test]
    fn each_charge_recorded_once_passes() {
        let f = FinalState { payments: vec![payment("P1", "O1", "ch_1"), payment("P2", "O2", "ch_2")], ..Default::default() };
        assert!(run(vec![charge("ch_1", "O1"), charge("ch_2", "O2")], &f, super::check).is_empty());
    }

    #[test]
    fn an_unrecorded_charge_a_charge_twice_and_a_payment_without_charge_fail() {
        let f = FinalState { payments: vec![payment("P1", "O1", "ch_1"), payment("P2", "O3", "ch_9")], ..Default::default() };
        let v = run(vec![charge("ch_1", "O1"), charge("ch_2", "O1")], &f, super::check);
        let texts: Vec<&str> = v.iter().map(|v| v.explanation.as_str()).collect();
        assert_eq!(v.len(), 3, "{texts:?}");
        assert!(texts[0].starts_with("charge ch_2 (2000 cents for O1) is recorded by no payment"), "{texts:?}");
        assert!(texts[1].contains("names charge ch_9, which the provider never made"), "{texts:?}");
        assert_eq!(texts[2], "order O1 was charged 2 times: ch_1, ch_2");
        assert_eq!(v[2].evidence, vec![0, 1]);
    }
}
