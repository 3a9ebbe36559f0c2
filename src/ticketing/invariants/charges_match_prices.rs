//! `charges-match-prices`: each charge the payment provider made is the order's price in
//! cents (price * 100), in usd, from the token the payment request gave, and the
//! payment recorded with it names that charge.

use super::{calls, Input, Violation};
use crate::harness::history::Lookup;
use crate::ticketing::domain::{Id, Snapshot};

const NAME: &str = "charges-match-prices";

pub fn check(input: &Input) -> Vec<Violation> {
    let mut prices: Lookup<Id, f64> = Lookup::default();
    let mut charges: Lookup<Id, (i64, String, String)> = Lookup::default();
    // The token each successful payment request gave, by the payment's id.
    let mut tokens: Lookup<String, String> = Lookup::default();
    for call in calls(input.entries).values() {
        if let (("POST", "/api/payments"), Some((_, 201, body))) = ((call.method, call.path), call.response) {
            if let (Some(id), Some(token)) = (body.get("id").and_then(|v| v.as_str()), call.body.get("token")) {
                tokens.insert(id.to_string(), token.as_str().map_or_else(|| token.to_string(), str::to_string));
            }
        }
    }
    let mut violations = Vec::new();
    for entry in input.entries {
        let wrote = entry.wrote();
        for doc in wrote {
            match doc {
                Snapshot::Order { id, price, .. } => {
                    prices.entry(id.clone()).or_insert(*price);
                }
                // In payments' own transaction, or earlier at a remote provider.
                Snapshot::Charge { id, amount, currency, source, .. } => {
                    charges.insert(id.clone(), (*amount, currency.clone(), source.clone()));
                }
                _ => {}
            }
        }
        for doc in wrote {
            let Snapshot::Payment { id, order_id, stripe_id, refunded: false, .. } = doc else { continue };
            let charge = charges.get(stripe_id).map(|(a, c, s)| (*a, c, s));
            let mut problems = Vec::new();
            match (charge, prices.get(order_id)) {
                (None, _) => problems.push(format!("names charge {stripe_id}, which the provider did not make")),
                (Some((amount, currency, source)), price) => {
                    if let Some(price) = price {
                        let cents = (price * 100.0).round() as i64;
                        if amount != cents {
                            problems.push(format!("was charged {amount} cents for a price of {price} ({cents} cents)"));
                        }
                    }
                    if currency != "usd" {
                        problems.push(format!("was charged in {currency}, not usd"));
                    }
                    if let Some(token) = tokens.get(id.as_ref()) {
                        if source != token {
                            problems.push(format!("was charged from {source}, but the request gave the token {token}"));
                        }
                    }
                }
            }
            if !problems.is_empty() {
                let why = format!("payment {id} for order {order_id} (charge {stripe_id}) {}", problems.join("; "));
                violations.push(Violation::new(NAME, entry.time, vec![order_id.to_string(), id.to_string()], why));
            }
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
    use std::time::Duration;

    fn charged(amount: i64) -> Record<Obs> {
        let charge = Snapshot::Charge { id: "ch_1".into(), amount, currency: "usd".into(), source: "tok_visa".into(), order_id: None };
        let payment =
            Snapshot::Payment { id: "P1".into(), order_id: "O1".into(), stripe_id: "ch_1".into(), amount, refunded: false, refund: None };
        Record::Store { store: "payments", call: "charge", began: Duration::ZERO, read: vec![], wrote: vec![charge, payment] }
    }

    #[test]
    fn a_charge_of_the_price_in_cents_passes() {
        assert!(run(vec![order("O1", 0, "T1", Created), charged(2000)], &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn a_charge_in_dollars_fails() {
        let v = run(vec![order("O1", 0, "T1", Created), charged(20)], &FinalState::default(), super::check);
        assert_eq!(v[0].explanation, "payment P1 for order O1 (charge ch_1) was charged 20 cents for a price of 20 (2000 cents)");
    }

    /// A remote provider's charge, written earlier in its own store, is found; a payment
    /// naming a charge nobody made is not.
    #[test]
    fn a_charge_made_earlier_elsewhere_is_found_and_a_missing_one_fails() {
        let charge = Snapshot::Charge {
            id: "ch_1".into(),
            amount: 2000,
            currency: "usd".into(),
            source: "tok_visa".into(),
            order_id: Some("O1".into()),
        };
        let made = Record::Store { store: "provider", call: "charge", began: Duration::ZERO, read: vec![], wrote: vec![charge] };
        let payment = |stripe: &str| {
            let doc = Snapshot::Payment {
                id: "P1".into(),
                order_id: "O1".into(),
                stripe_id: stripe.into(),
                amount: 2000,
                refunded: false,
                refund: None,
            };
            Record::Store { store: "payments", call: "charge", began: Duration::ZERO, read: vec![], wrote: vec![doc] }
        };
        let base = vec![order("O1", 0, "T1", Created), made];
        let mut h = base.clone();
        h.push(payment("ch_1"));
        assert!(run(h, &FinalState::default(), super::check).is_empty());
        let mut h = base;
        h.push(payment("ch_9"));
        let v = run(h, &FinalState::default(), super::check);
        assert_eq!(v[0].explanation, "payment P1 for order O1 (charge ch_9) names charge ch_9, which the provider did not make");
    }
}
