//! Where two runs of one scenario part: the first event that differs (virtual time,
//! node, what each run did there), which bug switch decided it, how much of the rest
//! the two runs still share, and the records whose final state differs. With keyed
//! decisions ([`super::choices`]) two runs that differ in one flaw are the same run up
//! to the first line where the flaw's code decides something.

use super::history::{Entry, Observation};
use super::run::RunOutcome;
use super::switches::Consulted;
use super::system::System;
use std::collections::BTreeMap;
use std::time::Duration;

/// One event of a run, as compared.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub index: usize,
    #[serde(rename = "virtual_time", serialize_with = "super::system::ser_duration")]
    pub time: Duration,
    pub node: String,
    pub text: String,
}

/// Where two runs part.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Parting {
    /// The original's event there (`None`: the original ended first).
    pub original: Option<Step>,
    /// The other run's event there (`None`: it ended first).
    pub other: Option<Step>,
    /// The last consultation, at or before the parting, of a switch the two runs set
    /// differently: the line whose decision made them part.
    pub deciding: Option<Consulted>,
}

/// A record whose final state differs.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StateDiff {
    pub record: String,
    pub original: Option<String>,
    pub other: Option<String>,
}

/// Two runs compared.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunDiff {
    /// `None`: the runs are the same, event for event.
    pub parting: Option<Parting>,
    /// Events before the parting (the same in both).
    pub common_prefix: usize,
    /// Events of the original that the other run also has (same node, same text once
    /// positional numbers are blanked), wherever they fall.
    pub shared: usize,
    pub original_events: usize,
    pub other_events: usize,
    /// Records whose final state differs (at most [`MAX_STATE_DIFFS`]).
    pub states: Vec<StateDiff>,
    pub states_differing: usize,
}

/// Most differing records a diff lists.
pub const MAX_STATE_DIFFS: usize = 50;

/// A run's events, as compared (needs the run's history).
pub fn steps<O: Observation>(entries: &[Entry<O>]) -> Vec<Step> {
    entries
        .iter()
        .map(|e| Step { index: e.index, time: e.time, node: e.node.as_deref().unwrap_or("-").to_string(), text: e.record.to_string() })
        .collect()
}

/// `text` with positional numbers (message, request and sequence numbers: `#12`)
/// blanked, so the same event matches across runs that numbered differently.
fn blanked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '#' {
            while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                chars.next();
            }
        }
    }
    out
}

/// Events of one instant in a fixed order (by node, then text): madsim polls the tasks
/// ready at one instant in an order of its own RNG, and events that happen at the same
/// virtual instant on the harness's clock are simultaneous.
fn same_instant_sorted(steps: &[Step]) -> Vec<Step> {
    let mut out = steps.to_vec();
    for run in out.chunk_by_mut(|x, y| x.time == y.time) {
        run.sort_by(|x, y| (x.node.as_str(), blanked(&x.text)).cmp(&(y.node.as_str(), blanked(&y.text))));
    }
    out
}

/// Compares two event lists (see [`RunDiff`]); `switches` are the switches the runs
/// set differently, `log` the original's consultations.
pub fn compare(a: &[Step], b: &[Step], log: &[Consulted], switches: &[String]) -> RunDiff {
    let (a, b) = (&same_instant_sorted(a), &same_instant_sorted(b));
    // Times are not compared: madsim advances its clock 50-100 ns per poll with its own
    // RNG, so two runs that poll differently drift by nanoseconds; the same events in the
    // same order on the same nodes are the same run.
    // Positional numbers (request and message numbers) are blanked too: two requests
    // sent at one instant are numbered in the order madsim polls them.
    let same = |x: &Step, y: &Step| x.node == y.node && (x.text == y.text || blanked(&x.text) == blanked(&y.text));
    let common_prefix = a.iter().zip(b).take_while(|(x, y)| same(x, y)).count();
    let parting = (common_prefix < a.len().max(b.len())).then(|| {
        let original = a.get(common_prefix).cloned();
        let other = b.get(common_prefix).cloned();
        let at = match (&original, &other) {
            (Some(x), Some(y)) => x.time.min(y.time),
            (Some(x), None) | (None, Some(x)) => x.time,
            (None, None) => Duration::ZERO,
        };
        Parting { deciding: super::switches::deciding(log, switches, at).cloned(), original, other }
    });
    let mut theirs: BTreeMap<(String, String), usize> = BTreeMap::new();
    for s in b {
        *theirs.entry((s.node.clone(), blanked(&s.text))).or_default() += 1;
    }
    let mut shared = 0;
    for s in a {
        if let Some(n) = theirs.get_mut(&(s.node.clone(), blanked(&s.text))).filter(|n| **n > 0) {
            *n -= 1;
            shared += 1;
        }
    }
    RunDiff { parting, common_prefix, shared, original_events: a.len(), other_events: b.len(), states: Vec::new(), states_differing: 0 }
}

/// Compares two runs that kept their histories and final states.
pub fn diff<S: System>(a: &RunOutcome<S>, b: &RunOutcome<S>, switches: &[String]) -> RunDiff {
    let events = |o: &RunOutcome<S>| o.history.as_ref().map(|h| steps(&h.entries())).unwrap_or_default();
    let log = a.switches.as_deref().unwrap_or_default();
    let mut diff = compare(&events(a), &events(b), log, switches);
    let states = |o: &RunOutcome<S>| o.final_state.as_ref().map(S::record_states).unwrap_or_default();
    let (mine, theirs) = (states(a), states(b));
    let mut records: Vec<&String> = mine.keys().chain(theirs.keys()).collect();
    records.sort();
    records.dedup();
    for record in records {
        let (x, y) = (mine.get(record), theirs.get(record));
        if x != y {
            diff.states_differing += 1;
            if diff.states.len() < MAX_STATE_DIFFS {
                diff.states.push(StateDiff { record: record.clone(), original: x.cloned(), other: y.cloned() });
            }
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(i: usize, ms: u64, node: &str, text: &str) -> Step {
        Step { index: i, time: Duration::from_millis(ms), node: node.into(), text: text.into() }
    }

    #[test]
    fn two_runs_part_at_their_first_different_event_and_share_what_matches() {
        let a = vec![step(0, 1, "a", "x #1"), step(1, 2, "a", "y #2"), step(2, 3, "b", "z #3")];
        let b = vec![step(0, 0, "a", "x #1"), step(1, 2, "a", "w #2"), step(2, 4, "b", "z #7")];
        let d = compare(&a, &b, &[], &[]);
        assert_eq!(d.common_prefix, 1, "the same event at another instant is the same event");
        let parting = d.parting.unwrap();
        assert_eq!(parting.original.unwrap().text, "y #2");
        assert_eq!(parting.other.unwrap().text, "w #2");
        assert_eq!(d.shared, 2, "x, and z whatever its number and time");
        assert!(compare(&a, &a, &[], &[]).parting.is_none());
        let shorter = compare(&a, &a[..2], &[], &[]);
        assert!(shorter.parting.unwrap().other.is_none(), "the other run ended first");
    }

    #[test]
    fn the_deciding_switch_is_the_last_consulted_before_the_parting() {
        let c = |ms: u64, switch: &'static str| Consulted {
            time: Duration::from_millis(ms),
            node: None,
            switch,
            on: true,
            location: format!("x.rs:{ms}"),
        };
        let log = vec![c(1, "f"), c(2, "g"), c(3, "f"), c(9, "f")];
        let a = vec![step(0, 1, "a", "x"), step(1, 5, "a", "y")];
        let b = vec![step(0, 1, "a", "x"), step(1, 5, "a", "q")];
        let d = compare(&a, &b, &log, &["f".to_string()]);
        assert_eq!(d.parting.unwrap().deciding.unwrap().location, "x.rs:3");
    }
}
