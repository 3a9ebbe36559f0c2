//! `versions-in-sequence`: a replica applies each record's versions one by one (v to
//! v+1), never skips, never goes back, and never holds a version, or a value of any
//! field it replicates, that its owner did not write at that version. Judged for the
//! orders service's tickets (title, price) and the payments service's orders (price,
//! userId, expiresAt; the status may also change in place, keeping the version, when
//! payments marks an order it was paid for complete).

use super::{written, Input, Violation};
use crate::harness::history::{Lookup, LookupSet};
use crate::ticketing::domain::{Id, OrderStatus, Snapshot};
use crate::ticketing::services::{orders, tickets};
use std::time::Duration;

pub fn check(input: &Input) -> Vec<Violation> {
    // Borrowed from the history: no copy of an id or a title per write.
    let mut owner: Lookup<(&str, u64), (&str, f64)> = Lookup::default();
    let mut order_versions: Lookup<(&str, u64), (f64, &Id, Duration)> = Lookup::default();
    let mut order_last: Lookup<&str, u64> = Lookup::default();
    let mut last: Lookup<&str, u64> = Lookup::default();
    let mut reported: LookupSet<&str> = LookupSet::default();
    let mut violations = Vec::new();
    // A replica is judged against its owner only where the owner runs.
    let (tickets_owned, orders_owned) = (input.scenario.runs(tickets::NAME), input.scenario.runs(orders::NAME));
    for (entry, _, _, doc) in written(input) {
        match doc {
            Snapshot::Ticket { id, version, title, price, .. } => {
                owner.insert((id, *version), (title, *price));
            }
            Snapshot::TicketReplica { id, version, title, price } if tickets_owned => {
                let problem = match (owner.get(&(&**id, *version)), last.get(&**id)) {
                    (None, _) => {
                        Some(format!("the orders replica holds ticket {id} v{version}, a version the tickets service never wrote"))
                    }
                    (Some((t, p)), _) if (*t, *p) != (title.as_str(), *price) => Some(format!(
                        "the orders replica holds ticket {id} v{version} as {title:?} {price}, but the owner's v{version} is {t:?} {p}"
                    )),
                    (Some(_), None) if *version != 0 => {
                        Some(format!("the orders replica's first copy of ticket {id} is v{version}, not v0"))
                    }
                    (Some(_), Some(prev)) if *version != prev + 1 => {
                        Some(format!("the orders replica went from ticket {id} v{prev} to v{version} instead of v{}", prev + 1))
                    }
                    _ => None,
                };
                last.insert(id, *version);
                if let Some(explanation) = problem {
                    if reported.insert(id) {
                        violations.push(Violation::new("versions-in-sequence", entry.time, vec![id.to_string()], explanation));
                    }
                }
            }
            Snapshot::Order { id, version, price, user_id, expires_at, .. } => {
                order_versions.insert((id, *version), (*price, user_id, *expires_at));
            }
            Snapshot::OrderReplica { id, version, status, price, user_id, expires_at } if orders_owned => {
                let owned = order_versions.get(&(&**id, *version));
                let problem = match order_last.get(&**id) {
                    _ if owned.is_none() => {
                        Some(format!("the payments replica holds order {id} v{version}, a version the orders service never wrote"))
                    }
                    _ if owned != Some(&(*price, user_id, *expires_at)) => {
                        let (p, u, e) = owned.expect("checked above");
                        Some(format!(
                            "the payments replica holds order {id} v{version} with price {price}, user {user_id}, expiresAt {}; the owner wrote price {p}, user {u}, expiresAt {}",
                            crate::harness::fmt_time(*expires_at),
                            crate::harness::fmt_time(*e)
                        ))
                    }
                    None if *version != 0 => Some(format!("the payments replica's first copy of order {id} is v{version}, not v0")),
                    Some(prev) if *version == *prev && *status == OrderStatus::Complete => None,
                    Some(prev) if *version != prev + 1 => {
                        Some(format!("the payments replica went from order {id} v{prev} to v{version} instead of v{}", prev + 1))
                    }
                    _ => None,
                };
                order_last.insert(id, *version);
                if let Some(explanation) = problem {
                    if reported.insert(id) {
                        violations.push(Violation::new("versions-in-sequence", entry.time, vec![id.to_string()], explanation));
                    }
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
    use crate::ticketing::state::FinalState;

    #[test]
    fn replica_following_owner_versions_passes() {
        let h = vec![
            ticket("T1", 0, 20, None),
            replica("T1", 0, 20),
            ticket("T1", 1, 20, Some("O1")),
            edit("T1", 2, 30),
            replica("T1", 1, 20),
            replica("T1", 2, 30),
        ];
        assert!(run(h, &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn replica_going_back_fails() {
        let h = vec![
            ticket("T1", 0, 20, None),
            replica("T1", 0, 20),
            edit("T1", 1, 25),
            edit("T1", 2, 30),
            replica("T1", 2, 30),
            replica("T1", 1, 25),
        ];
        let v = run(h, &FinalState::default(), super::check);
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.contains("v0 to v2"), "{}", v[0].explanation);
    }

    #[test]
    fn replica_holding_an_unwritten_version_or_id_fails() {
        let v = run(vec![ticket("T1", 0, 20, None), replica("R1", 0, 20)], &FinalState::default(), super::check);
        assert_eq!(v.len(), 1);
        assert!(v[0].explanation.contains("never wrote"));
    }
}

#[cfg(test)]
mod order_replica_tests {
    use super::super::testkit::*;
    use crate::ticketing::domain::OrderStatus::{self, *};
    use crate::ticketing::domain::Snapshot;
    use crate::ticketing::state::FinalState;

    fn replica(version: u64, status: OrderStatus, expires_ms: u64) -> crate::harness::history::Record<crate::ticketing::domain::Obs> {
        let doc =
            Snapshot::OrderReplica { id: "O1".into(), version, status, price: 20.0, user_id: "u2".into(), expires_at: ms(expires_ms) };
        write("payments", "replicate", doc)
    }

    #[test]
    fn an_order_replica_with_every_field_as_written_passes() {
        let h = vec![order("O1", 0, "T1", Created), replica(0, Created, 900_000), replica(0, Complete, 900_000)];
        assert!(run(h, &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn an_order_replica_with_another_expiry_fails() {
        let v = run(vec![order("O1", 0, "T1", Created), replica(0, Created, 0)], &FinalState::default(), super::check);
        assert!(v[0].explanation.contains("expiresAt 0.000s; the owner wrote price 20, user u2, expiresAt 900.000s"), "{v:?}");
    }
}
