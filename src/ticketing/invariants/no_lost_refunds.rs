//! `no-lost-refunds`: with the payment provider as a remote party, after the quiet
//! phase every payment payments recorded refunded was paid back by the provider (a
//! refund of its charge), and every refund the provider made is of a payment recorded
//! refunded: money returned is money the app says it returned. Judged on the
//! provider's charges and refunds (its store's writes) and payments' final state; its
//! evidence is the writes that marked the payment refunded, or made the refund.

use super::{written, Input, Violation};
use crate::ticketing::domain::{Id, Snapshot};
use crate::ticketing::provider;
use crate::ticketing::services::payments;
use std::collections::{BTreeMap, BTreeSet};

pub fn check(input: &Input) -> Vec<Violation> {
    let mut charges: BTreeSet<&Id> = BTreeSet::new();
    let mut refunds: BTreeMap<&Id, Vec<(&Id, usize)>> = BTreeMap::new();
    let mut marked: BTreeMap<&Id, usize> = BTreeMap::new();
    for (entry, store, _, doc) in written(input) {
        match (store, doc) {
            (provider::NAME, Snapshot::Charge { id, .. }) => {
                charges.insert(id);
            }
            (provider::NAME, Snapshot::Refund { id, charge, .. }) => refunds.entry(charge).or_default().push((id, entry.index)),
            (payments::NAME, Snapshot::Payment { id, refunded: true, .. }) => {
                marked.entry(id).or_insert(entry.index);
            }
            _ => {}
        }
    }
    let mut violations = Vec::new();
    let payments = &input.final_state.payments;
    for p in payments.iter().filter(|p| p.refunded && charges.contains(&p.stripe_id) && !refunds.contains_key(&p.stripe_id)) {
        violations.push(
            Violation::new(
                "no-lost-refunds",
                input.end,
                vec![p.id.to_string(), p.order_id.to_string(), p.stripe_id.to_string()],
                format!(
                    "payment {} for {} is recorded refunded but the provider never paid back charge {}: the money stays taken",
                    p.id, p.order_id, p.stripe_id
                ),
            )
            .with_evidence(marked.get(&p.id).into_iter().copied().collect()),
        );
    }
    for (charge, made) in &refunds {
        let ids: Vec<String> = made.iter().map(|(r, _)| r.to_string()).collect();
        let evidence = made.iter().map(|(_, e)| *e).collect::<Vec<_>>();
        let recorded = payments.iter().find(|p| p.stripe_id == **charge && p.refunded);
        let problem = if made.len() > 1 {
            Some(format!("charge {charge} was refunded {} times: {}", made.len(), ids.join(", ")))
        } else {
            recorded
                .is_none()
                .then(|| format!("the provider refunded charge {charge} ({}) but no payment of it is recorded refunded", ids[0]))
        };
        if let Some(text) = problem {
            let mut records = vec![charge.to_string()];
            records.extend(ids);
            violations.push(Violation::new("no-lost-refunds", input.end, records, text).with_evidence(evidence));
        }
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

    fn provider(doc: Snapshot) -> Record<Obs> {
        Record::Store { store: "provider", call: "charge", began: ms(0), read: vec![], wrote: vec![doc] }
    }

    fn charge(id: &str) -> Record<Obs> {
        provider(Snapshot::Charge {
            id: id.into(),
            amount: 2000,
            currency: "usd".into(),
            source: "tok".into(),
            order_id: Some("O1".into()),
        })
    }

    fn refund(id: &str, charge: &str) -> Record<Obs> {
        provider(Snapshot::Refund { id: id.into(), charge: charge.into(), amount: 2000, order_id: Some("O1".into()) })
    }

    fn payment(charge: &str, refunded: bool) -> Payment {
        Payment { id: "P1".into(), order_id: "O1".into(), stripe_id: charge.into(), amount: 2000, refunded, refund: None }
    }

    #[test]
    fn a_refunded_payment_paid_back_passes() {
        let f = FinalState { payments: vec![payment("ch_1", true)], ..Default::default() };
        assert!(run(vec![charge("ch_1"), refund("re_1", "ch_1")], &f, super::check).is_empty());
        let unrefunded = FinalState { payments: vec![payment("ch_1", false)], ..Default::default() };
        assert!(run(vec![charge("ch_1")], &unrefunded, super::check).is_empty());
    }

    #[test]
    fn a_refund_only_in_the_books_a_refund_nobody_recorded_and_two_refunds_fail() {
        let f = FinalState { payments: vec![payment("ch_1", true)], ..Default::default() };
        let v = run(vec![charge("ch_1")], &f, super::check);
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.contains("never paid back charge ch_1"), "{}", v[0].explanation);
        let unrecorded = FinalState { payments: vec![payment("ch_1", false)], ..Default::default() };
        let v = run(vec![charge("ch_1"), refund("re_1", "ch_1")], &unrecorded, super::check);
        assert!(v.len() == 1 && v[0].explanation.contains("no payment of it is recorded refunded"), "{v:?}");
        let v = run(vec![charge("ch_1"), refund("re_1", "ch_1"), refund("re_2", "ch_1")], &f, super::check);
        assert!(v.len() == 1 && v[0].explanation == "charge ch_1 was refunded 2 times: re_1, re_2", "{v:?}");
        assert_eq!(v[0].evidence, vec![1, 2]);
    }
}
