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
use crate::harness::system::{ser_duration, Violation};
use crate::ticketing::Scenario;
use serde::Serialize;
use std::time::Duration;

#[derive(Serialize)]
pub struct RunJson<'a> {
    pub scenario: &'a str,
    pub seed: u64,
    pub flaws: Vec<&'static str>,
    #[serde(serialize_with = "ser_duration")]
    pub virtual_time: Duration,
    pub fabric: crate::harness::fabric::FabricCounters,
    pub nemesis: crate::harness::nemesis::NemesisCounters,
    pub trace_hash: String,
    /// What the run's event budget counts, and the budget.
    pub events: u64,
    pub budget_events: u64,
    pub liveness: &'a crate::harness::run::Liveness,
    pub violations: &'a [Violation],
    pub replay: String,
}

/// A sweep's report.
pub fn explore(scenario: &Scenario, path: &str, overrides: &Overrides, summary: &ExploreSummary) -> serde_json::Value {
    let failures: Vec<serde_json::Value> = summary
        .by_invariant
        .iter()
        .flat_map(|(invariant, seeds)| {
            seeds.iter().map(move |s| {
                serde_json::json!({
                    "seed": s.seed,
                    "invariant": invariant,
                    "virtual_time": s.time.as_secs_f64(),
                    "explanation": s.explanation,
                    "trace_hash": s.trace_hash,
                    "replay": replay_command(path, s.seed, overrides),
                })
            })
        })
        .collect();
    serde_json::json!({
        "scenario": scenario.name,
        "flaws": scenario.flaws().names(),
        "seeds_run": summary.seeds_run,
        "seeds_planned": summary.planned,
        "partial": summary.partial,
        "failing": summary.failing,
        "liveness_not_judged": summary.liveness_not_judged,
        "failing_by_invariant": summary.counts,
        "failing_seeds": summary.failing_seeds,
        // Kept per invariant: the smallest 100; failing_by_invariant has the full counts.
        "failing_seeds_complete": summary.counts.values().all(|n| *n as usize <= crate::harness::explore::KEPT_PER_INVARIANT),
        "bugs_complete": summary.ungrouped == 0,
        "fabric": summary.fabric,
        "nemesis": summary.nemesis,
        "wall_seconds": summary.wall.as_secs_f64(),
        "max_events": summary.max_events,
        "max_virtual_time": summary.max_virtual_time.as_secs_f64(),
        "failures": failures,
        "bugs": summary.groups.values().map(|g| serde_json::json!({
            "fingerprint": g.fingerprint, "invariant": g.invariant, "seeds": g.seeds,
            "smallest_seed": g.smallest.seed, "replay": replay_command(path, g.smallest.seed, overrides),
        })).collect::<Vec<_>>(),
    })
}

