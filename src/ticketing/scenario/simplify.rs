//! What `shrink` may take away from a ticketing scenario, most promising first: fault
//! kinds, users and requests, steps (each with the expectations about it), instances,
//! then shorter faults, delays and phases.

use super::{Dur, Scenario};
use crate::harness::system::Simplification;
use crate::ticketing::services::SERVICES;
use std::time::Duration;

fn set(f: fn(&mut Scenario) -> bool) -> Simplification<Scenario> {
    Box::new(move |s: &Scenario| {
        let mut next = s.clone();
        f(&mut next).then_some(next)
    })
}

fn decrement(n: &mut u32) -> bool {
    let before = *n;
    *n = n.saturating_sub(1);
    *n != before
}

fn halve(n: &mut u32) -> bool {
    let before = *n;
    *n /= 2;
    *n != before
}

fn halve_dur(d: &mut Dur, floor: Duration) -> bool {
    let next = (d.0 / 2).max(floor);
    let changed = next < d.0;
    d.0 = next;
    changed
}

fn halve_range(r: &mut [Dur; 2]) -> bool {
    let high = (r[1].0 / 2).max(r[0].0);
    let changed = high < r[1].0;
    r[1].0 = high;
    changed
}

/// The simplifications of `scenario`, in the order shrink tries them.
pub fn simplifications(scenario: &Scenario) -> Vec<Simplification<Scenario>> {
    let mut edits: Vec<Simplification<Scenario>> = vec![
        // Fault kinds off.
        set(|s| std::mem::replace(&mut s.nemesis.crashes, 0) > 0),
        set(|s| std::mem::replace(&mut s.nemesis.broker_restarts, 0) > 0),
        set(|s| std::mem::replace(&mut s.nemesis.pauses, 0) > 0),
        set(|s| std::mem::replace(&mut s.nemesis.partitions, 0) > 0),
        set(|s| std::mem::replace(&mut s.network.drop_probability, 0.0) > 0.0),
        set(|s| std::mem::replace(&mut s.network.duplicate_probability, 0.0) > 0.0),
        // Fewer users and requests.
        set(|s| std::mem::replace(&mut s.workload.users, 0) > 0),
        set(|s| halve(&mut s.workload.users)),
        set(|s| halve(&mut s.workload.operations)),
        set(|s| decrement(&mut s.workload.users)),
        set(|s| decrement(&mut s.workload.operations)),
        set(|s| std::mem::replace(&mut s.workload.initial_tickets, 0) > 0),
        set(|s| halve(&mut s.workload.initial_tickets)),
    ];
    for i in (0..scenario.workload.steps.len()).rev() {
        edits.push(Box::new(move |s: &Scenario| {
            let mut next = s.clone();
            (i < next.workload.steps.len()).then(|| {
                next.workload.steps.remove(i);
                next
            })
        }));
    }
    edits.push(set(|s| !std::mem::take(&mut s.expect).is_empty()));
    edits.push(set(|s| !std::mem::take(&mut s.expect_account).is_empty()));
    // Fewer instances.
    for spec in SERVICES {
        for fewer in [1, 0] {
            edits.push(Box::new(move |s: &Scenario| {
                let mut next = s.clone();
                if next.instances(spec.name) <= fewer {
                    return None;
                }
                next.services.insert(spec.name.to_string(), fewer);
                Some(next)
            }));
        }
    }
    // Shorter faults, delays and phases.
    edits.extend([
        set(|s| halve_range(&mut s.nemesis.crash_downtime)),
        set(|s| halve_range(&mut s.nemesis.broker_downtime)),
        set(|s| halve_range(&mut s.nemesis.pause_duration)),
        set(|s| halve_range(&mut s.nemesis.partition_duration)),
        set(|s| halve_range(&mut s.network.delay)),
        set(|s| halve_dur(&mut s.phases.quiet, Duration::ZERO)),
        set(|s| {
            let last_step = s.workload.steps.iter().map(|st| st.at.0).max().unwrap_or_default();
            halve_dur(&mut s.phases.duration, last_step + Duration::from_millis(1))
        }),
    ]);
    edits
}
