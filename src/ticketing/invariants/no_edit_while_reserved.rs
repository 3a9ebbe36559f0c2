//! `no-edit-while-reserved`: no ticket edit succeeds while a non-cancelled order
//! holds the ticket, once the tickets service has taken that order's lock. (Before
//! the lock is taken, an edit is the design's accepted window of eventual
//! consistency; losing a lock that was taken is the bug.)

use super::{writes, Input, Violation};
use crate::ticketing::domain::{Id, OrderStatus, Snapshot};
use std::collections::{BTreeMap, BTreeSet};

pub fn check(input: &Input) -> Vec<Violation> {
    let mut orders: BTreeMap<Id, (Id, OrderStatus)> = BTreeMap::new();
    let mut locked: BTreeSet<(Id, Id)> = BTreeSet::new();
    let mut violations = Vec::new();
    for (entry, store, call, doc) in writes(input.entries) {
        match (store, doc) {
            ("orders", Snapshot::Order { id, status, ticket_id, .. }) => {
                orders.insert(id.clone(), (ticket_id.clone(), *status));
            }
            ("tickets", Snapshot::Ticket { id, version, order_id, .. }) => {
                if let Some(order) = order_id {
                    locked.insert((id.clone(), order.clone()));
                }
                if call != "edit" {
                    continue;
                }
                let holder = orders.iter().find(|(o, (t, s))| t == id && s.is_active() && locked.contains(&(id.clone(), (*o).clone())));
                if let Some((order, _)) = holder {
                    violations.push(Violation::new(
                        "no-edit-while-reserved",
                        entry.time,
                        vec![id.to_string(), order.to_string()],
                        format!("ticket {id} was edited (to v{version}) while order {order} still held it; its lock had been lost"),
                    ));
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
    use crate::ticketing::domain::OrderStatus::*;
    use crate::ticketing::state::FinalState;

    #[test]
    fn edit_after_the_order_is_cancelled_passes() {
        let h = vec![
            order("O1", 0, "T1", Created),
            ticket("T1", 1, 20, Some("O1")),
            order("O1", 1, "T1", Cancelled),
            ticket("T1", 2, 20, None),
            edit("T1", 3, 30),
        ];
        assert!(run(h, &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn edit_after_a_stale_unlock_fails() {
        let h = vec![
            order("O1", 0, "T1", Created),
            order("O1", 1, "T1", Cancelled),
            order("O2", 0, "T1", Created),
            ticket("T1", 1, 20, Some("O2")),
            ticket("T1", 2, 20, None), // O1's late cancel clears O2's lock
            edit("T1", 3, 30),
        ];
        let v = run(h, &FinalState::default(), super::check);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].records, vec!["T1", "O2"]);
    }
}
