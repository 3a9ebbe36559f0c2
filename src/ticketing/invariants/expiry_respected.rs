//! `expiry-respected`: the expiration timing rules. An order's expiresAt is the moment
//! its creation began plus the expiration window; no order is cancelled by expiration
//! before its expiresAt; no expiration job runs before it is due.

use super::{calls, written, Input, Violation};
use crate::harness::fmt_time;
use crate::harness::history::{Lookup, LookupSet};
use crate::ticketing::domain::{Id, OrderStatus, Snapshot};
use crate::ticketing::services::{expiration, orders};
use std::time::Duration;

const NAME: &str = "expiry-respected";

pub fn check(input: &Input) -> Vec<Violation> {
    let window = input.scenario.app.expiration_window.0;
    // When each order's creating request was sent (the route computes expiresAt after).
    let mut asked: Lookup<Id, Duration> = Lookup::default();
    for call in calls(input.entries).values() {
        if let (("POST", "/api/orders"), Some((_, 201, body))) = ((call.method, call.path), call.response) {
            if let Some(id) = body.get("id").and_then(|v| v.as_str()) {
                asked.insert(id.into(), call.time);
            }
        }
    }
    let mut reported: LookupSet<Id> = LookupSet::default();
    let mut violations = Vec::new();
    let mut report = |time: Duration, id: &Id, why: String| {
        if reported.insert(id.clone()) {
            violations.push(Violation::new(NAME, time, vec![id.to_string()], why));
        }
    };
    for (entry, store, call, doc) in written(input) {
        match (store, call, doc) {
            (orders::NAME, orders::calls::CREATE, Snapshot::Order { id, expires_at, .. }) => {
                let began = entry.store_began().unwrap_or(entry.time);
                let created = expires_at.saturating_sub(window);
                let after_request = asked.get(id).is_none_or(|asked| created >= *asked);
                if created > began || !after_request {
                    let why = format!(
                        "order {id} expires at {}, which is not its creation ({}) plus the window {}",
                        fmt_time(*expires_at),
                        fmt_time(began),
                        fmt_time(window)
                    );
                    report(entry.time, id, why);
                }
            }
            (orders::NAME, orders::calls::EXPIRE, Snapshot::Order { id, status: OrderStatus::Cancelled, version, expires_at, .. })
                if entry.time < *expires_at =>
            {
                let why = format!(
                    "order {id} was cancelled by expiration at {} (v{version}), before its expiresAt {}",
                    fmt_time(entry.time),
                    fmt_time(*expires_at)
                );
                report(entry.time, id, why);
            }
            (expiration::NAME, _, Snapshot::Job { id, order_id, due, state }) if state != "waiting" && entry.time < *due => {
                let why = format!(
                    "expiration job {id} for order {order_id} ran at {} ({state}), before it was due at {}",
                    fmt_time(entry.time),
                    fmt_time(*due)
                );
                report(entry.time, order_id, why);
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

    /// The test scenario's window is the default 15 minutes; `order` expires at 900s.
    fn order_at(call: &'static str, status: crate::ticketing::domain::OrderStatus, expires_s: u64) -> Record<Obs> {
        let doc = Snapshot::Order {
            id: "O1".into(),
            version: 0,
            status,
            user_id: "u".into(),
            ticket_id: "T1".into(),
            price: 5.0,
            expires_at: ms(expires_s * 1000),
        };
        write("orders", call, doc)
    }

    #[test]
    fn an_order_expiring_a_window_after_its_creation_and_cancelled_after_that_passes() {
        // Created at 0s with the window of 900s; the expire write (at 10ms) is for an
        // order that expired at 0s.
        let h = vec![order_at("create", Created, 900), order_at("expire", Cancelled, 0)];
        assert!(run(h, &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn an_early_expiry_a_wrong_expiresat_or_an_early_job_fails() {
        let early = vec![order_at("create", Created, 900), order_at("expire", Cancelled, 900)];
        let v = run(early, &FinalState::default(), super::check);
        assert_eq!(v[0].explanation, "order O1 was cancelled by expiration at 0.010s (v0), before its expiresAt 900.000s");
        let wrong = vec![order_at("create", Created, 901)];
        assert!(run(wrong, &FinalState::default(), super::check)[0]
            .explanation
            .contains("not its creation (0.000s) plus the window 900.000s"));
        let job = Snapshot::Job { id: 1, order_id: "O1".into(), due: ms(5_000), state: "done".into() };
        let v = run(vec![write("expiration", "run-jobs", job)], &FinalState::default(), super::check);
        assert!(v[0].explanation.contains("ran at 0.000s (done), before it was due at 5.000s"), "{v:?}");
    }
}
