//! `no-edit-while-reserved`: no ticket edit succeeds while a non-cancelled order holds
//! the ticket, once the tickets service has taken that order's lock. (Before the lock is
//! taken, an edit is the design's accepted window of eventual consistency.) The
//! violation says how the lock went: cleared while the order still held the ticket, or
//! released when the order was cancelled and the order active again since.

use super::{written, Input, Violation};
use crate::harness::fmt_time;
use crate::harness::history::Lookup;
use crate::ticketing::domain::{Id, OrderStatus, Snapshot};
use crate::ticketing::services::{orders, tickets};
use std::collections::BTreeMap;
use std::time::Duration;

/// A ticket's lock history: when each order's lock was taken, and the last release.
#[derive(Default)]
struct Lock {
    holder: Option<Id>,
    taken: BTreeMap<Id, (Duration, u64)>,
    /// The write that last cleared the lock: the order it named, when, version, call.
    released: Option<(Id, Duration, u64, &'static str)>,
}

/// Each order: its ticket, its current status, and its status history.
type Orders = BTreeMap<Id, (Id, OrderStatus, Vec<(Duration, OrderStatus)>)>;

fn how_the_lock_went(lock: &Lock, order: &Id, orders: &Orders) -> String {
    let taken = lock.taken.get(order).map(|(t, v)| format!("locked by {order} at {} (v{v})", fmt_time(*t))).unwrap_or_default();
    let Some((released_order, at, v, call)) = &lock.released else { return taken };
    let cancelled_before =
        orders.get(order).is_some_and(|(_, _, statuses)| statuses.iter().any(|(t, s)| *s == OrderStatus::Cancelled && t <= at));
    if released_order == order && cancelled_before {
        format!("{taken}, released at {} (v{v}) when {order} was cancelled; {order} is active again since", fmt_time(*at))
    } else {
        format!("{taken}, cleared at {} (v{v}, call {call}) while {order} still held it", fmt_time(*at))
    }
}

pub fn check(input: &Input) -> Vec<Violation> {
    let mut orders: Orders = BTreeMap::new();
    let mut locks: Lookup<Id, Lock> = Lookup::default();
    let mut violations = Vec::new();
    for (entry, store, call, doc) in written(input) {
        match (store, doc) {
            (orders::NAME, Snapshot::Order { id, status, ticket_id, .. }) => {
                let o = orders.entry(id.clone()).or_insert_with(|| (ticket_id.clone(), *status, Vec::new()));
                o.1 = *status;
                o.2.push((entry.time, *status));
            }
            (tickets::NAME, Snapshot::Ticket { id, version, order_id, .. }) => {
                let lock = locks.entry(id.clone()).or_default();
                match (order_id, lock.holder.take()) {
                    (Some(order), _) => {
                        lock.taken.entry(order.clone()).or_insert((entry.time, *version));
                        lock.holder = Some(order.clone());
                    }
                    (None, Some(previous)) => lock.released = Some((previous, entry.time, *version, call)),
                    (None, None) => {}
                }
                if call != tickets::calls::EDIT {
                    continue;
                }
                let holder = orders.iter().find(|(o, (t, s, _))| t == id && s.is_active() && lock.taken.contains_key(*o));
                if let Some((order, (_, status, _))) = holder {
                    let history = how_the_lock_went(lock, order, &orders);
                    violations.push(Violation::new(
                        "no-edit-while-reserved",
                        entry.time,
                        vec![id.to_string(), order.to_string()],
                        format!(
                            "ticket {id} was edited to v{version} at {} while order {order} ({}) held it; {history}",
                            fmt_time(entry.time),
                            status.as_str()
                        ),
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
        assert_eq!(
            v[0].explanation,
            "ticket T1 was edited to v3 at 0.050s while order O2 (created) held it; locked by O2 at 0.030s (v1), cleared at 0.040s (v2, call unlock) while O2 still held it"
        );
    }

    #[test]
    fn an_order_paid_after_its_cancel_is_told_as_such() {
        let h = vec![
            order("O1", 0, "T1", Created),
            ticket("T1", 1, 20, Some("O1")),
            order("O1", 1, "T1", Cancelled),
            ticket("T1", 2, 20, None),
            order("O1", 2, "T1", Complete),
            edit("T1", 3, 30),
        ];
        let v = run(h, &FinalState::default(), super::check);
        assert!(
            v[0].explanation.ends_with("released at 0.030s (v2) when O1 was cancelled; O1 is active again since"),
            "{}",
            v[0].explanation
        );
    }
}
