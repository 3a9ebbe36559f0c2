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
pub fn simplifications(scenario: &Scenario, liveness: bool) -> Vec<Simplification<Scenario>> {
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
        edits.push(Box::new(move |s: &Scenario| (i < s.workload.steps.len()).then(|| without_step(s, i))));
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
    ]);
    // For a liveness bug, never below the floor: a shorter quiet phase cannot show it.
    // For a safety bug, the reproduction declares that it does not judge liveness (its
    // quiet phase no longer lets the system settle), so that `run` of it judges what it
    // shows and does not fail for what it cannot.
    edits.push(Box::new(move |s: &Scenario| {
        let mut next = s.clone();
        let floor = if liveness { crate::ticketing::drain::quiet_floor(s) } else { Duration::ZERO };
        let shorter = halve_dur(&mut next.phases.quiet, floor) && drop_expectations_after_the_end(&mut next);
        let all_liveness = super::validate::LIVENESS.to_string();
        if shorter && !liveness && !next.not_judged.contains(&all_liveness) {
            next.not_judged.push(all_liveness);
        }
        shorter.then_some(next)
    }));
    edits.extend([set(|s| {
        let last_step = s.workload.steps.iter().map(|st| st.at.0).max().unwrap_or_default();
        halve_dur(&mut s.phases.duration, last_step + Duration::from_millis(1)) && drop_expectations_after_the_end(s)
    })]);
    edits
}

/// The scenario without step `i`, the later steps that act on what it named (and so
/// on), and the expectations about any of those names: steps and their expectations
/// shrink together.
pub fn without_step(s: &Scenario, i: usize) -> Scenario {
    let mut next = s.clone();
    let mut gone: Vec<String> = next.workload.steps.remove(i).name.into_iter().collect();
    let mut j = i;
    while j < next.workload.steps.len() {
        let step = &next.workload.steps[j];
        let uses_gone = [&step.ticket, &step.order].into_iter().flatten().any(|n| gone.contains(n));
        if uses_gone {
            gone.extend(next.workload.steps.remove(j).name);
        } else {
            j += 1;
        }
    }
    next.expect.retain(|e| !gone.contains(&e.ticket) && !e.order.as_ref().is_some_and(|o| gone.contains(o)));
    next
}

/// Drops expectations for times after the run's end (after a phase got shorter).
fn drop_expectations_after_the_end(s: &mut Scenario) -> bool {
    let end = s.phases.duration.0 + s.phases.quiet.0;
    s.expect.retain(|e| e.at.0 <= end);
    s.expect_account.retain(|e| e.at.0 <= end);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_step_removes_the_steps_and_expectations_that_depend_on_it() {
        let text = r#"
name = "s"
[[workload.steps]]
at = "0s"
user = "u"
op = "create-ticket"
title = "t"
price = 5
name = "A"
[[workload.steps]]
at = "1s"
user = "u"
op = "create-order"
ticket = "A"
name = "O"
[[workload.steps]]
at = "2s"
user = "u"
op = "cancel-order"
order = "O"
[[workload.steps]]
at = "3s"
user = "u"
op = "create-ticket"
title = "b"
price = 6
name = "B"
[[expect]]
at = "10s"
ticket = "A"
version = 1
[[expect]]
at = "10s"
ticket = "B"
version = 0
"#;
        let s = Scenario::parse("s.toml", text).unwrap();
        let next = without_step(&s, 0);
        let names: Vec<_> = next.workload.steps.iter().map(|st| st.name.clone()).collect();
        assert_eq!(names, vec![Some("B".to_string())], "the order on A and its cancel go with A");
        assert_eq!(next.expect.len(), 1);
        assert_eq!(next.expect[0].ticket, "B");
        assert!(next.validate().is_ok());
    }
}
