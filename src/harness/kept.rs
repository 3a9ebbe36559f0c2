//! Which failing seeds a sweep keeps, known to its workers while they run: a failing
//! run's trace is hashed only when the sweep will show that hash. Hashing a trace formats
//! every record of the history, about a tenth of a failing order-race seed's work, and a
//! long sweep keeps only the smallest failing seeds of each invariant and of each bug.
//!
//! The rules are the sweep summary's ([`super::explore::ExploreSummary`]): per
//! invariant the [`KEPT_PER_INVARIANT`] smallest seeds that broke it, and per bug
//! fingerprint its smallest seed (for at most [`MAX_GROUPS`] fingerprints). Seeds are
//! noted as the sweep's thread records them, and a worker asks before its run's seed is
//! noted, so it may hash a seed the sweep then does not keep, never the reverse: what is
//! kept only gets smaller seeds.

use super::system::Violation;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Failing seeds kept per invariant (the smallest ones); the rest are only counted,
/// so memory stays flat however long the sweep.
pub const KEPT_PER_INVARIANT: usize = 100;

/// Most distinct fingerprints kept per sweep.
pub const MAX_GROUPS: usize = 500;

/// A sweep's kept failing seeds, shared by its workers (see the module's doc).
#[derive(Debug, Default)]
pub struct KeptSeeds(Mutex<Kept>);

#[derive(Debug, Default)]
struct Kept {
    /// Per invariant, the smallest seeds that broke it (at most [`KEPT_PER_INVARIANT`]).
    by_invariant: BTreeMap<&'static str, BTreeSet<u64>>,
    /// Per bug fingerprint, the smallest seed that showed it (at most [`MAX_GROUPS`]).
    by_bug: BTreeMap<String, u64>,
}

impl KeptSeeds {
    /// Whether a seed failing with these violations would be kept, were it noted now.
    pub fn keeps(&self, seed: u64, violations: &[Violation]) -> bool {
        let kept = self.0.lock().unwrap();
        violations.iter().any(|v| {
            let seeds = kept.by_invariant.get(v.invariant);
            if seeds.is_none_or(|s| s.len() < KEPT_PER_INVARIANT || s.last().is_some_and(|&last| seed < last)) {
                return true;
            }
            match kept.by_bug.get(&v.fingerprint()) {
                Some(&smallest) => seed < smallest,
                None => kept.by_bug.len() < MAX_GROUPS,
            }
        })
    }

    /// Notes a finished seed's violations (nothing for a passing seed).
    pub fn note(&self, seed: u64, violations: &[Violation]) {
        let mut guard = self.0.lock().unwrap();
        let kept = &mut *guard;
        for v in violations {
            let seeds = kept.by_invariant.entry(v.invariant).or_default();
            seeds.insert(seed);
            if seeds.len() > KEPT_PER_INVARIANT {
                seeds.pop_last();
            }
            let full = kept.by_bug.len() >= MAX_GROUPS;
            match kept.by_bug.entry(v.fingerprint()) {
                Entry::Occupied(mut smallest) => *smallest.get_mut() = (*smallest.get()).min(seed),
                Entry::Vacant(slot) if !full => {
                    slot.insert(seed);
                }
                Entry::Vacant(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{KeptSeeds, KEPT_PER_INVARIANT};
    use crate::harness::system::Violation;
    use std::time::Duration;

    fn broke(invariant: &'static str, explanation: &str) -> Vec<Violation> {
        vec![Violation { invariant, time: Duration::ZERO, records: Vec::new(), explanation: explanation.into(), evidence: Vec::new() }]
    }

    #[test]
    fn a_seed_is_kept_while_its_invariant_or_its_bug_still_wants_smaller_seeds() {
        let kept = KeptSeeds::default();
        let bug = broke("no-double-reservation", "ticket T1 is held by 2 orders");
        for seed in 0..KEPT_PER_INVARIANT as u64 {
            assert!(kept.keeps(seed * 2, &bug), "seed {} while the invariant has fewer", seed * 2);
            kept.note(seed * 2, &bug);
        }
        let last = (KEPT_PER_INVARIANT as u64 - 1) * 2;
        assert!(!kept.keeps(last + 1, &bug), "larger than every kept seed, and not the bug's smallest");
        assert!(kept.keeps(last - 1, &bug), "smaller than the largest kept seed");
        assert!(kept.keeps(last + 1, &broke("no-double-reservation", "ticket T1 ends locked")), "a new bug");
        assert!(kept.keeps(last + 1, &broke("no-lost-events", "ticket T1 is held by 2 orders")), "a new invariant");
        assert!(!kept.keeps(last + 1, &[]), "a passing seed keeps nothing");
        kept.note(1, &bug);
        assert!(!kept.keeps(last - 1, &bug), "the kept seeds got smaller: seed 1 pushed the largest out");
    }

    #[test]
    fn a_full_list_of_bugs_keeps_no_new_one() {
        let kept = KeptSeeds::default();
        for n in 0..super::MAX_GROUPS {
            kept.note(n as u64, &broke("no-lost-events", &format!("event {} lost{}", n, "!".repeat(n))));
        }
        let new = broke("no-lost-events", "a bug never seen");
        assert!(!kept.keeps(super::MAX_GROUPS as u64, &new), "past the groups' limit a sweep shows no new bug");
        assert!(kept.keeps(super::MAX_GROUPS as u64, &broke("replicas-converge", "a bug never seen")), "a new invariant");
    }
}
