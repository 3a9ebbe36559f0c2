//! `no-double-reservation`: never two non-cancelled orders on one ticket at once;
//! never two paid orders on one ticket. Judged on the orders store's writes; its
//! evidence is the writes that made each of the orders active (or paid).

use super::{written, Input, Violation};
use crate::harness::history::{Lookup, LookupSet};
use crate::ticketing::domain::{Id, OrderStatus, Snapshot};
use crate::ticketing::services::orders;
use std::collections::BTreeMap;

pub fn check(input: &Input) -> Vec<Violation> {
    // Each order: its ticket, status, when it was created and the write that created it.
    let mut orders: BTreeMap<Id, (Id, OrderStatus, std::time::Duration, usize)> = BTreeMap::new();
    let mut paid: Lookup<Id, BTreeMap<Id, usize>> = Lookup::default();
    let mut reported: LookupSet<(Id, &str)> = LookupSet::default();
    let mut violations = Vec::new();
    for (entry, store, _, doc) in written(input) {
        let (orders::NAME, Snapshot::Order { id, status, ticket_id, .. }) = (store, doc) else {
            continue;
        };
        let (created, by) = orders.get(id).map_or((entry.time, entry.index), |o| (o.2, o.3));
        orders.insert(id.clone(), (ticket_id.clone(), *status, created, by));
        let active: Vec<(&Id, std::time::Duration, usize)> =
            orders.iter().filter(|(_, (t, s, _, _))| t == ticket_id && s.is_active()).map(|(o, (_, _, c, w))| (o, *c, *w)).collect();
        if active.len() > 1 && reported.insert((ticket_id.clone(), "active")) {
            let mut records = vec![ticket_id.to_string()];
            records.extend(active.iter().map(|(o, _, _)| o.to_string()));
            let each: Vec<String> = active.iter().map(|(o, c, _)| format!("{o} (created {})", crate::harness::fmt_time(*c))).collect();
            violations.push(
                Violation::new(
                    "no-double-reservation",
                    entry.time,
                    records,
                    format!("ticket {ticket_id} is held by {} non-cancelled orders at once: {}", active.len(), each.join(", ")),
                )
                .with_evidence(active.iter().map(|(_, _, w)| *w).collect()),
            );
        }
        if *status == OrderStatus::Complete {
            let set = paid.entry(ticket_id.clone()).or_default();
            set.entry(id.clone()).or_insert(entry.index);
            if set.len() > 1 && reported.insert((ticket_id.clone(), "paid")) {
                let list: Vec<&Id> = set.keys().collect();
                let mut records = vec![ticket_id.to_string()];
                records.extend(list.iter().map(|o| o.to_string()));
                violations.push(
                    Violation::new(
                        "no-double-reservation",
                        entry.time,
                        records,
                        format!("ticket {ticket_id} was paid for by two orders: {}", join(&list)),
                    )
                    .with_evidence(set.values().copied().collect()),
                );
            }
        }
    }
    violations
}

fn join(ids: &[&Id]) -> String {
    ids.iter().map(|i| i.as_ref()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::ticketing::domain::OrderStatus::*;
    use crate::ticketing::state::FinalState;

    #[test]
    fn one_order_after_another_passes() {
        let h = vec![
            order("O1", 0, "T1", Created),
            order("O1", 1, "T1", Cancelled),
            order("O2", 0, "T1", Created),
            order("O3", 0, "T2", Created),
        ];
        assert!(run(h, &FinalState::default(), super::check).is_empty());
    }

    #[test]
    fn two_active_orders_on_one_ticket_fail() {
        let h = vec![order("O1", 0, "T1", Created), order("O2", 0, "T1", Created)];
        let v = run(h, &FinalState::default(), super::check);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].records, vec!["T1", "O1", "O2"]);
        assert_eq!(v[0].time, ms(10));
        assert_eq!(v[0].evidence, vec![0, 1], "the two creating writes");
    }

    #[test]
    fn two_paid_orders_fail_even_if_one_is_later_cancelled() {
        let h = vec![
            order("O1", 0, "T1", Created),
            order("O1", 1, "T1", Complete),
            order("O1", 2, "T1", Cancelled),
            order("O2", 0, "T1", Created),
            order("O2", 1, "T1", Complete),
        ];
        let v = run(h, &FinalState::default(), super::check);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].explanation.contains("paid"));
        assert_eq!(v[0].evidence, vec![1, 4], "the two paying writes");
    }
}
