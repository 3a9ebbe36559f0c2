//! Triage of a sweep: for each distinct bug (fingerprint), the flaws that cause it,
//! attributed on its smallest failing seed (see [`super::attribute`]), and for each
//! flaw how many failing seeds it explains: seeds with a bug whose cause includes it,
//! and seeds all of whose bugs it is in the cause of (fixing it alone removes every bug
//! of those seeds, as judged on each bug's smallest seed). Bounded: the
//! [`MAX_TRIAGED`] bugs seen on most seeds are judged, the rest are counted.

use super::attribute::attribute;
use super::explore::ExploreSummary;
use super::run::{run_seed, RunOptions};
use super::system::System;
use std::collections::{BTreeMap, BTreeSet};

/// Most bugs a triage judges (the ones seen on most seeds).
pub const MAX_TRIAGED: usize = 40;

pub use super::causes::{BugCause, SwitchCause, Triage};

/// Judges the causes of a sweep's bugs on `jobs` threads.
pub fn triage<S: System>(scenario: &S::Scenario, summary: &ExploreSummary, jobs: usize) -> Triage {
    let mut groups: Vec<_> = summary.groups.values().collect();
    groups.sort_by(|a, b| b.seeds.cmp(&a.seeds).then(a.fingerprint.cmp(&b.fingerprint)));
    let judged: Vec<_> = groups.iter().take(MAX_TRIAGED).collect();
    let results: Vec<std::sync::Mutex<Option<BugCause>>> = judged.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let cursor = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, judged.len().max(1)) {
            scope.spawn(|| loop {
                let i = cursor.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(group) = judged.get(i) else { break };
                let (seed, branch) = (group.smallest.seed, group.smallest.branch.clone());
                let rerun = |s: &S::Scenario, o: &RunOptions| run_seed::<S>(s, seed, &RunOptions { branch: branch.clone(), ..o.clone() });
                let attribution = attribute::<S>(scenario, &group.invariant, &group.fingerprint, &rerun);
                *results[i].lock().unwrap() = Some(BugCause {
                    fingerprint: group.fingerprint.clone(),
                    invariant: group.invariant.clone(),
                    seeds: group.seeds,
                    judged_on: seed,
                    branch,
                    attribution,
                });
            });
        }
    });
    let bugs: Vec<BugCause> = results.into_iter().filter_map(|r| r.into_inner().unwrap()).collect();
    let mut triage = Triage {
        failing: summary.failing,
        bugs_not_judged: groups.len().saturating_sub(MAX_TRIAGED) as u64,
        not_attributed: bugs.iter().filter(|b| b.attribution.causes().is_none()).count() as u64,
        switches: Vec::new(),
        bugs,
    };
    triage.switches = explained(&triage.bugs, &summary.signatures);
    triage
}

/// A merged sweep's triage: each bug as judged on its smallest seed in any partition,
/// the flaws' counts taken again over the merged sets of bugs.
pub fn merged(parts: Vec<Triage>, summary: &ExploreSummary) -> Triage {
    let mut bugs: BTreeMap<String, BugCause> = BTreeMap::new();
    for bug in parts.into_iter().flat_map(|t| t.bugs) {
        match bugs.get_mut(&bug.fingerprint) {
            Some(known) if known.judged_on <= bug.judged_on => {
                known.seeds = summary.groups.get(&bug.fingerprint).map_or(known.seeds, |g| g.seeds)
            }
            _ => {
                let seeds = summary.groups.get(&bug.fingerprint).map_or(bug.seeds, |g| g.seeds);
                bugs.insert(bug.fingerprint.clone(), BugCause { seeds, ..bug });
            }
        }
    }
    let mut bugs: Vec<BugCause> = bugs.into_values().collect();
    bugs.sort_by(|a, b| b.seeds.cmp(&a.seeds).then(a.fingerprint.cmp(&b.fingerprint)));
    Triage {
        failing: summary.failing,
        bugs_not_judged: summary.groups.len().saturating_sub(bugs.len()) as u64,
        not_attributed: bugs.iter().filter(|b| b.attribution.causes().is_none()).count() as u64,
        switches: explained(&bugs, &summary.signatures),
        bugs,
    }
}

/// Per flaw, the seeds it explains (see the module doc), most first.
pub fn explained(bugs: &[BugCause], signatures: &BTreeMap<Vec<String>, u64>) -> Vec<SwitchCause> {
    let causes: BTreeMap<&str, &[String]> = bugs.iter().filter_map(|b| Some((b.fingerprint.as_str(), b.attribution.causes()?))).collect();
    let switches: BTreeSet<&String> = causes.values().flat_map(|c| c.iter()).collect();
    let mut out: Vec<SwitchCause> = switches
        .into_iter()
        .map(|switch| {
            let in_cause = |fp: &String| causes.get(fp.as_str()).is_some_and(|c| c.contains(switch));
            let (mut any, mut all) = (0, 0);
            for (signature, seeds) in signatures {
                any += seeds * signature.iter().any(in_cause) as u64;
                all += seeds * signature.iter().all(in_cause) as u64;
            }
            let bugs = causes.values().filter(|c| c.contains(switch)).count() as u64;
            SwitchCause { switch: switch.clone(), in_cause_of: any, fixes_every_bug_of: all, bugs }
        })
        .collect();
    out.sort_by(|a, b| {
        b.in_cause_of.cmp(&a.in_cause_of).then(b.fixes_every_bug_of.cmp(&a.fixes_every_bug_of)).then(a.switch.cmp(&b.switch))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::attribute::Attribution;
    use crate::harness::strategy::Branch;

    fn bug(fp: &str, causes: Option<&[&str]>) -> BugCause {
        let attribution = match causes {
            Some(c) => Attribution::Caused {
                causes: c.iter().map(|s| s.to_string()).collect(),
                sufficient: super::super::attribute::Checked { switches: vec![], shows: true, clean: false },
                necessary: vec![],
            },
            None => Attribution::NotAttributed { why: "x".into() },
        };
        BugCause { fingerprint: fp.into(), invariant: "i".into(), seeds: 0, judged_on: 0, branch: Branch::default(), attribution }
    }

    #[test]
    fn a_flaw_explains_the_seeds_of_the_bugs_it_causes() {
        let bugs = vec![bug("a", Some(&["f"])), bug("b", Some(&["f", "g"])), bug("c", Some(&["g"])), bug("d", None)];
        let sig = |fps: &[&str], n: u64| (fps.iter().map(|s| s.to_string()).collect::<Vec<_>>(), n);
        let signatures: BTreeMap<Vec<String>, u64> =
            [sig(&["a"], 10), sig(&["a", "c"], 5), sig(&["b"], 3), sig(&["c"], 2), sig(&["a", "d"], 4)].into_iter().collect();
        let out = explained(&bugs, &signatures);
        let f = out.iter().find(|s| s.switch == "f").unwrap();
        assert_eq!((f.in_cause_of, f.fixes_every_bug_of, f.bugs), (22, 13, 2), "a unknown cause (d) is never claimed fixed");
        let g = out.iter().find(|s| s.switch == "g").unwrap();
        assert_eq!((g.in_cause_of, g.fixes_every_bug_of), (10, 5));
        assert_eq!(out[0].switch, "f", "most seeds first");
    }
}
