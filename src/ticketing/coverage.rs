//! The abstract states of the ticketing app that the coverage-guided strategy steers by
//! (`--strategy coverage`). A run is new when it reaches one no earlier run did:
//!
//! - a listener's outcome for a subject, by delivery count (first, second, later);
//! - the order in which one record's events were handled by one queue group (the
//!   previous subject and outcome, then this one): `order:cancelled` handled before
//!   `order:created`, say;
//! - a record's status change as a store wrote it (an order `created -> cancelled`, a
//!   ticket locked or unlocked, a payment refunded) and its version gap (0, 1, 2+);
//! - a request's outcome (method, path with ids left out, status), a broker store lost.
//!
//! Ids and times are left out, so a state is something that can happen in another run.

use super::domain::{Obs, Outcome, Snapshot};
use crate::harness::history::{Entry, Record};
use crate::harness::strategy::feature;
use std::collections::BTreeMap;

/// A record's state as coverage sees it: its kind and a status label, and its version.
fn state(doc: &Snapshot) -> (&'static str, String, Option<u64>) {
    let kind = doc.kind();
    match doc {
        Snapshot::Ticket { version, order_id, .. } => (kind, if order_id.is_some() { "locked" } else { "free" }.into(), Some(*version)),
        Snapshot::Order { version, status, .. } | Snapshot::OrderReplica { version, status, .. } => {
            (kind, format!("{status:?}"), Some(*version))
        }
        Snapshot::TicketReplica { version, .. } => (kind, String::new(), Some(*version)),
        Snapshot::Payment { refunded, .. } => (kind, if *refunded { "refunded" } else { "paid" }.into(), None),
        Snapshot::Job { state, .. } => (kind, state.clone(), None),
        Snapshot::Seen { created, cancelled, .. } => (kind, format!("{created}/{cancelled}"), None),
        Snapshot::Outbox(crate::kit::outbox::Sent { sent_to, .. }) => {
            (kind, if sent_to.is_some() { "sent" } else { "pending" }.into(), None)
        }
        _ => (kind, String::new(), None),
    }
}

fn outcome(o: &Outcome) -> &'static str {
    match o {
        Outcome::Acked => "acked",
        Outcome::Failed(_) => "failed",
        Outcome::Undecodable(_) => "undecodable",
    }
}

/// A path without its ids: `/api/orders/O3` is `/api/orders/:id`.
fn path_shape(path: &str) -> String {
    path.split('/').map(|part| if part.chars().any(|c| c.is_ascii_digit()) { ":id" } else { part }).collect::<Vec<_>>().join("/")
}

/// The record an event id names: `order:cancelled/O3/v2` is `O3`.
fn record_of(event_id: &str) -> &str {
    event_id.split('/').nth(1).unwrap_or(event_id)
}

pub fn coverage(entries: &[Entry<Obs>], out: &mut Vec<u64>) {
    let mut states: BTreeMap<(&'static str, String), (String, Option<u64>)> = BTreeMap::new();
    let mut deliveries: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut last_handled: BTreeMap<(String, String), (String, &'static str)> = BTreeMap::new();
    let mut requests: BTreeMap<u64, (&'static str, String)> = BTreeMap::new();
    for entry in entries {
        match &entry.record {
            Record::Store { wrote, .. } => {
                for doc in wrote {
                    let (kind, label, version) = state(doc);
                    let before = states.insert((kind, doc.key().to_string()), (label.clone(), version));
                    let (was, gap) = match &before {
                        Some((was, v)) => (was.as_str(), version.zip(*v).map(|(now, then)| now.saturating_sub(then).min(2))),
                        None => ("new", None),
                    };
                    out.push(feature(&("write", kind, was, &label, gap)));
                }
            }
            Record::Observed(Obs::Delivered { group, event_id, .. }) => {
                *deliveries.entry((group.to_string(), event_id.to_string())).or_default() += 1;
            }
            Record::Observed(Obs::Handled { subject, group, event_id, outcome: o, .. }) => {
                let nth = deliveries.get(&(group.to_string(), event_id.to_string())).copied().unwrap_or(1).min(3);
                out.push(feature(&("handled", subject.to_string(), group.to_string(), outcome(o), nth)));
                let key = (group.to_string(), record_of(event_id).to_string());
                let this = (subject.to_string(), outcome(o));
                let previous = last_handled.insert(key, this.clone());
                out.push(feature(&("after", group.to_string(), previous, this)));
            }
            Record::Observed(Obs::Request { req, method, path, .. }) => {
                requests.insert(*req, (method, path_shape(path)));
            }
            Record::Observed(Obs::Response { req, status, .. }) => {
                out.push(feature(&("response", requests.get(req), status)));
            }
            Record::Observed(Obs::Timeout { req }) => {
                out.push(feature(&("timeout", requests.get(req))));
            }
            Record::Observed(Obs::StoreLost { .. }) => {
                out.push(feature(&"store lost"));
            }
            Record::Fault { event, .. } => {
                out.push(feature(&("fault", event.name())));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_event_ids_lose_their_ids() {
        assert_eq!(path_shape("/api/orders/O3"), "/api/orders/:id");
        assert_eq!(path_shape("/api/tickets"), "/api/tickets");
        assert_eq!(record_of("order:cancelled/O3/v2"), "O3");
        assert_eq!(record_of("transaction:created/X9"), "X9");
    }
}
