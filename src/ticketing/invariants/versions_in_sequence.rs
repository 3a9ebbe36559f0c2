//! `versions-in-sequence`: a replica applies each record's versions one by one (v to
//! v+1), never skips, never goes back, and never holds a version (or fields) its
//! owner did not write. Judged for the orders service's tickets and the payments
//! service's orders (whose status may also change in place, keeping the version, when
//! payments marks an order it was paid for complete).

use super::{writes, Input, Violation};
use crate::ticketing::domain::{Id, OrderStatus, Snapshot};
use std::collections::{BTreeMap, BTreeSet};

pub fn check(input: &Input) -> Vec<Violation> {
    let mut owner: BTreeMap<(Id, u64), (String, f64)> = BTreeMap::new();
    let mut order_versions: BTreeSet<(Id, u64)> = BTreeSet::new();
    let mut order_last: BTreeMap<Id, u64> = BTreeMap::new();
    let mut last: BTreeMap<Id, u64> = BTreeMap::new();
    let mut reported: BTreeSet<Id> = BTreeSet::new();
    let mut violations = Vec::new();
    for (entry, _, _, doc) in writes(input.entries) {
        match doc {
            Snapshot::Ticket { id, version, title, price, .. } => {
                owner.insert((id.clone(), *version), (title.clone(), *price));
            }
            Snapshot::TicketReplica { id, version, title, price } => {
                let problem = match (owner.get(&(id.clone(), *version)), last.get(id)) {
                    (None, _) => {
                        Some(format!("the orders replica holds ticket {id} v{version}, a version the tickets service never wrote"))
                    }
                    (Some((t, p)), _) if (t, p) != (title, price) => Some(format!(
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
                last.insert(id.clone(), *version);
                if let Some(explanation) = problem {
                    if reported.insert(id.clone()) {
                        violations.push(Violation::new("versions-in-sequence", entry.time, vec![id.to_string()], explanation));
                    }
                }
            }
            Snapshot::Order { id, version, .. } => {
                order_versions.insert((id.clone(), *version));
            }
            Snapshot::OrderReplica { id, version, status, .. } => {
                let problem = match order_last.get(id) {
                    _ if !order_versions.contains(&(id.clone(), *version)) => {
                        Some(format!("the payments replica holds order {id} v{version}, a version the orders service never wrote"))
                    }
                    None if *version != 0 => Some(format!("the payments replica's first copy of order {id} is v{version}, not v0")),
                    Some(prev) if *version == *prev && *status == OrderStatus::Complete => None,
                    Some(prev) if *version != prev + 1 => {
                        Some(format!("the payments replica went from order {id} v{prev} to v{version} instead of v{}", prev + 1))
                    }
                    _ => None,
                };
                order_last.insert(id.clone(), *version);
                if let Some(explanation) = problem {
                    if reported.insert(id.clone()) {
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
