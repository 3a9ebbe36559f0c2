//! The broker-level invariants every app on the kit can judge, given what its own
//! records call for: `no-lost-events` (every write that calls for an event reached the
//! broker, and every event the broker accepted was acked by every group consuming its
//! subject) and `no-poison-messages` (after the quiet phase nothing is still
//! unacknowledged). Events the users injected themselves ([`super::ingress::INJECTOR`])
//! are the scenario's to judge, not these.

use super::broker::Outstanding;
use super::ingress::INJECTOR;
use super::obs::Obs;
use super::{App, Group, Id};
use crate::harness::history::{Entry, LookupSet};
use crate::harness::system::Violation;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::Duration;

/// The event a store write calls for: its id, or with `exact` false the prefix of a
/// versioned id (`order:created/O1` matches `order:created/O1/v0`); and its record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owed {
    pub event_id: String,
    pub exact: bool,
    pub record: Id,
}

/// `no-lost-events`. `owed` says which event a document written to a store calls for
/// (by store name and document); an outbox entry left unsent ([`App::unsent`]) calls
/// for its own event. `consumers` are the groups that consume each subject in this world.
pub fn no_lost_events<A: App>(
    entries: &[Entry<Obs<A>>],
    owed: impl Fn(&str, &A::Doc) -> Option<Owed>,
    consumers: &BTreeMap<A::Subject, Vec<Group>>,
) -> Vec<Violation> {
    // Ids borrowed from the history: no copy per accepted or acked event.
    let mut accepted: BTreeMap<&str, (A::Subject, Duration)> = BTreeMap::new();
    let mut processed: LookupSet<(Group, &str)> = LookupSet::default();
    let mut owes: Vec<(Owed, Duration)> = Vec::new();
    for entry in entries {
        match entry.observed() {
            Some(Obs::Accepted { subject, event, client, .. }) if client.as_ref() != INJECTOR => {
                accepted.entry(&event.event_id).or_insert((*subject, entry.time));
            }
            Some(Obs::Acked { group, event_id, .. }) => {
                processed.insert((group, event_id));
            }
            _ => {}
        }
        let store = entry.store_call().map_or("", |(store, _)| store);
        for doc in entry.wrote() {
            let unsent = A::unsent(doc).map(|id| Owed { event_id: id.to_string(), exact: true, record: id.clone() });
            if let Some(owed) = unsent.or_else(|| owed(store, doc)) {
                owes.push((owed, entry.time));
            }
        }
    }
    let mut violations = lost(owes, &accepted);
    for (event_id, (subject, time)) in &accepted {
        for group in consumers.get(subject).into_iter().flatten() {
            if !processed.contains(&(*group, *event_id)) {
                violations.push(Violation::new(
                    "no-lost-events",
                    *time,
                    vec![event_id.to_string()],
                    format!("{event_id} was accepted by the broker but {group} never processed it"),
                ));
            }
        }
    }
    violations
}

/// The owed events the broker never accepted, each reported once.
fn lost<S>(owes: Vec<(Owed, Duration)>, accepted: &BTreeMap<&str, S>) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut reported: LookupSet<String> = LookupSet::default();
    for (owed, time) in owes {
        let expected = owed.event_id.as_str();
        let found = accepted.contains_key(expected) || (!owed.exact && accepted_version(accepted, expected));
        if !found && reported.insert(owed.event_id.clone()) {
            violations.push(Violation::new(
                "no-lost-events",
                time,
                vec![owed.record.to_string()],
                format!("{expected} was written but never reached the broker: the event is lost"),
            ));
        }
    }
    violations
}

/// Whether the broker accepted a version of `prefix` (`order:created/O1/v0` for
/// `order:created/O1`).
fn accepted_version<S>(accepted: &BTreeMap<&str, S>, prefix: &str) -> bool {
    let versioned = format!("{prefix}/");
    accepted
        .range::<str, _>((Bound::Included(versioned.as_str()), Bound::Unbounded))
        .next()
        .is_some_and(|(id, _)| id.starts_with(versioned.as_str()))
}

/// `no-poison-messages`: what the broker still holds unacknowledged at `end` (read
/// from its state after the quiet phase), each a violation: never delivered, or still
/// being redelivered.
pub fn no_poison_messages<A: App>(entries: &[Entry<Obs<A>>], outstanding: &[Outstanding<A::Subject>], end: Duration) -> Vec<Violation> {
    let injected: LookupSet<&str> = entries
        .iter()
        .filter_map(|e| match e.observed() {
            Some(Obs::Accepted { event, client, .. }) if client.as_ref() == INJECTOR => Some(&*event.event_id),
            _ => None,
        })
        .collect();
    outstanding
        .iter()
        .filter(|o| !injected.contains(&*o.event_id))
        .map(|o| {
            let what = if o.parked {
                format!("was parked by {} after {} deliveries (MaxDeliver): it stays in the stream, never processed", o.group, o.deliveries)
            } else if o.deliveries == 0 {
                format!("was never delivered to {}", o.group)
            } else {
                format!("is still unacked by {} after {} deliveries", o.group, o.deliveries)
            };
            Violation::new(
                "no-poison-messages",
                end,
                vec![o.event_id.to_string()],
                format!("{}#{} ({}) {what}", o.subject, o.seq, o.event_id),
            )
        })
        .collect()
}
