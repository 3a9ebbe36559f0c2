//! Seeds to first detection: how many runs a sweep needs to show one bug, the figure
//! the deep-bug benchmark compares strategies by; and the steadier figure behind it,
//! seeds per detection (the seeds swept over the seeds that showed the bug), with a 95%
//! interval: a median of a few first detections moves by tens of times between trials.

use super::explore::{explore, ExploreOptions, ExploreSummary, StopOn};
use super::system::System;
use std::time::{Duration, Instant};

/// Where trial `t` of a measurement starts (the selftest's and `hunt`'s alike): a
/// million seeds apart, so trials share no seed; trial 0 is the seeds a plain sweep
/// (`explore --seeds 0..N`) runs.
pub fn trial_start(t: u64) -> u64 {
    TRIAL_WINDOW * t
}

/// The seeds between two trials' starts.
pub const TRIAL_WINDOW: u64 = 1_000_000;

/// One sweep's hunt for a bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Hunt {
    /// Seeds run up to and including the first that showed the bug; `None` when none
    /// of `budget` seeds did.
    pub seeds: Option<u64>,
    /// Seeds the sweep ran: up to the first detection, or the whole budget when it
    /// counts (`hunt --count`) or found nothing.
    pub run: u64,
    /// Seeds of those that showed the bug (0 or 1 unless it counts).
    pub shown: u64,
    /// Stopped by Ctrl-C, SIGTERM or SIGHUP before it found the bug (or, counting,
    /// before it ran its budget): `run` and `shown` count the seeds it did run, which
    /// seeds per detection can use; `seeds` is `None` unless a seed it ran showed the
    /// bug (counting, one may have).
    pub interrupted: bool,
    #[serde(serialize_with = "super::system::ser_duration")]
    pub wall: Duration,
}

/// The first seed of `start..start + budget` whose run shows `stop`, with the sweep's
/// summary (what else that seed violated): a sweep that stops there, starting no larger
/// seed after. Seeds to first detection, for `hunt` and the selftest alike.
pub fn first_seed<S: System>(scenario: &S::Scenario, stop: StopOn, start: u64, budget: u64, jobs: usize) -> Option<(u64, ExploreSummary)> {
    let (seed, summary) = sweep_to_first::<S>(scenario, stop, start, budget, jobs);
    Some((seed?, summary))
}

/// The sweep behind [`first_seed`]: the first seed that showed `stop` (if one did), and
/// the summary, whose `seeds_run` says how far it got when none did.
fn sweep_to_first<S: System>(scenario: &S::Scenario, stop: StopOn, start: u64, budget: u64, jobs: usize) -> (Option<u64>, ExploreSummary) {
    let options = ExploreOptions { jobs, stop_on: Some(stop.clone()), ..ExploreOptions::new(start..start.saturating_add(budget)) };
    let summary = explore::<S>(scenario, &options);
    let seed = match &stop {
        StopOn::Invariant(name) => summary.by_invariant.get(name).and_then(|runs| runs.first()).map(|run| run.seed),
        StopOn::Bug(fingerprint) => summary.groups.get(fingerprint).map(|group| group.smallest.seed),
    };
    (seed, summary)
}

/// Sweeps `start..start + budget` of `scenario` until a run shows `fingerprint`, or,
/// when it `count`s, over the whole budget, counting the runs that show it. A sweep
/// stopped by a signal says so, with the seeds it ran.
pub fn hunt<S: System>(scenario: &S::Scenario, fingerprint: &str, start: u64, budget: u64, jobs: usize, count: bool) -> Hunt {
    let started = Instant::now();
    if count {
        let summary = explore::<S>(scenario, &ExploreOptions { jobs, ..ExploreOptions::new(start..start.saturating_add(budget)) });
        let group = summary.groups.get(fingerprint);
        let seeds = group.map(|g| g.smallest.seed - start + 1);
        let shown = group.map_or(0, |g| g.seeds);
        return Hunt { seeds, run: summary.seeds_run, shown, interrupted: summary.partial, wall: started.elapsed() };
    }
    let (seed, summary) = sweep_to_first::<S>(scenario, StopOn::Bug(fingerprint.to_string()), start, budget, jobs);
    let wall = started.elapsed();
    match seed {
        // Every smaller seed was started before it, and a started seed finishes.
        Some(seed) => Hunt { seeds: Some(seed - start + 1), run: seed - start + 1, shown: 1, interrupted: false, wall },
        None => Hunt { seeds: None, run: summary.seeds_run, shown: 0, interrupted: summary.partial, wall },
    }
}

/// Seeds per detection over some sweeps: the seeds they ran over the seeds that showed
/// the bug (the maximum-likelihood estimate of the mean seeds to a detection, whether
/// the sweeps stopped at their first or ran their budget), with its 95% interval
/// (exact Poisson, from the detections in that many seeds). `None` as the estimate
/// when nothing showed it: then only the interval's lower end says something.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PerDetection {
    pub run: u64,
    pub shown: u64,
    pub estimate: Option<f64>,
    /// The interval, seeds per detection: (low, high); high is `None` (unbounded) when
    /// nothing showed the bug.
    pub low: f64,
    pub high: Option<f64>,
}

impl PerDetection {
    pub fn of(trials: &[Hunt]) -> PerDetection {
        let run: u64 = trials.iter().map(|h| h.run).sum();
        let shown: u64 = trials.iter().map(|h| h.shown).sum();
        let exposure = run.max(1) as f64;
        // The interval of the detections' Poisson mean, turned into seeds per detection.
        let mean_high = poisson_mean_bound(shown, 0.025, true);
        let mean_low = (shown > 0).then(|| poisson_mean_bound(shown, 0.025, false));
        PerDetection {
            run,
            shown,
            estimate: (shown > 0).then(|| exposure / shown as f64),
            low: exposure / mean_high,
            high: mean_low.map(|m| exposure / m),
        }
    }

    /// The estimate, or, when nothing showed the bug, the seeds run (as if the next
    /// seed would show it: a lower bound, which is what a ratio can use).
    pub fn bounded(&self) -> f64 {
        self.estimate.unwrap_or(self.run.max(1) as f64)
    }
}

/// The Poisson mean `m` at which seeing `k` events is at the edge of a two-sided
/// interval with `tail` in each tail: the upper bound solves P(X <= k | m) = tail, the
/// lower bound P(X >= k | m) = tail (k > 0). By bisection on the exact distribution.
fn poisson_mean_bound(k: u64, tail: f64, upper: bool) -> f64 {
    let at_most = |m: f64, k: u64| -> f64 {
        // P(X <= k), summed in logs so large k and m do not overflow.
        let (ln_m, mut term, mut sum) = (m.ln(), -m, f64::NEG_INFINITY);
        for i in 0..=k {
            if i > 0 {
                term += ln_m - (i as f64).ln();
            }
            sum = log_add(sum, term);
        }
        sum.exp()
    };
    let miss = |m: f64| match upper {
        true => at_most(m, k) - tail,                                         // falls as m grows
        false => tail - (1.0 - if k == 0 { 0.0 } else { at_most(m, k - 1) }), // falls as m grows
    };
    let (mut lo, mut hi) = (0.0_f64, 10.0 + 3.0 * k as f64);
    // Each step sums k terms: stop at nine significant digits, far past what is printed.
    while hi - lo > 1e-9 * hi {
        let mid = (lo + hi) / 2.0;
        if miss(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

fn log_add(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    let (big, small) = if a > b { (a, b) } else { (b, a) };
    big + (small - big).exp().ln_1p()
}

/// The median of some seeds-to-detection figures (the upper one of an even count).
pub fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(run: u64, shown: u64) -> Hunt {
        Hunt { seeds: (shown > 0).then_some(1), run, shown, interrupted: false, wall: Duration::ZERO }
    }

    #[test]
    fn poisson_bounds_match_the_tables() {
        // Garwood's exact 95% interval for k events: 0 -> (0, 3.689), 1 -> (0.0253, 5.572),
        // 10 -> (4.795, 18.39).
        for (k, low, high) in [(1, 0.0253, 5.572), (10, 4.795, 18.39)] {
            assert!((poisson_mean_bound(k, 0.025, false) - low).abs() < 1e-3 * high, "k={k} low");
            assert!((poisson_mean_bound(k, 0.025, true) - high).abs() < 1e-3 * high, "k={k} high");
        }
        assert!((poisson_mean_bound(0, 0.025, true) - 3.689).abs() < 1e-3);
    }

    #[test]
    fn seeds_per_detection_counts_every_seed_swept() {
        // Stopped at their first detections (10 and 30 seeds) and one that found nothing
        // in 60: 100 seeds, 2 detections.
        let d = PerDetection::of(&[trial(10, 1), trial(30, 1), trial(60, 0)]);
        assert_eq!((d.run, d.shown, d.estimate), (100, 2, Some(50.0)));
        assert!(d.low < 50.0 && d.high.unwrap() > 50.0);
        // Nothing found: no estimate, an open interval from 100 / 3.689 seeds up.
        let none = PerDetection::of(&[trial(100, 0)]);
        assert_eq!((none.estimate, none.high), (None, None));
        assert!((none.low - 100.0 / 3.689).abs() < 0.1);
        assert_eq!(none.bounded(), 100.0);
        // Many detections: a narrow interval.
        let many = PerDetection::of(&[trial(10_000, 400)]);
        assert!(many.low > 22.0 && many.high.unwrap() < 28.0, "{many:?}");
    }
}
