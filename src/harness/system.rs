//! The contract between the harness and a system under test. A system says what a
//! scenario of it is, which nodes it runs and how each starts (again, after a crash),
//! what its users do, what state it leaves, and which invariants must hold. The harness
//! does the rest: network, faults, time, history, sweeps, shrinking.

use super::fabric::{Describe, NodeId};
use super::history::{Entry, Observation};
use super::nemesis::NemesisConfig;
use super::world::WorldBuilder;
use super::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// A system under test.
pub trait System: Send + Sync + Sized + 'static {
    /// Everything a run is configured by (a scenario file, once parsed).
    type Scenario: Clone + Send + Sync + 'static;
    /// What crosses the fabric between the system's nodes.
    type Message: Clone + Send + Describe + 'static;
    /// What the system's infrastructure reports (beyond what the harness records itself).
    type Obs: Observation;
    /// What a run leaves behind, read after the quiet phase.
    type Final: Send + Sync + 'static;

    /// The harness's settings for a run of this scenario.
    fn options(scenario: &Self::Scenario) -> SimOptions;

    /// Declares the system's nodes (each with how it starts in every incarnation), its
    /// stores and its users node. Called once per run, inside the runtime.
    fn build(scenario: &Self::Scenario, world: &mut WorldBuilder<Self::Message, Self::Obs>) -> Arc<Self>;

    /// The users' work; runs on the users node until it has issued every request.
    fn workload(self: Arc<Self>) -> BoxFuture;

    /// True while `node` serves a user request (faults may be told to spare it).
    fn serving(&self, _node: NodeId) -> bool {
        false
    }

    /// Reads the final states, after the quiet phase.
    fn final_state(&self) -> Self::Final;

    /// The invariants judged on every run.
    fn invariants() -> &'static [Invariant<Self>];

    /// The scenario's own expectations, each judged or not on the run (counted in every
    /// report; the invariant that checks them turns failures and unjudged ones into
    /// violations, reading them from [`Check::expectations`]). Called once per run, with
    /// `check.expectations` still empty. Default: none.
    fn expectations(_check: &Check<Self>) -> Vec<Judgement> {
        Vec::new()
    }

    /// Simplifications `shrink` may try on a scenario, each returning `None` when it
    /// does not apply. Each must keep the scenario valid or be rejected by `is_valid`.
    /// With `liveness`, the bug is a liveness violation: the quiet phase must stay long
    /// enough for liveness to be judged.
    fn simplifications(scenario: &Self::Scenario, liveness: bool) -> Vec<Simplification<Self::Scenario>>;

    /// Whether a (simplified) scenario is still one the system accepts.
    fn is_valid(scenario: &Self::Scenario) -> Result<(), String>;

    /// The reproduction a scenario carries (a file written by `shrink`), if any.
    fn reproduction(scenario: &Self::Scenario) -> Option<&Reproduce>;

    /// The scenario carrying `reproduce`.
    fn with_reproduction(scenario: &Self::Scenario, reproduce: Option<Reproduce>) -> Self::Scenario;

    /// The bug switches the scenario has on, each with the scenario that has only that
    /// one switched off (`shrink` verifies which ones its reproduction needs).
    fn bug_switches(scenario: &Self::Scenario) -> Vec<(String, Self::Scenario)>;

    /// The scenario with every bug switch off.
    fn without_bugs(scenario: &Self::Scenario) -> Self::Scenario;

    /// Each record's final state as text, by a name that says what it is (`ticket T1`),
    /// for showing which records two runs leave differently. Default: none.
    fn record_states(_final_state: &Self::Final) -> std::collections::BTreeMap<String, String> {
        Default::default()
    }

    /// The abstract states a run reached, as hashes ([`super::strategy::feature`]), once
    /// per time reached, for the coverage-guided strategy (see [`super::strategy`]): what
    /// a run did that another run may not have (a handler's outcome, a redelivery, a
    /// record's status change, a version gap). The harness counts them in buckets (1, 2,
    /// 3, 4-7, 8-15, ...), as AFL counts edges; a run that adds a (state, bucket) to the
    /// corpus's set is kept to branch from. The default, the store calls made and the
    /// faults inflicted, knows nothing of the system.
    fn coverage(entries: &[Entry<Self::Obs>], out: &mut Vec<u64>) {
        for entry in entries {
            match &entry.record {
                super::history::Record::Store { store, call, wrote, .. } => out.push(super::strategy::feature(&(store, call, wrote.len()))),
                super::history::Record::Fault { event, .. } => out.push(super::strategy::feature(&event.name())),
                _ => {}
            }
        }
    }
}

/// The per-message faults of the network.
#[derive(Clone, Debug)]
pub struct NetworkOptions {
    pub drop_probability: f64,
    pub duplicate_probability: f64,
    pub delay: (Duration, Duration),
    /// The delay of a copy on a link touching the users' node, when it differs from
    /// `delay` (requests sent together can then arrive together, as a script means them to).
    pub user_delay: Option<(Duration, Duration)>,
}

impl Default for NetworkOptions {
    /// Nothing dropped or duplicated; every copy delayed 1 to 10 ms.
    fn default() -> Self {
        NetworkOptions {
            drop_probability: 0.0,
            duplicate_probability: 0.0,
            delay: (Duration::from_millis(1), Duration::from_millis(10)),
            user_delay: None,
        }
    }
}

impl Default for SimOptions {
    /// A run with no faults: 10 s of work, 10 s quiet, settled after 2 s without
    /// progress, within 10 minutes of virtual time and a million events, the uniform
    /// strategy. A system sets what differs (`SimOptions { fault_phase, nemesis,
    /// ..Default::default() }`), as turmoil's `Builder` starts from defaults.
    fn default() -> Self {
        let s = Duration::from_secs;
        SimOptions {
            network: NetworkOptions::default(),
            nemesis: NemesisConfig::default(),
            fault_phase: s(10),
            quiet_phase: s(10),
            settle_window: s(2),
            spare_serving_nodes: false,
            not_judged: Vec::new(),
            budget: Budget { virtual_time: s(600), events: 1_000_000 },
            strategy: Default::default(),
        }
    }
}

/// The harness's settings of a run, as a system derives them from its scenario. One
/// plain struct, printed by `replay`.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub network: NetworkOptions,
    pub nemesis: NemesisConfig,
    /// Workload and faults run this long.
    pub fault_phase: Duration,
    /// Then no faults, for this long after the workload has finished.
    pub quiet_phase: Duration,
    /// The system has settled once nothing made progress for this long (the longest
    /// of its retry periods plus its slowest handler); liveness is judged only then.
    pub settle_window: Duration,
    /// Crashes and pauses wait until the node serves no user request.
    pub spare_serving_nodes: bool,
    /// Invariants this scenario does not judge (a script that plays another service's
    /// part by publishing its events itself, say).
    pub not_judged: Vec<String>,
    /// How far one run may go before it is stopped and reported as a runaway.
    pub budget: Budget,
    /// How runs choose among what the bounds allow (see [`super::strategy`]).
    pub strategy: super::strategy::Strategy,
}

/// The limits of one run: past either, the run stops and is reported as `runaway`
/// (with its seed, virtual time and events), and a sweep goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The virtual time a run may reach.
    pub virtual_time: Duration,
    /// The events a run may record (see [`super::history::History::events`]).
    pub events: u64,
}

/// What a reproduction file adds to its scenario: the seed, the bug it shows, and the
/// recorded choices to replay.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Reproduce {
    /// How the decisions are written: [`super::choices::RECORD_FORMAT`] (keyed). A file
    /// without it was written before decisions were keyed, and cannot be replayed.
    #[serde(default)]
    pub format: u32,
    #[serde(with = "wide")]
    pub seed: u64,
    pub invariant: String,
    /// The bug's fingerprint (see [`Violation::fingerprint`]): the run must show this very
    /// bug, not just its invariant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Per decision site, the decisions to replay by key (`KEY.OCCURRENCE=VALUE`); every
    /// decision not listed draws 0.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "wide_choices")]
    pub choices: Option<super::choices::Record>,
    /// A coverage run's branch (see [`super::strategy::Branch`]), when `choices` is not given.
    #[serde(default, skip_serializing_if = "super::strategy::Branch::is_empty")]
    pub branch: super::strategy::Branch,
    /// The plan the run drew (see [`super::plan`]), as `run` prints it, one line each:
    /// for reading, and for `run` to say when this build draws another.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<String>,
    /// A schedule found by exhaustive exploration (`check --exhaustive`): the run is in
    /// schedule mode, these picks its steps (every other decision its simplest value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleRecord>,
}

/// A schedule as a reproduction file keeps it: the fault budget and crash points it was
/// found under (the options of each step depend on them) and, for each step that did
/// not take its first option (the oldest waiting delivery or call), `[step, option]`,
/// steps counted from 0.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRecord {
    pub max_faults: u32,
    /// Where a crash could fall (left out: before every step).
    #[serde(default, skip_serializing_if = "super::schedule::CrashPoints::is_every_step")]
    pub crash_points: super::schedule::CrashPoints,
    pub picks: Vec<[u32; 2]>,
}

impl ScheduleRecord {
    /// The record of a schedule's picks (every step's option index).
    pub fn of(max_faults: u32, crash_points: super::schedule::CrashPoints, picks: &[usize]) -> ScheduleRecord {
        let picks = picks.iter().enumerate().filter(|(_, p)| **p > 0).map(|(step, p)| [step as u32, *p as u32]).collect();
        ScheduleRecord { max_faults, crash_points, picks }
    }

    /// Every step's option index, up to the last that is not the first; None when the
    /// file's steps are not in order or one is past [`super::schedule::MAX_STEPS`].
    pub fn picks(&self) -> Option<Vec<usize>> {
        let mut picks = Vec::new();
        for [step, option] in &self.picks {
            let step = *step as usize;
            if step < picks.len() || step >= super::schedule::MAX_STEPS {
                return None;
            }
            picks.resize(step, 0);
            picks.push(*option as usize);
        }
        Some(picks)
    }
}

/// A `u64` in a format whose integers are `i64` (TOML): an integer when it fits, else
/// its decimal digits as a string; both are read back. Seeds are full `u64` in files too.
pub mod wide {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
        match i64::try_from(*n) {
            Ok(small) => s.serialize_i64(small),
            Err(_) => s.serialize_str(&n.to_string()),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Int(i64),
        Text(String),
    }

    /// Reads one value as [`serialize`] writes it.
    pub fn read<E: serde::de::Error>(w: WrittenU64) -> Result<u64, E> {
        match w.0 {
            Written::Int(n) => u64::try_from(n).map_err(|_| E::custom(format!("{n}; allowed: 0 to {}", u64::MAX))),
            Written::Text(t) => {
                t.parse().map_err(|_| E::custom(format!("{}; allowed: a whole number, 0 to {}", crate::harness::echo(&t), u64::MAX)))
            }
        }
    }

    /// A `u64` as written in a file.
    #[derive(Deserialize)]
    #[serde(transparent)]
    pub struct WrittenU64(Written);

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        read(WrittenU64::deserialize(d)?)
    }
}

/// Why a reproduction of another format cannot be replayed, and what to do.
pub fn old_format_message(format: u32) -> String {
    let made_by = match format {
        0 | 1 => "ticketsim 0.1 (format 1: decisions drawn in sequence, by position)".to_string(),
        n => format!("a ticketsim of format {n}"),
    };
    format!(
        "this reproduction was written by {made_by}; this build ({}) replays format {} (decisions keyed by what they decide), and a run of the old format is another run here: shrink the original failing seed again with this build",
        env!("CARGO_PKG_VERSION"),
        super::choices::RECORD_FORMAT
    )
}

/// A choices record as a file holds it: per site, `KEY.OCCURRENCE=VALUE` entries.
mod wide_choices {
    use super::super::choices::{read_entry, write_entry, Record, Site};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(record: &Option<Record>, s: S) -> Result<S::Ok, S::Error> {
        let written: Option<BTreeMap<Site, Vec<String>>> = record.as_ref().map(|r| {
            let mut by_site: BTreeMap<Site, Vec<String>> = BTreeMap::new();
            for ((site, key, occurrence), value) in r {
                by_site.entry(*site).or_default().push(write_entry(*key, *occurrence, *value));
            }
            by_site
        });
        written.serialize(s)
    }

    /// An entry as written: keyed (this format) or a bare number (format 1).
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Keyed(String),
        Positional(serde::de::IgnoredAny),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Record>, D::Error> {
        let written = Option::<BTreeMap<Site, Vec<Entry>>>::deserialize(d)?;
        written
            .map(|r| {
                let mut record = Record::new();
                for (site, entries) in r {
                    for entry in entries {
                        let entry = match entry {
                            Entry::Keyed(text) => text,
                            Entry::Positional(_) => return Err(serde::de::Error::custom(super::old_format_message(1))),
                        };
                        let (key, occurrence, value) = read_entry(&entry).map_err(serde::de::Error::custom)?;
                        record.insert((site, key, occurrence), value);
                    }
                }
                Ok(record)
            })
            .transpose()
    }
}

/// One expectation a scenario states (a step's response, a record's state at a time),
/// as a run judged it. One that could not be judged is never a silent pass: it fails
/// the run unless the scenario marked it optional, and every report counts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// What it is, as reports name it (`step 4 (cancel-o1)`).
    pub label: String,
    /// When it was due (a step's time, a record expectation's `at`).
    pub time: Duration,
    pub verdict: Verdict,
    /// The scenario lets it go unjudged (counted, not a failure).
    pub optional: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// What differed.
    Failed(String),
    /// Why it could not be judged (a record it names was never created, say).
    NotJudged(String),
}

/// How a run's expectations fared: judged (passed + failed) and not judged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub judged: u64,
    pub passed: u64,
    pub failed: u64,
    pub not_judged: u64,
}

impl Tally {
    pub fn of(judgements: &[Judgement]) -> Tally {
        let mut tally = Tally::default();
        for j in judgements {
            match j.verdict {
                Verdict::Passed => tally.passed += 1,
                Verdict::Failed(_) => tally.failed += 1,
                Verdict::NotJudged(_) => tally.not_judged += 1,
            }
        }
        tally.judged = tally.passed + tally.failed;
        tally
    }

    pub fn add(&mut self, other: &Tally) {
        self.judged += other.judged;
        self.passed += other.passed;
        self.failed += other.failed;
        self.not_judged += other.not_judged;
    }

    pub fn is_empty(&self) -> bool {
        self.judged + self.not_judged == 0
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} judged ({} passed, {} failed), {} not judged", self.judged, self.passed, self.failed, self.not_judged)
    }
}

/// One way to make a scenario smaller: `None` when it does not apply.
pub type Simplification<Sc> = Box<dyn Fn(&Sc) -> Option<Sc>>;

/// Safety invariants must hold at every point of the history; liveness ones are
/// judged on the final states, and only when the system had settled (see
/// the run's liveness verdict).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvariantKind {
    Safety,
    Liveness,
}

/// A named property: a one-line meaning and a pure function of what a run recorded.
pub struct Invariant<S: System> {
    pub name: &'static str,
    pub meaning: &'static str,
    pub kind: InvariantKind,
    /// Whether the invariant can say anything about this scenario (e.g. it needs a
    /// service the scenario does not run). One that cannot is skipped, not passed.
    pub applies: fn(&S::Scenario) -> bool,
    pub check: fn(&Check<S>) -> Vec<Violation>,
}

/// What an invariant is judged on.
pub struct Check<'a, S: System> {
    pub entries: &'a [Entry<S::Obs>],
    /// The entries that wrote to a store, in history order (gathered once per run: most
    /// invariants read only the writes, a fraction of the history).
    pub written: &'a [&'a Entry<S::Obs>],
    pub final_state: &'a S::Final,
    pub scenario: &'a S::Scenario,
    /// When the quiet phase began, and when the run ended.
    pub quiet_start: Duration,
    pub end: Duration,
    /// How long with no progress shows the system settled (liveness judges only what
    /// had this long to happen).
    pub settle_window: Duration,
    /// The scenario's own expectations as judged on this run ([`System::expectations`],
    /// computed once per run): the invariant that checks them reads them here.
    pub expectations: &'a [Judgement],
}

impl<'a, S: System> Check<'a, S> {
    /// The entries of `entries` that wrote to a store, for [`Check::written`].
    pub fn written_in(entries: &'a [Entry<S::Obs>]) -> Vec<&'a Entry<S::Obs>> {
        entries.iter().filter(|e| !e.wrote().is_empty()).collect()
    }
}

/// A broken invariant: which, when (virtual time), the records involved, and a
/// one-line explanation a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub invariant: &'static str,
    /// When it was broken (as JSON: `virtual_time`, seconds).
    #[serde(rename = "virtual_time", serialize_with = "ser_duration")]
    pub time: Duration,
    pub records: Vec<String>,
    pub explanation: String,
    /// The history entries that make the violation (the conflicting writes, say), by
    /// index, when the invariant knows them; empty when it does not (a diagram then
    /// derives them from the records). Not part of a report's JSON.
    #[serde(skip)]
    pub evidence: Vec<usize>,
}

pub fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Violation {
    pub fn new(invariant: &'static str, time: Duration, records: Vec<String>, explanation: String) -> Self {
        Violation { invariant, time, records, explanation, evidence: Vec::new() }
    }

    /// The same violation, naming the history entries that make it.
    pub fn with_evidence(mut self, entries: Vec<usize>) -> Self {
        self.evidence = entries;
        self
    }

    /// The bug's fingerprint: the invariant plus the shape of the explanation, with
    /// record ids, numbers and quoted values blanked, so the seeds that hit one bug group
    /// together whatever ids and versions each run gave its records.
    pub fn fingerprint(&self) -> String {
        let mut shape = String::new();
        let mut chars = self.explanation.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                for d in chars.by_ref() {
                    if d == '"' {
                        break;
                    }
                }
                shape.push('…');
            } else if c.is_ascii_digit() || ((c.is_ascii_uppercase() || c == '-') && chars.peek().is_some_and(|n| n.is_ascii_digit())) {
                while chars.peek().is_some_and(|n| n.is_ascii_digit() || *n == '.') {
                    chars.next();
                }
                if !shape.ends_with('#') {
                    shape.push('#');
                }
            } else {
                shape.push(c);
            }
        }
        format!("{}: {shape}", self.invariant)
    }
}

#[cfg(test)]
mod tests {
    use super::Violation;
    use std::time::Duration;

    #[test]
    fn fingerprints_ignore_ids_numbers_and_values_but_not_the_shape() {
        let v = |e: &str| Violation::new("no-double-reservation", Duration::ZERO, vec![], e.into()).fingerprint();
        assert_eq!(
            v("ticket T1 is held by 2 non-cancelled orders at once: O1, O2"),
            v("ticket T12 is held by 3 non-cancelled orders at once: O7, O9")
        );
        assert_ne!(v("ticket T1 is held by 2 non-cancelled orders at once: O1, O2"), v("ticket T1 was paid for by two orders: O1, O2"));
        assert_eq!(v(r#"replica is v2 "a" 3"#), v(r#"replica is v7 "b" 9"#));
    }
}
