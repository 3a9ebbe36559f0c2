//! `provider-requests-valid`: payments never sends the payment provider a request it
//! must refuse as invalid (an amount that is not a whole number of cents, or outside
//! its limits). Judged on the provider's request log; its evidence is the refused
//! request.

use super::{written, Input, Violation};
use crate::ticketing::domain::Snapshot;
use crate::ticketing::provider;

pub fn check(input: &Input) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (entry, store, _, doc) in written(input) {
        let (provider::NAME, Snapshot::ProviderRequest { id, order_id, outcome, .. }) = (store, doc) else { continue };
        if outcome.starts_with("invalid_request_error") {
            violations.push(
                Violation::new(
                    "provider-requests-valid",
                    entry.time,
                    vec![order_id.to_string(), id.to_string()],
                    format!("payments sent the provider an invalid request for {order_id} ({id}): {outcome}"),
                )
                .with_evidence(vec![entry.index]),
            );
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::harness::history::Record;
    use crate::ticketing::domain::{Obs, Snapshot};
    use crate::ticketing::state::FinalState;

    fn request(outcome: &str, status: u16) -> Record<Obs> {
        let doc = Snapshot::ProviderRequest {
            id: "req_1".into(),
            key: None,
            order_id: "O1".into(),
            status,
            outcome: outcome.into(),
            charge: None,
        };
        Record::Store { store: "provider", call: "charge", began: ms(0), read: vec![], wrote: vec![doc] }
    }

    #[test]
    fn a_refused_amount_fails_and_a_charge_passes() {
        assert!(run(vec![request("charged ch_1 (2010 cents)", 200)], &FinalState::default(), super::check).is_empty());
        let v = run(
            vec![request("invalid_request_error parameter_invalid_integer: Invalid integer: 2010.0000000000002", 400)],
            &FinalState::default(),
            super::check,
        );
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.ends_with("Invalid integer: 2010.0000000000002"), "{}", v[0].explanation);
    }
}
