//! Sweeps: run many seeds of a scenario on `jobs` threads (one fresh madsim runtime
//! per seed, nothing shared between seeds), optionally one shard of the range, and
//! group failing seeds by invariant and by bug fingerprint.

use super::fabric::FabricCounters;
use super::kept::KeptSeeds;
use super::nemesis::NemesisCounters;
use super::run::{run_seed, RunOptions};
use super::strategy::{Branch, Strategy};
use super::system::System;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct ExploreOptions {
    pub seeds: Range<u64>,
    pub jobs: usize,
    /// Run only one partition of the range (see [`Partition`]).
    pub partition: Option<Partition>,
    pub fail_fast: bool,
    /// Stop once a run shows this: how the deep-bug benchmark and the selftest measure
    /// seeds to first detection.
    pub stop_on: Option<StopOn>,
    /// Keep every seed's trace hash in the summary (memory grows with the range).
    pub keep_trace_hashes: bool,
    /// A seed whose liveness could not be judged fails (see [`RunOptions::require_judged`]).
    pub require_judged: bool,
}

impl ExploreOptions {
    fn shows_stop(&self, violations: &[super::system::Violation]) -> bool {
        self.stop_on.as_ref().is_some_and(|stop| {
            violations.iter().any(|v| match stop {
                StopOn::Invariant(name) => v.invariant == name,
                StopOn::Bug(fingerprint) => v.fingerprint() == *fingerprint,
            })
        })
    }

    pub fn new(seeds: Range<u64>) -> Self {
        ExploreOptions {
            seeds,
            jobs: default_jobs(),
            partition: None,
            fail_fast: false,
            stop_on: None,
            keep_trace_hashes: false,
            require_judged: false,
        }
    }
}

/// What ends a sweep early (see [`ExploreOptions::stop_on`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopOn {
    /// A violation of this invariant.
    Invariant(String),
    /// This very bug: a violation with this fingerprint (`Violation::fingerprint`).
    Bug(String),
}

/// How a range is split over machines: partition `index` of `count` (1-based, as
/// nextest's `--partition`), by position (`count`: every count-th seed), by a hash of
/// the seed (`hash`: spread evenly whatever the range), or in contiguous chunks (`range`).
/// Together the partitions 1..=count cover the range exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Partition {
    pub kind: PartitionKind,
    pub index: u64,
    pub count: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionKind {
    Count,
    Hash,
    Range,
}

impl Partition {
    /// `M/N` (range), `count:M/N`, `hash:M/N` or `range:M/N`, with 1 <= M <= N.
    pub fn parse(text: &str) -> Result<Partition, String> {
        let bad = || format!("{}: write [hash:|range:|count:]M/N with 1 <= M <= N, e.g. hash:3/8", super::echo(text));
        let (kind, rest) = match text.split_once(':') {
            Some(("hash", rest)) => (PartitionKind::Hash, rest),
            Some(("range", rest)) => (PartitionKind::Range, rest),
            Some(("count", rest)) => (PartitionKind::Count, rest),
            Some(_) => return Err(bad()),
            None => (PartitionKind::Range, text),
        };
        let (m, n) = rest.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (m.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Partition { kind, index, count })
    }

    fn kind_name(&self) -> &'static str {
        match self.kind {
            PartitionKind::Count => "count",
            PartitionKind::Hash => "hash",
            PartitionKind::Range => "range",
        }
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}/{}", self.kind_name(), self.index, self.count)
    }
}

/// A seed's partition under `hash:M/N`: splitmix64 of the seed, mod N (stable across
/// builds and machines).
pub fn hash_bucket(seed: u64, count: u64) -> u64 {
    super::choices::splitmix64(seed) % count
}

pub use super::kept::{KEPT_PER_INVARIANT, MAX_GROUPS};

/// One failing seed, as grouped under an invariant.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FailingSeed {
    pub seed: u64,
    #[serde(rename = "virtual_time", serialize_with = "super::system::ser_duration")]
    pub time: Duration,
    pub explanation: String,
    pub trace_hash: String,
    /// A coverage sweep's run: the runs it branches from (replay needs them).
    #[serde(skip_serializing_if = "Branch::is_empty")]
    pub branch: Branch,
}

#[derive(Clone, Debug, Default)]
pub struct ExploreSummary {
    pub seeds_run: u64,
    pub failing: u64,
    /// Seeds whose liveness was not judged (still working too close to the end).
    pub liveness_not_judged: u64,
    /// The scenario's own expectations over every seed: judged, passed, failed, not judged.
    pub expectations: super::system::Tally,
    /// The smallest failing seeds (at most [`KEPT_PER_INVARIANT`] per invariant).
    pub failing_seeds: Vec<u64>,
    /// Invariant name to its smallest failing seeds (ascending), first violation of each.
    pub by_invariant: BTreeMap<String, Vec<FailingSeed>>,
    /// Invariant name to how many seeds violated it.
    pub counts: BTreeMap<String, u64>,
    pub fabric: FabricCounters,
    pub nemesis: NemesisCounters,
    /// The madsim work of the seeds run (sleeps, timers, steps; `bench` reads it).
    pub work: super::Work,
    pub virtual_time: Duration,
    /// The most events and the longest virtual time of one seed (for setting limits).
    pub max_events: u64,
    pub max_virtual_time: Duration,
    pub wall: Duration,
    /// Trace hash of every seed run, by seed.
    pub trace_hashes: BTreeMap<u64, u64>,
    /// Failing seeds grouped by bug fingerprint (see `Violation::fingerprint`).
    pub groups: BTreeMap<String, BugGroup>,
    /// Seeds whose fingerprints did not fit in `groups` (past [`MAX_GROUPS`]).
    pub ungrouped: u64,
    /// The seeds the sweep planned to run.
    pub planned: u64,
    /// Wall-clock time spent judging each invariant, over all seeds (JUnit's timings).
    pub check_times: BTreeMap<&'static str, Duration>,
    /// The sweep was stopped early (see [`super::interrupt`]): it ran fewer seeds than planned.
    pub partial: bool,
    /// A coverage sweep: the abstract states its runs reached, and its corpus's size.
    pub coverage: u64,
    pub corpus: u64,
    /// How many failing seeds showed each set of bugs (fingerprints, sorted): what the
    /// triage of causes counts (at most [`MAX_SIGNATURES`] sets).
    pub signatures: BTreeMap<Vec<String>, u64>,
    /// Failing seeds whose set of bugs did not fit in `signatures`.
    pub signatures_other: u64,
    /// The causes of the sweep's bugs, when triaged (see the triage module).
    pub triage: Option<super::causes::Triage>,
}

/// Most distinct sets of bugs a summary counts.
pub const MAX_SIGNATURES: usize = 1000;

/// One distinct bug: its fingerprint, how many seeds hit it, and the smallest of them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BugGroup {
    pub fingerprint: String,
    pub invariant: String,
    pub seeds: u64,
    pub smallest: FailingSeed,
}

/// What a sweep keeps of one seed's run (the history stays in the worker).
#[derive(Default)]
struct Finished {
    seed: u64,
    violations: Vec<super::system::Violation>,
    /// Liveness not judged because the system was still working near the end.
    unsettled: bool,
    expectations: super::system::Tally,
    fabric: FabricCounters,
    nemesis: NemesisCounters,
    end: Duration,
    events: u64,
    check_times: Vec<(&'static str, Duration)>,
    trace_hash: Option<u64>,
    branch: Branch,
    coverage: Option<std::collections::BTreeSet<u64>>,
    drawn: u64,
    work: super::Work,
}

impl Finished {
    fn of<S: System>(outcome: super::run::RunOutcome<S>) -> Self {
        Finished {
            seed: outcome.seed,
            unsettled: matches!(outcome.liveness, super::run::Liveness::NotJudged { .. }),
            expectations: outcome.expectations,
            violations: outcome.violations,
            fabric: outcome.fabric,
            nemesis: outcome.nemesis,
            end: outcome.end,
            events: outcome.events,
            check_times: outcome.check_times,
            trace_hash: outcome.trace_hash,
            branch: Branch::default(),
            coverage: outcome.coverage,
            drawn: outcome.drawn,
            work: outcome.work,
        }
    }

    fn failed(&self) -> bool {
        !self.violations.is_empty()
    }

    /// The seed stops the sweep (`--fail-fast`, or it shows what `stop_on` names).
    fn stops(&self, options: &ExploreOptions) -> bool {
        self.failed() && (options.fail_fast || options.shows_stop(&self.violations))
    }
}

/// Seeds as `--seeds` and `TICKETSIM_SEEDS` write them: `A..B` (B excluded), `N` (the
/// first N, `0..N`), or `random` / `random:N` (N seeds, default 100, from a fresh random
/// start: the one choice not made by a seed, made before any run and printed, so every
/// failure stays replayable).
pub fn parse_seeds(text: &str) -> Result<SeedRange, String> {
    let text = text.trim();
    let bad = || format!("seeds {}: write A..B (B excluded), a count N, or random[:N]", super::echo(text));
    let number = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|_| format!("seeds {}: {} is not a whole number from 0 to {}", super::echo(text), super::echo(t.trim()), u64::MAX))
    };
    let (range, random) = if let Some(count) = text.strip_prefix("random") {
        let n = match count.strip_prefix(':') {
            Some(n) => number(n)?,
            None if count.is_empty() => 100,
            None => return Err(bad()),
        };
        let start = fresh_start().min(u64::MAX - n);
        (start..start + n, true)
    } else if let Some((a, b)) = text.split_once("..") {
        (number(a)?..number(b)?, false)
    } else {
        (0..number(text)?, false)
    };
    if range.start > range.end {
        let (a, b) = (range.start, range.end);
        return Err(format!("seeds {}: the range is backwards ({a} is after {b}); write {b}..{a}", super::echo(text)));
    }
    if range.is_empty() {
        return Err(format!("seeds {}: the range is empty; nothing to run", super::echo(text)));
    }
    Ok(SeedRange { range, random })
}

/// A parsed seed range, and whether its start was drawn at random.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedRange {
    pub range: Range<u64>,
    pub random: bool,
}

/// A random start seed (std's per-process random hasher keys; below 2^48 so it is short
/// to type).
fn fresh_start() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x7469_636b_6574);
    hasher.finish() >> 16
}

pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// The seeds of a sweep, computed on demand (never listed): the range, or one partition
/// of it. Workers take seeds with [`SeedPlan::next`] from a shared cursor.
#[derive(Clone, Copy, Debug)]
pub struct SeedPlan {
    start: u64,
    /// Positions the cursor walks: the seeds, or (hash) the whole range, filtered.
    width: u64,
    step: u64,
    /// Hash partitions: keep the seeds in bucket `.0` of `.1`.
    bucket: Option<(u64, u64)>,
    len: u64,
}

/// Past this width a hash partition's size is estimated, not counted.
const COUNTED_HASH_WIDTH: u64 = 1 << 24;

impl SeedPlan {
    pub fn of(options: &ExploreOptions) -> SeedPlan {
        let (start, width) = (options.seeds.start, options.seeds.end.saturating_sub(options.seeds.start));
        let whole = SeedPlan { start, width, step: 1, bucket: None, len: width };
        let Some(p) = options.partition else { return whole };
        let (index, count) = (p.index - 1, p.count);
        match p.kind {
            PartitionKind::Count => {
                let len = if index >= width { 0 } else { (width - index).div_ceil(count) };
                SeedPlan { start: start + index, width: len, step: count, bucket: None, len }
            }
            PartitionKind::Range => {
                let at = |k: u64| (u128::from(width) * u128::from(k) / u128::from(count)) as u64;
                let (from, to) = (at(index), at(index + 1));
                SeedPlan { start: start + from, width: to - from, step: 1, bucket: None, len: to - from }
            }
            PartitionKind::Hash => {
                let len = if width <= COUNTED_HASH_WIDTH {
                    (start..start + width).filter(|s| hash_bucket(*s, count) == index).count() as u64
                } else {
                    width / count
                };
                SeedPlan { start, width, step: 1, bucket: Some((index, count)), len }
            }
        }
    }

    /// How many seeds the plan runs (estimated for a hash partition of a range wider
    /// than 2^24).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next seed for a worker, moving the shared `cursor`; `None` once the plan is done.
    pub fn next(&self, cursor: &AtomicU64) -> Option<u64> {
        loop {
            let k = cursor.fetch_add(1, Ordering::Relaxed);
            if k >= self.width {
                return None;
            }
            let seed = self.start + k * self.step;
            match self.bucket {
                Some((index, count)) if hash_bucket(seed, count) != index => continue,
                _ => return Some(seed),
            }
        }
    }
}

impl ExploreSummary {
    /// Adds another summary of the same sweep (a partition's, for `merge`): counts add,
    /// limits stay ([`KEPT_PER_INVARIANT`], [`MAX_GROUPS`], [`MAX_SIGNATURES`]), each bug
    /// keeps its smallest seed. [`ExploreSummary::settle`] finishes the lists.
    pub fn absorb(&mut self, s: ExploreSummary, kept: &mut KeptFailing) {
        for (set, n) in s.signatures {
            if self.signatures.len() < MAX_SIGNATURES || self.signatures.contains_key(&set) {
                *self.signatures.entry(set).or_default() += n;
            } else {
                self.signatures_other += n;
            }
        }
        self.signatures_other += s.signatures_other;
        self.seeds_run += s.seeds_run;
        self.planned += s.planned;
        self.failing += s.failing;
        self.liveness_not_judged += s.liveness_not_judged;
        self.expectations.add(&s.expectations);
        self.ungrouped += s.ungrouped;
        self.fabric += s.fabric;
        self.nemesis += s.nemesis;
        self.work += s.work;
        self.virtual_time += s.virtual_time;
        self.wall = self.wall.max(s.wall);
        self.max_events = self.max_events.max(s.max_events);
        self.max_virtual_time = self.max_virtual_time.max(s.max_virtual_time);
        for (name, n) in s.counts {
            *self.counts.entry(name).or_default() += n;
        }
        for (name, took) in s.check_times {
            *self.check_times.entry(name).or_default() += took;
        }
        for (invariant, seeds) in s.by_invariant {
            let entry = kept.entry(invariant).or_default();
            for seed in seeds {
                entry.insert(seed.seed, seed);
            }
            while entry.len() > KEPT_PER_INVARIANT {
                entry.pop_last();
            }
        }
        for (fingerprint, group) in s.groups {
            let full = self.groups.len() >= MAX_GROUPS;
            match self.groups.get_mut(&fingerprint) {
                Some(known) => {
                    known.seeds += group.seeds;
                    if group.smallest.seed < known.smallest.seed {
                        known.smallest = group.smallest;
                    }
                }
                None if full => self.ungrouped += group.seeds,
                None => {
                    self.groups.insert(fingerprint, group);
                }
            }
        }
    }

    /// The failing seeds in order and the first failures per invariant, from what was
    /// kept per invariant.
    pub fn settle(&mut self, kept: KeptFailing) {
        let mut failing: Vec<u64> = kept.values().flat_map(|s| s.keys().copied()).collect();
        failing.sort();
        failing.dedup();
        self.failing_seeds = failing;
        self.by_invariant = kept.into_iter().map(|(k, v)| (k, v.into_values().collect())).collect();
    }

    /// Adds one seed's result; memory stays bounded ([`KEPT_PER_INVARIANT`], [`MAX_GROUPS`]).
    /// What it keeps of failing seeds it tells `view`, which the sweep's workers ask.
    fn record(&mut self, outcome: &Finished, keep_trace_hashes: bool, kept: &mut KeptFailing, view: &KeptSeeds) {
        self.seeds_run += 1;
        self.fabric += outcome.fabric;
        self.nemesis += outcome.nemesis;
        self.work += outcome.work;
        self.virtual_time += outcome.end;
        self.max_events = self.max_events.max(outcome.events);
        for (name, took) in &outcome.check_times {
            *self.check_times.entry(name).or_default() += *took;
        }
        self.max_virtual_time = self.max_virtual_time.max(outcome.end);
        self.liveness_not_judged += outcome.unsettled as u64;
        self.expectations.add(&outcome.expectations);
        if keep_trace_hashes {
            self.trace_hashes.insert(outcome.seed, outcome.trace_hash.unwrap_or_default());
        }
        if outcome.failed() {
            self.failing += 1;
            self.record_failing(outcome, kept, view);
        }
    }

    /// A failing seed: its bugs (groups, signatures) and its invariants (counts, the
    /// smallest seeds kept). A seed is shown only where `view` said it is kept, so its
    /// trace was hashed (`RunOptions::hash_if_kept`).
    fn record_failing(&mut self, outcome: &Finished, kept: &mut KeptFailing, view: &KeptSeeds) {
        let failing = |v: &super::system::Violation| {
            debug_assert!(outcome.trace_hash.is_some(), "seed {} shown without its trace hash", outcome.seed);
            FailingSeed {
                seed: outcome.seed,
                time: v.time,
                explanation: v.explanation.clone(),
                trace_hash: format!("{:016x}", outcome.trace_hash.unwrap_or_default()),
                branch: outcome.branch.clone(),
            }
        };
        let mut fingerprints = Vec::new();
        for v in &outcome.violations {
            let fingerprint = v.fingerprint();
            if fingerprints.contains(&fingerprint) {
                continue;
            }
            fingerprints.push(fingerprint.clone());
            let full = self.groups.len() >= MAX_GROUPS;
            match self.groups.get_mut(&fingerprint) {
                Some(group) => {
                    group.seeds += 1;
                    if outcome.seed < group.smallest.seed {
                        group.smallest = failing(v);
                        view.bug_seen(&fingerprint, outcome.seed);
                    }
                }
                None if full => self.ungrouped += 1,
                None => {
                    view.bug_seen(&fingerprint, outcome.seed);
                    let group =
                        BugGroup { fingerprint: fingerprint.clone(), invariant: v.invariant.to_string(), seeds: 1, smallest: failing(v) };
                    self.groups.insert(fingerprint, group);
                    if self.groups.len() >= MAX_GROUPS {
                        view.no_new_bugs();
                    }
                }
            }
        }
        fingerprints.sort();
        if self.signatures.len() < MAX_SIGNATURES || self.signatures.contains_key(&fingerprints) {
            *self.signatures.entry(fingerprints).or_default() += 1;
        } else {
            self.signatures_other += 1;
        }
        let mut seen = Vec::new();
        for v in outcome.violations.iter().filter(|v| {
            let first = !seen.contains(&v.invariant);
            seen.push(v.invariant);
            first
        }) {
            *self.counts.entry(v.invariant.to_string()).or_default() += 1;
            let seeds = kept.entry(v.invariant.to_string()).or_default();
            if seeds.len() < KEPT_PER_INVARIANT || seeds.last_key_value().is_some_and(|(&last, _)| outcome.seed < last) {
                seeds.insert(outcome.seed, failing(v));
                if seeds.len() > KEPT_PER_INVARIANT {
                    seeds.pop_last();
                }
                if let Some((&largest, _)) = seeds.last_key_value().filter(|_| seeds.len() == KEPT_PER_INVARIANT) {
                    view.invariant_full(v.invariant, largest);
                }
            }
        }
    }
}

/// Per invariant, its smallest failing seeds (at most [`KEPT_PER_INVARIANT`]).
pub type KeptFailing = BTreeMap<String, BTreeMap<u64, FailingSeed>>;

/// Sweeps a scenario; see [`explore_with`].
pub fn explore<S: System>(scenario: &S::Scenario, options: &ExploreOptions) -> ExploreSummary {
    explore_with::<S>(scenario, options, &mut |_, _| {})
}

/// Sweeps a scenario on `options.jobs` threads, one fresh runtime per seed; after each
/// seed, `progress` sees the summary so far and the number of seeds planned. Seeds are
/// handed out lazily and results come back over a bounded channel, so memory does not
/// grow with the range.
pub fn explore_with<S: System>(
    scenario: &S::Scenario,
    options: &ExploreOptions,
    progress: &mut dyn FnMut(&ExploreSummary, u64),
) -> ExploreSummary {
    if S::options(scenario).strategy == Strategy::Coverage {
        return explore_coverage::<S>(scenario, options, progress);
    }
    let started = Instant::now();
    let plan = SeedPlan::of(options);
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let exhausted = AtomicBool::new(false);
    let jobs = options.jobs.max(1).min(plan.len().max(1) as usize);
    let (tx, rx) = mpsc::sync_channel::<Vec<Finished>>(jobs * 2);
    let mut summary = ExploreSummary::default();
    let mut kept = KeptFailing::new();
    let kept_seeds = Arc::new(KeptSeeds::default());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (tx, next, stop, exhausted, kept_seeds) = (tx.clone(), &next, &stop, &exhausted, &kept_seeds);
            scope.spawn(move || {
                let mut batch = Batch::new(tx);
                while !stop.load(Ordering::Relaxed) && !super::interrupt::stop_requested() {
                    let Some(seed) = plan.next(next) else {
                        exhausted.store(true, Ordering::Relaxed);
                        break;
                    };
                    let run = RunOptions {
                        hash_trace: options.keep_trace_hashes,
                        hash_if_kept: Some(kept_seeds.clone()),
                        require_judged: options.require_judged,
                        ..RunOptions::default()
                    };
                    let finished = Finished::of(run_seed::<S>(scenario, seed, &run));
                    let stops = finished.stops(options);
                    if batch.push(finished, stops).is_err() {
                        return;
                    }
                }
                let _ = batch.send();
            });
        }
        drop(tx);
        // Seeds are handed out in order; a worker may have started larger ones before it
        // saw the stop. They are not part of the sweep that stopped: a stopped sweep
        // reports the seeds up to the one that stopped it (and smaller ones in flight).
        let mut stopped_at: Option<u64> = None;
        for outcome in rx.into_iter().flatten() {
            if stopped_at.is_some_and(|at| outcome.seed > at) {
                continue;
            }
            summary.record(&outcome, options.keep_trace_hashes, &mut kept, &kept_seeds);
            if outcome.stops(options) {
                stop.store(true, Ordering::Relaxed);
                stopped_at = Some(stopped_at.map_or(outcome.seed, |at| at.min(outcome.seed)));
            }
            progress(&summary, plan.len());
        }
    });
    finish(summary, kept, started, plan.len(), exhausted.load(Ordering::Relaxed))
}

/// A worker's finished seeds not yet sent to the sweep's thread. A send wakes that
/// thread, a system call (1.6% of an order-race sweep's time when each seed woke it), so
/// a worker sends at most [`BATCH`] seeds at once: when the batch is full, with the first
/// seed it finishes [`BATCH_WAIT`] or more after its last send, and when it stops; a seed
/// that stops the sweep goes at once.
struct Batch {
    tx: mpsc::SyncSender<Vec<Finished>>,
    seeds: Vec<Finished>,
    since: Instant,
}

/// The most finished seeds a worker sends at once.
const BATCH: usize = 32;

/// How long after its last send a worker sends the next seed it finishes, the batch
/// full or not (the sweep's progress moves at least that often while seeds finish).
const BATCH_WAIT: Duration = Duration::from_millis(50);

impl Batch {
    fn new(tx: mpsc::SyncSender<Vec<Finished>>) -> Batch {
        Batch { tx, seeds: Vec::with_capacity(BATCH), since: Instant::now() }
    }

    /// Adds a finished seed; sends the batch when it is full, old or `urgent`. `Err`
    /// when the sweep's thread is gone.
    fn push(&mut self, finished: Finished, urgent: bool) -> Result<(), ()> {
        self.seeds.push(finished);
        if urgent || self.seeds.len() >= BATCH || self.since.elapsed() >= BATCH_WAIT {
            return self.send();
        }
        Ok(())
    }

    /// Sends what is kept, if anything.
    fn send(&mut self) -> Result<(), ()> {
        self.since = Instant::now();
        if self.seeds.is_empty() {
            return Ok(());
        }
        let seeds = std::mem::replace(&mut self.seeds, Vec::with_capacity(BATCH));
        self.tx.send(seeds).map_err(|_| ())
    }
}

/// The summary once the last seed is in: failing seeds in order, timings, partial.
fn finish(mut summary: ExploreSummary, kept: KeptFailing, started: Instant, planned: u64, exhausted: bool) -> ExploreSummary {
    summary.settle(kept);
    summary.wall = started.elapsed();
    summary.planned = planned;
    summary.partial = !exhausted && super::interrupt::stop_requested();
    summary
}

/// Runs per generation of a coverage sweep. A generation's runs branch from the corpus
/// as it was when the generation began, and join it in seed order when all are in, so
/// the sweep is the same whatever the number of threads.
pub const GENERATION: usize = 32;
/// Most runs kept in a coverage corpus.
pub const MAX_CORPUS: usize = 128;

/// A run of the corpus: it reached abstract states no earlier run had.
struct CorpusRun {
    seed: u64,
    branch: Branch,
    /// How many decisions it drew.
    drawn: u64,
}

/// How a coverage sweep runs `seed`: fresh (every other seed, or while the corpus is
/// empty), or branched from a corpus run: the same run for its first 10% to 95% of
/// decisions, then its own. Decided by a hash of the seed alone, so the same seed with
/// the same corpus branches the same way.
fn branch_for(seed: u64, corpus: &[CorpusRun]) -> Branch {
    let r = hash_bucket(seed, u64::MAX);
    if corpus.is_empty() || r.is_multiple_of(2) {
        return Branch::default();
    }
    let parent = &corpus[((r >> 1) % corpus.len() as u64) as usize];
    if parent.branch.0.len() >= super::strategy::MAX_BRANCH {
        return Branch::default();
    }
    let permille = 100 + (r >> 20) % 851;
    let cut = (parent.drawn * permille / 1000).min(u32::MAX as u64);
    parent.branch.then(parent.seed, cut as u32)
}

/// A coverage-guided sweep (`strategy = "coverage"`): runs that reach new abstract
/// states ([`System::coverage`]) join a corpus, and later runs branch from prefixes of
/// their recorded choices. Each failing run is reported with its branch.
fn explore_coverage<S: System>(
    scenario: &S::Scenario,
    options: &ExploreOptions,
    progress: &mut dyn FnMut(&ExploreSummary, u64),
) -> ExploreSummary {
    let started = Instant::now();
    let plan = SeedPlan::of(options);
    let next = AtomicU64::new(0);
    let mut summary = ExploreSummary::default();
    let mut kept = KeptFailing::new();
    let kept_seeds = Arc::new(KeptSeeds::default());
    let mut corpus: Vec<CorpusRun> = Vec::new();
    let mut reached: BTreeSet<u64> = BTreeSet::new();
    let mut exhausted = false;
    let mut stop = false;
    while !stop && !super::interrupt::stop_requested() {
        let seeds: Vec<u64> = std::iter::from_fn(|| plan.next(&next)).take(GENERATION).collect();
        if seeds.len() < GENERATION {
            exhausted = true;
        }
        if seeds.is_empty() {
            break;
        }
        let runs: Vec<(u64, Branch)> = seeds.iter().map(|&seed| (seed, branch_for(seed, &corpus))).collect();
        let results: Vec<std::sync::Mutex<Option<Finished>>> = runs.iter().map(|_| std::sync::Mutex::new(None)).collect();
        let cursor = AtomicU64::new(0);
        std::thread::scope(|scope| {
            for _ in 0..options.jobs.max(1).min(runs.len()) {
                scope.spawn(|| loop {
                    let i = cursor.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some((seed, branch)) = runs.get(i) else { break };
                    let run = RunOptions {
                        hash_trace: options.keep_trace_hashes,
                        hash_if_kept: Some(kept_seeds.clone()),
                        coverage: true,
                        branch: branch.clone(),
                        require_judged: options.require_judged,
                        ..RunOptions::default()
                    };
                    let mut finished = Finished::of(run_seed::<S>(scenario, *seed, &run));
                    finished.branch = branch.clone();
                    *results[i].lock().unwrap() = Some(finished);
                });
            }
        });
        for result in results {
            let Some(mut finished) = result.into_inner().unwrap() else { continue };
            summary.record(&finished, options.keep_trace_hashes, &mut kept, &kept_seeds);
            let new = finished.coverage.take().unwrap_or_default().into_iter().filter(|f| reached.insert(*f)).count();
            if new > 0 {
                let entry = CorpusRun { seed: finished.seed, branch: finished.branch.clone(), drawn: finished.drawn };
                if corpus.len() < MAX_CORPUS {
                    corpus.push(entry);
                } else {
                    let slot = (hash_bucket(finished.seed ^ 0x5eed, u64::MAX) % MAX_CORPUS as u64) as usize;
                    corpus[slot] = entry;
                }
            }
            summary.coverage = reached.len() as u64;
            summary.corpus = corpus.len() as u64;
            if finished.stops(options) {
                stop = true;
            }
            progress(&summary, plan.len());
        }
    }
    finish(summary, kept, started, plan.len(), exhausted)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeds of a made-up sweep: none to two violations of three invariants, with bugs
    /// of 2,100 shapes (past [`MAX_GROUPS`]).
    fn made_up(seed: u64) -> Vec<super::super::system::Violation> {
        let r = super::super::choices::splitmix64(seed);
        let violation = |i: u64| super::super::system::Violation {
            invariant: ["a", "b", "c"][((r >> (8 + i)) % 3) as usize],
            time: Duration::ZERO,
            records: Vec::new(),
            explanation: format!("bug {}", "x".repeat(((r >> (16 + i)) % 700) as usize)),
            evidence: Vec::new(),
        };
        (0..r % 3).map(violation).collect()
    }

    #[test]
    fn a_seed_a_sweep_shows_was_kept_when_its_worker_asked() {
        let (mut summary, mut kept, view) = (ExploreSummary::default(), KeptFailing::new(), KeptSeeds::default());
        let mut pending = std::collections::VecDeque::new();
        let mut hashed = 0;
        // A seed is asked about as it starts, and recorded up to 40 seeds later, in no
        // order; the seeds start in no order either (a sweep starts them in order, which
        // would leave most of the rules untested).
        let mut seeds: Vec<u64> = (0..3_000).collect();
        for i in (1..seeds.len()).rev() {
            seeds.swap(i, (super::super::choices::splitmix64(i as u64) % (i as u64 + 1)) as usize);
        }
        for seed in seeds {
            let violations = made_up(seed);
            let keeps = view.keeps(seed, &violations);
            hashed += (keeps && !violations.is_empty()) as u64;
            pending.push_back(Finished { seed, violations, trace_hash: keeps.then_some(seed + 1), ..Finished::default() });
            if pending.len() > 40 {
                let done = pending.remove((super::super::choices::splitmix64(!seed) % 40) as usize).unwrap();
                summary.record(&done, false, &mut kept, &view);
            }
        }
        pending.iter().for_each(|done| summary.record(done, false, &mut kept, &view));
        summary.settle(kept);
        assert!(summary.ungrouped > 0 && summary.counts.values().all(|&n| n > KEPT_PER_INVARIANT as u64), "{summary:?}");
        let shown = summary.by_invariant.values().flatten().chain(summary.groups.values().map(|g| &g.smallest));
        for failing in shown {
            assert_eq!(failing.trace_hash, format!("{:016x}", failing.seed + 1), "seed {} shown, not hashed", failing.seed);
        }
        // 924 of 2,001 here; 1,887 if the summary never says that the list of bugs is full.
        assert!(hashed * 10 < summary.failing * 6, "{hashed} of {} failing seeds hashed", summary.failing);
    }

    #[test]
    fn a_worker_sends_its_seeds_when_a_batch_is_full_or_one_stops_the_sweep() {
        let (tx, rx) = mpsc::sync_channel(4);
        let mut batch = Batch::new(tx);
        // Far from the wait's end: only fullness and urgency send.
        batch.since = Instant::now() + Duration::from_secs(3600);
        let seed = |seed| Finished { seed, ..Finished::default() };
        for n in 0..3 {
            batch.push(seed(n), false).unwrap();
        }
        assert!(rx.try_recv().is_err(), "three seeds are kept back");
        batch.push(seed(3), true).unwrap();
        let sent: Vec<u64> = rx.try_recv().unwrap().iter().map(|f| f.seed).collect();
        assert_eq!(sent, [0, 1, 2, 3], "a seed that stops the sweep goes at once, after those before it");
        batch.since = Instant::now() + Duration::from_secs(3600);
        for n in 0..BATCH as u64 {
            batch.push(seed(10 + n), false).unwrap();
        }
        assert_eq!(rx.try_recv().unwrap().len(), BATCH, "a full batch goes");
        batch.since = Instant::now() + Duration::from_secs(3600);
        batch.push(seed(99), false).unwrap();
        assert!(rx.try_recv().is_err());
        batch.send().unwrap();
        assert_eq!(rx.try_recv().unwrap()[0].seed, 99, "the rest goes when the worker ends");
        batch.send().unwrap();
        assert!(rx.try_recv().is_err(), "an empty batch is not sent");
        batch.since = Instant::now().checked_sub(BATCH_WAIT).expect("the clock is past its origin");
        batch.push(seed(101), false).unwrap();
        assert_eq!(rx.try_recv().unwrap()[0].seed, 101, "a seed finished long after the last send goes");
        drop(rx);
        assert!(batch.push(seed(100), true).is_err(), "the sweep's thread is gone");
    }

    #[test]
    fn seeds_are_a_range_a_count_or_a_random_start() {
        assert_eq!(parse_seeds("5..9").unwrap(), SeedRange { range: 5..9, random: false });
        assert_eq!(parse_seeds("300").unwrap().range, 0..300);
        let random = parse_seeds("random:50").unwrap();
        assert!(random.random && random.range.end - random.range.start == 50);
        assert_eq!(parse_seeds("random").unwrap().range.clone().count(), 100);
        assert!(parse_seeds("9..9").unwrap_err().contains("empty"));
        assert!(parse_seeds("5..1").unwrap_err().contains("the range is backwards (5 is after 1); write 1..5"));
        assert!(parse_seeds("x").unwrap_err().contains("is not a whole number"));
        assert!(parse_seeds("random:x").is_err() && parse_seeds("randomly").is_err());
        assert_eq!(parse_seeds("18446744073709551614..18446744073709551615").unwrap().range.count(), 1);
    }

    fn all(options: &ExploreOptions) -> Vec<u64> {
        let plan = SeedPlan::of(options);
        let cursor = AtomicU64::new(0);
        std::iter::from_fn(|| plan.next(&cursor)).collect()
    }

    #[test]
    fn a_seed_plan_lists_its_range_or_its_partition_without_storing_them() {
        assert_eq!(all(&ExploreOptions::new(3..7)), vec![3, 4, 5, 6]);
        let part = |text: &str| all(&ExploreOptions { partition: Some(Partition::parse(text).unwrap()), ..ExploreOptions::new(10..20) });
        assert_eq!(part("count:1/3"), vec![10, 13, 16, 19]);
        assert_eq!(part("count:3/3"), vec![12, 15, 18]);
        assert_eq!(part("count:6/20"), vec![15]);
        assert!(part("count:16/20").is_empty());
        assert_eq!(part("1/3"), vec![10, 11, 12]);
        assert_eq!(part("range:3/3"), vec![16, 17, 18, 19]);
        let huge = SeedPlan::of(&ExploreOptions::new(0..u64::MAX));
        assert_eq!(huge.len(), u64::MAX);
    }

    #[test]
    fn the_partitions_of_each_kind_cover_a_range_exactly_once() {
        for kind in ["count", "hash", "range"] {
            let mut seen: Vec<u64> = Vec::new();
            for m in 1..=7 {
                let options = ExploreOptions {
                    partition: Some(Partition::parse(&format!("{kind}:{m}/7")).unwrap()),
                    ..ExploreOptions::new(100..1100)
                };
                let seeds = all(&options);
                assert_eq!(SeedPlan::of(&options).len(), seeds.len() as u64, "{kind}");
                seen.extend(seeds);
            }
            seen.sort();
            assert_eq!(seen, (100..1100).collect::<Vec<_>>(), "{kind}");
        }
        assert!(Partition::parse("0/4").is_err() && Partition::parse("5/4").is_err() && Partition::parse("x:1/2").is_err());
        assert_eq!(Partition::parse("hash:2/8").unwrap().to_string(), "hash:2/8");
    }
}
