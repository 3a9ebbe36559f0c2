//! JSON reports (`--format json`): serde over the same values the text reports show,
//! each one document with `schema_version` and `kind` (docs/report.schema.json). Virtual
//! times are `virtual_time`, in seconds; whatever is kept only in part says so.

/// The version of the JSON reports' shape; it changes when a field is renamed or removed.
pub const SCHEMA_VERSION: u32 = 1;

/// One report: `schema_version`, `kind`, and the fields of `body` (an object).
pub fn document(kind: &str, body: impl Serialize) -> Result<String, String> {
    let mut value = serde_json::to_value(body).map_err(|e| e.to_string())?;
    let Some(fields) = value.as_object_mut() else { return Err(format!("a {kind} report is not an object")) };
    fields.insert("schema_version".into(), SCHEMA_VERSION.into());
    fields.insert("kind".into(), kind.into());
    serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
}

use super::{replay_command, Overrides};
use crate::harness::explore::ExploreSummary;
use crate::harness::system::{ser_duration, System, Violation};
use serde::Serialize;
use std::time::Duration;

#[derive(Serialize)]
pub struct RunJson<'a> {
    pub scenario: &'a str,
    pub seed: u64,
    pub flaws: Vec<String>,
    #[serde(serialize_with = "ser_duration")]
    pub virtual_time: Duration,
    pub fabric: crate::harness::fabric::FabricCounters,
    pub nemesis: crate::harness::nemesis::NemesisCounters,
    pub trace_hash: String,
    /// What the run's event budget counts, and the budget.
    pub events: u64,
    pub budget_events: u64,
    pub liveness: &'a crate::harness::run::Liveness,
    /// The scenario's own expectations: judged (passed, failed) and not judged.
    pub expectations: crate::harness::system::Tally,
    /// What the run drew before it started: swarm, PCT, the fault schedule.
    pub plan: Option<serde_json::Value>,
    pub violations: &'a [Violation],
    pub replay: String,
    /// With `--fix`: the same decisions with those flaws off, compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<serde_json::Value>,
}

/// What identifies a sweep beside its results: the build, the scenario (its name, the
/// hash of its whole text after the command line's overrides), the seeds and the
/// partition, and which invariants cannot apply to it. `merge` refuses reports whose
/// sweeps do not fit together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SweepInfo {
    pub build: String,
    pub scenario: String,
    pub scenario_hash: String,
    /// How the scenario was named on the command line (for replay commands).
    pub scenario_path: String,
    pub overrides: Overrides,
    pub flaws: Vec<String>,
    pub strategy: String,
    pub seed_range: SeedRangeJson,
    pub partition: Option<crate::harness::explore::Partition>,
    /// Invariants reported as skipped (JUnit), with why.
    pub not_applicable: std::collections::BTreeMap<String, String>,
    /// Seeds whose liveness could not be judged fail (`--require-judged`, or CI=true).
    /// (Absent in reports of older builds, which `merge` refuses by their build anyway.)
    #[serde(default)]
    pub require_judged: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SeedRangeJson {
    pub start: u64,
    pub end: u64,
}

/// This build's name: the version and the commit it was built from (see build.rs).
pub const BUILD: &str = env!("TICKETSIM_BUILD");

impl SweepInfo {
    /// The sweep of `scenario`, named `name`, whose text as a file is `text`.
    pub fn of<S: System>(
        (scenario, name, text): (&S::Scenario, &str, &str),
        path: &str,
        overrides: &Overrides,
        options: &crate::harness::explore::ExploreOptions,
    ) -> SweepInfo {
        let sim = S::options(scenario);
        SweepInfo {
            build: BUILD.to_string(),
            scenario: name.to_string(),
            scenario_hash: crate::harness::history::short_hash(text),
            scenario_path: path.to_string(),
            overrides: overrides.clone(),
            flaws: S::bug_switches(scenario).into_iter().map(|(name, _)| name).collect(),
            strategy: sim.strategy.to_string(),
            seed_range: SeedRangeJson { start: options.seeds.start, end: options.seeds.end },
            partition: options.partition,
            not_applicable: not_applicable::<S>(scenario),
            require_judged: options.require_judged,
        }
    }
}

/// Every invariant a scenario does not judge, with why (reports and `merge` use it):
/// those its `not_judged` list names, and those that cannot apply to it (a service an
/// invariant relies on does not run).
pub fn not_applicable<S: crate::harness::System>(scenario: &S::Scenario) -> std::collections::BTreeMap<String, String> {
    let declared = S::options(scenario).not_judged;
    S::invariants()
        .iter()
        .filter_map(|i| {
            let why = if declared.iter().any(|n| n == i.name) {
                "not judged in this scenario (its not_judged list)"
            } else if !(i.applies)(scenario) {
                "does not apply to this scenario (a service it judges does not run)"
            } else {
                return None;
            };
            Some((i.name.to_string(), why.to_string()))
        })
        .collect()
}

/// A failing seed's JSON, with `branch` when it is a coverage run that branched.
fn with_branch(mut value: serde_json::Value, seed: &crate::harness::explore::FailingSeed) -> serde_json::Value {
    if !seed.branch.is_empty() {
        value["branch"] = seed.branch.to_string().into();
    }
    value
}

/// A sweep's report: the sweep, its counts, the first failures per invariant, and one
/// entry per distinct bug (enough for `merge` to combine shards exactly).
pub fn explore(info: &SweepInfo, summary: &ExploreSummary) -> serde_json::Value {
    let (path, overrides) = (&info.scenario_path, &info.overrides);
    let failures: Vec<serde_json::Value> = summary
        .by_invariant
        .iter()
        .flat_map(|(invariant, seeds)| {
            seeds.iter().map(move |s| {
                with_branch(
                    serde_json::json!({
                        "seed": s.seed,
                        "invariant": invariant,
                        "virtual_time": s.time.as_secs_f64(),
                        "explanation": s.explanation,
                        "trace_hash": s.trace_hash,
                        "replay": replay_command(path, s.seed, &s.branch, overrides),
                    }),
                    s,
                )
            })
        })
        .collect();
    let mut report = serde_json::json!({
        "flaws": info.flaws,
        "seeds_run": summary.seeds_run,
        "seeds_planned": summary.planned,
        "partial": summary.partial,
        "failing": summary.failing,
        "liveness_not_judged": summary.liveness_not_judged,
        "expectations": summary.expectations,
        "failing_by_invariant": summary.counts,
        "failing_seeds": summary.failing_seeds,
        // Kept per invariant: the smallest 100; failing_by_invariant has the full counts.
        "failing_seeds_complete": summary.counts.values().all(|n| *n as usize <= crate::harness::explore::KEPT_PER_INVARIANT),
        "bugs_complete": summary.ungrouped == 0,
        "ungrouped": summary.ungrouped,
        "fabric": summary.fabric,
        "nemesis": summary.nemesis,
        "wall_seconds": summary.wall.as_secs_f64(),
        "virtual_time_total": summary.virtual_time.as_secs_f64(),
        "max_events": summary.max_events,
        "max_virtual_time": summary.max_virtual_time.as_secs_f64(),
        "check_seconds": summary.check_times.iter().map(|(k, v)| (k.to_string(), v.as_secs_f64())).collect::<std::collections::BTreeMap<_, _>>(),
        "failures": failures,
        "bugs": summary.groups.values().map(|g| with_branch(serde_json::json!({
            "fingerprint": g.fingerprint, "invariant": g.invariant, "seeds": g.seeds,
            "smallest_seed": g.smallest.seed, "virtual_time": g.smallest.time.as_secs_f64(),
            "explanation": g.smallest.explanation, "trace_hash": g.smallest.trace_hash,
            "replay": replay_command(path, g.smallest.seed, &g.smallest.branch, overrides),
        }), &g.smallest)).collect::<Vec<_>>(),
        "bug_sets": summary.signatures.iter().map(|(bugs, seeds)| serde_json::json!({ "bugs": bugs, "seeds": seeds })).collect::<Vec<_>>(),
        "bug_sets_other": summary.signatures_other,
        "causes": summary.triage,
    });
    if let (Some(fields), Ok(serde_json::Value::Object(sweep))) = (report.as_object_mut(), serde_json::to_value(info)) {
        fields.extend(sweep);
    }
    report
}
