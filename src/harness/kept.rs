//! Which failing seeds a sweep keeps, known to its workers while they run: a failing
//! run's trace is hashed only when the sweep will show that hash. A long sweep keeps only
//! the smallest failing seeds of each invariant and of each bug, and hashing a trace
//! feeds every record of its history to the hasher (1.4% of a failing order-race seed's
//! instructions; 8.5% while the hash formatted the records' text).
//!
//! The sweep's summary decides what it keeps (`ExploreSummary::record`: per invariant
//! the [`KEPT_PER_INVARIANT`] smallest seeds that broke it, per bug fingerprint its
//! smallest seed, for at most [`MAX_GROUPS`] fingerprints) and tells it here as it
//! records each seed. A worker asks before its seed is recorded, so it may hash a seed
//! the sweep then does not keep, never the reverse: what is kept only gets smaller seeds.

use super::system::Violation;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Failing seeds kept per invariant (the smallest ones); the rest are only counted,
/// so memory stays flat however long the sweep.
pub const KEPT_PER_INVARIANT: usize = 100;

/// Most distinct fingerprints kept per sweep.
pub const MAX_GROUPS: usize = 500;

/// What a sweep keeps of failing seeds, as its summary tells it (see the module's doc).
#[derive(Debug, Default)]
pub struct KeptSeeds(Mutex<Kept>);

#[derive(Debug, Default)]
struct Kept {
    /// Per invariant whose list of seeds is full, its largest seed.
    full: BTreeMap<&'static str, u64>,
    /// Per bug fingerprint, the smallest seed that showed it.
    bugs: BTreeMap<String, u64>,
    /// The list of bugs is full: a new one is only counted.
    no_new_bugs: bool,
}

impl KeptSeeds {
    /// Whether a seed failing with these violations would be kept, were it recorded now.
    pub fn keeps(&self, seed: u64, violations: &[Violation]) -> bool {
        {
            let kept = self.0.lock().unwrap();
            if violations.iter().any(|v| kept.full.get(v.invariant).is_none_or(|&largest| seed < largest)) {
                return true;
            }
        }
        let fingerprints: Vec<String> = violations.iter().map(Violation::fingerprint).collect();
        let kept = self.0.lock().unwrap();
        fingerprints.iter().any(|f| kept.bugs.get(f).map_or(!kept.no_new_bugs, |&smallest| seed < smallest))
    }

    /// The invariant's list is full; its largest seed is now `largest`.
    pub fn invariant_full(&self, invariant: &'static str, largest: u64) {
        self.0.lock().unwrap().full.insert(invariant, largest);
    }

    /// The bug's smallest seed is now `seed`.
    pub fn bug_seen(&self, fingerprint: &str, seed: u64) {
        let mut kept = self.0.lock().unwrap();
        match kept.bugs.get_mut(fingerprint) {
            Some(smallest) => *smallest = seed,
            None => {
                kept.bugs.insert(fingerprint.to_string(), seed);
            }
        }
    }

    /// The list of bugs is full.
    pub fn no_new_bugs(&self) {
        self.0.lock().unwrap().no_new_bugs = true;
    }
}
