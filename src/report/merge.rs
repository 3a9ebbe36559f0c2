//! `ticketsim merge`: the JSON reports of a sweep split over machines (`explore
//! --partition M/N --format json`), combined into the report one machine would have
//! written: counts added, the smallest failing seeds kept, bugs deduplicated by
//! fingerprint. It refuses reports that do not fit together: other builds, scenarios,
//! flaws, strategies or seed ranges, partitions missing or given twice, a partial shard.

use super::json::SweepInfo;
use crate::harness::explore::{BugGroup, ExploreSummary, FailingSeed, KeptFailing};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// One shard's report, read back.
pub struct Shard {
    pub source: String,
    pub info: SweepInfo,
    pub summary: ExploreSummary,
}

fn field<'a>(source: &str, report: &'a Value, key: &str) -> Result<&'a Value, String> {
    report.get(key).ok_or_else(|| format!("{source}: not an explore report of this version (no `{key}`)"))
}

fn number(source: &str, report: &Value, key: &str) -> Result<u64, String> {
    field(source, report, key)?.as_u64().ok_or_else(|| format!("{source}: `{key}` is not a whole number"))
}

fn seconds(value: &Value) -> Duration {
    Duration::try_from_secs_f64(value.as_f64().unwrap_or(0.0)).unwrap_or_default()
}

fn failing_seed(v: &Value, seed_key: &str) -> FailingSeed {
    FailingSeed {
        seed: v[seed_key].as_u64().unwrap_or_default(),
        time: seconds(&v["virtual_time"]),
        explanation: v["explanation"].as_str().unwrap_or_default().to_string(),
        trace_hash: v["trace_hash"].as_str().unwrap_or_default().to_string(),
        branch: v["branch"].as_str().and_then(|b| crate::harness::strategy::Branch::parse(b).ok()).unwrap_or_default(),
    }
}

/// Reads one `explore --format json` report.
pub fn read<S: crate::harness::System>(source: &str, text: &str) -> Result<Shard, String> {
    let report: Value = serde_json::from_str(text).map_err(|e| format!("{source}: not JSON: {e}"))?;
    if report.get("kind").and_then(Value::as_str) != Some("explore") {
        return Err(format!("{source}: not an explore report (kind {})", report.get("kind").unwrap_or(&Value::Null)));
    }
    if report.get("schema_version") != Some(&Value::from(super::json::SCHEMA_VERSION)) {
        return Err(format!(
            "{source}: schema_version {}, this build reads {}",
            report.get("schema_version").unwrap_or(&Value::Null),
            super::json::SCHEMA_VERSION
        ));
    }
    let info: SweepInfo = serde_json::from_value(report.clone()).map_err(|e| format!("{source}: {e}"))?;
    if field(source, &report, "partial")?.as_bool() == Some(true) {
        return Err(format!("{source}: a partial report (its sweep was interrupted): it does not cover its partition"));
    }
    let mut summary = ExploreSummary {
        seeds_run: number(source, &report, "seeds_run")?,
        planned: number(source, &report, "seeds_planned")?,
        failing: number(source, &report, "failing")?,
        liveness_not_judged: number(source, &report, "liveness_not_judged")?,
        // Absent in reports of older builds (refused by their build in `check_cover`).
        expectations: report
            .get("expectations")
            .map_or(Ok(Default::default()), |e| serde_json::from_value(e.clone()))
            .map_err(|e| format!("{source}: expectations: {e}"))?,
        ungrouped: number(source, &report, "ungrouped")?,
        max_events: number(source, &report, "max_events")?,
        counts: serde_json::from_value(field(source, &report, "failing_by_invariant")?.clone()).map_err(|e| format!("{source}: {e}"))?,
        fabric: serde_json::from_value(field(source, &report, "fabric")?.clone()).map_err(|e| format!("{source}: {e}"))?,
        nemesis: serde_json::from_value(field(source, &report, "nemesis")?.clone()).map_err(|e| format!("{source}: {e}"))?,
        wall: seconds(field(source, &report, "wall_seconds")?),
        virtual_time: seconds(field(source, &report, "virtual_time_total")?),
        max_virtual_time: seconds(field(source, &report, "max_virtual_time")?),
        ..ExploreSummary::default()
    };
    for f in field(source, &report, "failures")?.as_array().into_iter().flatten() {
        let invariant = f["invariant"].as_str().unwrap_or_default().to_string();
        summary.by_invariant.entry(invariant).or_default().push(failing_seed(f, "seed"));
    }
    for b in field(source, &report, "bugs")?.as_array().into_iter().flatten() {
        let fingerprint = b["fingerprint"].as_str().unwrap_or_default().to_string();
        let group = BugGroup {
            fingerprint: fingerprint.clone(),
            invariant: b["invariant"].as_str().unwrap_or_default().to_string(),
            seeds: b["seeds"].as_u64().unwrap_or_default(),
            smallest: failing_seed(b, "smallest_seed"),
        };
        summary.groups.insert(fingerprint, group);
    }
    for set in field(source, &report, "bug_sets")?.as_array().into_iter().flatten() {
        let bugs: Vec<String> = serde_json::from_value(set["bugs"].clone()).map_err(|e| format!("{source}: bug_sets: {e}"))?;
        summary.signatures.insert(bugs, set["seeds"].as_u64().unwrap_or_default());
    }
    summary.signatures_other = number(source, &report, "bug_sets_other")?;
    summary.triage = serde_json::from_value(field(source, &report, "causes")?.clone()).map_err(|e| format!("{source}: causes: {e}"))?;
    for (name, secs) in field(source, &report, "check_seconds")?.as_object().into_iter().flatten() {
        if let Some(known) =
            S::invariants().iter().map(|i| i.name).chain(crate::harness::run::HARNESS_FINDINGS.iter().copied()).find(|n| n == name)
        {
            summary.check_times.insert(known, seconds(secs));
        }
    }
    Ok(Shard { source: source.to_string(), info, summary })
}

/// Checks that the shards are the partitions of one sweep, each exactly once.
fn check_cover(shards: &[Shard]) -> Result<(), String> {
    let first = shards.first().ok_or("no report given")?;
    for shard in &shards[1..] {
        let (a, b) = (&first.info, &shard.info);
        let range = |i: &SweepInfo| format!("{}..{}", i.seed_range.start, i.seed_range.end);
        let differences = [
            ("build", a.build.clone(), b.build.clone()),
            ("scenario", a.scenario.clone(), b.scenario.clone()),
            ("flaws", a.flaws.join(", "), b.flaws.join(", ")),
            ("scenario (its settings' hash)", a.scenario_hash.clone(), b.scenario_hash.clone()),
            ("strategy", a.strategy.clone(), b.strategy.clone()),
            ("--require-judged", a.require_judged.to_string(), b.require_judged.to_string()),
            ("seed range", range(a), range(b)),
        ];
        if let Some((what, x, y)) = differences.into_iter().find(|(_, x, y)| x != y) {
            return Err(format!(
                "{} and {} are not partitions of one sweep: {what} {x:?} in the first, {y:?} in the second",
                first.source, shard.source
            ));
        }
    }
    let Some(p) = first.info.partition else {
        return match shards.len() {
            1 => Ok(()),
            _ => Err(format!("{} covers the whole range; with it, nothing else fits", first.source)),
        };
    };
    let mut seen: BTreeMap<u64, &str> = BTreeMap::new();
    for shard in shards {
        let q =
            shard.info.partition.ok_or_else(|| format!("{} covers the whole range, {} only a partition", shard.source, first.source))?;
        if q.kind != p.kind || q.count != p.count {
            return Err(format!("{} is partition {q}, {} is {p}: different splits", shard.source, first.source));
        }
        if let Some(other) = seen.insert(q.index, &shard.source) {
            return Err(format!("partition {q} is given twice: {other} and {}", shard.source));
        }
    }
    let missing: Vec<String> = (1..=p.count).filter(|i| !seen.contains_key(i)).map(|i| i.to_string()).collect();
    if !missing.is_empty() {
        return Err(format!("partitions {} of {} are missing: the reports do not cover the range", missing.join(", "), p.count));
    }
    Ok(())
}

/// The merged sweep and its summary.
pub fn merge(shards: Vec<Shard>) -> Result<(SweepInfo, ExploreSummary), String> {
    check_cover(&shards)?;
    let mut info = shards[0].info.clone();
    info.partition = None;
    let mut total = ExploreSummary::default();
    let mut kept = KeptFailing::new();
    let mut triages = Vec::new();
    let mut triaged = true;
    for shard in shards {
        let mut s = shard.summary;
        match s.triage.take() {
            Some(t) => triages.push(t),
            None => triaged &= s.failing == 0,
        }
        total.absorb(s, &mut kept);
    }
    total.settle(kept);
    // Causes merge only when every partition with failures judged them.
    if triaged && !triages.is_empty() {
        total.triage = Some(crate::harness::triage::merged(triages, &total));
    }
    Ok((info, total))
}
