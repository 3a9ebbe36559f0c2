//! `authorized-writes`: every successful edit, cancel and payment was asked for by the
//! record's owner: `PUT /api/tickets/:id` answered 200 by the ticket's seller, `DELETE
//! /api/orders/:id` answered 204 and `POST /api/payments` answered 201 by the order's buyer.

use super::{calls, written, Input, Violation};
use crate::harness::fmt_time;
use crate::harness::history::Lookup;
use crate::ticketing::domain::{Id, Snapshot};
use crate::ticketing::services::payments;

const NAME: &str = "authorized-writes";

pub fn check(input: &Input) -> Vec<Violation> {
    let mut owners: Lookup<Id, Id> = Lookup::default();
    for (_, _, _, doc) in written(input) {
        match doc {
            Snapshot::Ticket { id, user_id, .. } | Snapshot::Order { id, user_id, .. } => {
                owners.entry(id.clone()).or_insert_with(|| user_id.clone());
            }
            _ => {}
        }
    }
    let mut violations = Vec::new();
    for (req, call) in calls(input.entries) {
        let Some((answered, status, _)) = call.response else { continue };
        let record = match (call.method, status, call.path.strip_prefix("/api/")) {
            ("PUT", 200, Some(path)) => path.strip_prefix("tickets/").map(|id| ("ticket", id.to_string())),
            ("DELETE", 204, Some(path)) => path.strip_prefix("orders/").map(|id| ("order", id.to_string())),
            ("POST", 201, Some(payments::NAME)) => call.body.get("orderId").and_then(|v| v.as_str()).map(|id| ("order", id.to_string())),
            _ => None,
        };
        let Some((kind, id)) = record else { continue };
        let Some(owner) = owners.get(id.as_str()) else { continue };
        if call.user != Some(owner) {
            let by = call.user.map_or("a signed-out user".to_string(), |u| format!("user {u}"));
            let why = format!(
                "request #{req} {} {} by {by} was answered {status} at {}, but {kind} {id} belongs to {owner}",
                call.method,
                call.path,
                fmt_time(answered)
            );
            violations.push(Violation::new(NAME, answered, vec![id.clone(), format!("request #{req}")], why));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::harness::history::Record;
    use crate::ticketing::domain::Obs;
    use crate::ticketing::state::FinalState;
    use std::sync::Arc;

    fn put_by(user: &str, status: u16) -> Vec<Record<Obs>> {
        let body = Arc::new(serde_json::json!({"title": "t", "price": 5}));
        vec![
            Record::Observed(Obs::Request {
                req: 1,
                user: Some(user.into()),
                instance: "tickets-1".into(),
                method: "PUT",
                path: "/api/tickets/T1".into(),
                body,
            }),
            Record::Observed(Obs::Response { req: 1, status, body: Arc::new(serde_json::Value::Null) }),
        ]
    }

    #[test]
    fn the_owner_editing_passes_and_a_refused_stranger_passes() {
        let mut h = vec![ticket("T1", 0, 20, None)];
        h.extend(put_by("u1", 200));
        assert!(run(h, &FinalState::default(), super::check).is_empty());
        let mut h = vec![ticket("T1", 0, 20, None)];
        h.extend(put_by("u9", 401));
        assert!(run(h, &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn a_stranger_whose_edit_succeeded_fails() {
        let mut h = vec![ticket("T1", 0, 20, None)];
        h.extend(put_by("u9", 200));
        let v = run(h, &FinalState::default(), super::check);
        assert_eq!(v[0].explanation, "request #1 PUT /api/tickets/T1 by user u9 was answered 200 at 0.020s, but ticket T1 belongs to u1");
    }
}
