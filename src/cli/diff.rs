//! `ticketsim diff`: where two runs of one scenario part. The left run is SCENARIO at
//! `--seed`; the right one is the same with `--fix`/`--also` flaws switched, at
//! `--other-seed`, or a run saved by `--save` (from another build, say). Prints the
//! first differing event, the flaw line that decided it, how much the runs still share
//! and the records whose final state differs.

use super::driven::switches_on;
use super::Driven;
use super::{check_file, load, run_scenario, write_file, Format, ScenarioArgs};
use crate::harness::diff::{compare, steps, RunDiff, StateDiff, Step};
use crate::harness::run::RunOptions;
use crate::report;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim diff order-race --seed 7 --preset as-built --fix racy-reservation\n  ticketsim diff tickets-orders --seed 3 --preset hardened --also unguarded-unlock\n  ticketsim diff order-race --seed 7 --other-seed 8\n  ticketsim diff full-system --seed 3 --save before.json      # then, with another build:\n  ticketsim diff full-system --seed 3 --against before.json"
)]
pub(crate) struct DiffArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The left run's seed (default 0, or a reproduction file's own)
    #[arg(long, env = "TICKETSIM_SEED")]
    seed: Option<u64>,
    /// The right run: this flaw off; repeatable
    #[arg(long = "fix", value_name = "FLAW")]
    fixes: Vec<String>,
    /// The right run: this flaw on as well; repeatable
    #[arg(long = "also", value_name = "FLAW")]
    also: Vec<String>,
    /// The right run: this seed instead
    #[arg(long, value_name = "N")]
    other_seed: Option<u64>,
    /// The right run: the same decisions with madsim's scheduler on this seed (what its
    /// tie-breaks change)
    #[arg(long, value_name = "N")]
    scheduler_seed: Option<u64>,
    /// Compare with a run saved by --save (another build's, say)
    #[arg(long, value_name = "FILE")]
    against: Option<PathBuf>,
    /// Save the left run (its events and final states) for a later --against
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// A run as `--save` writes it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    kind: String,
    build: String,
    scenario: String,
    seed: u64,
    /// Each event as (virtual time in nanoseconds, node, text).
    events: Vec<(u64, String, String)>,
    states: BTreeMap<String, String>,
}

/// The right run's scenario (the left one with `--fix` flaws off and `--also` flaws on),
/// and the flaws switched between the two.
fn right_of<S: Driven>(left: &S::Scenario, args: &DiffArgs) -> Result<(S::Scenario, Vec<String>), String> {
    let mut right = left.clone();
    for name in &args.fixes {
        super::switch_name::<S>("fix", name, name)?;
        S::set_switch(&mut right, name, false);
    }
    for name in &args.also {
        super::switch_name::<S>("also", name, name)?;
        S::set_switch(&mut right, name, true);
    }
    let (l, r) = (switches_on::<S>(left), switches_on::<S>(&right));
    let switched = l.iter().chain(r.iter()).filter(|n| l.contains(n) != r.contains(n)).cloned().collect();
    Ok((right, switched))
}

fn load_saved(path: &PathBuf) -> Result<Saved, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--against {}: {e}", path.display()))?;
    let saved: Saved =
        serde_json::from_str(&text).map_err(|e| format!("--against {}: not a run saved by `diff --save`: {e}", path.display()))?;
    if saved.kind != "saved-run" {
        return Err(format!("--against {}: not a run saved by `diff --save` (kind {:?})", path.display(), saved.kind));
    }
    Ok(saved)
}

pub(crate) fn execute<S: Driven>(args: DiffArgs) -> Result<i32, String> {
    let loaded = load::<S>(&args.scenario)?;
    let left = &loaded.scenario;
    let sides = [
        !args.fixes.is_empty() || !args.also.is_empty() || args.scheduler_seed.is_some(),
        args.other_seed.is_some(),
        args.against.is_some(),
    ];
    if sides.iter().filter(|s| **s).count() == 0 && args.save.is_none() {
        return Err(
            "diff needs the other run: --fix/--also FLAW, --other-seed N or --against FILE (or --save FILE to keep this one)".into()
        );
    }
    if let Some(save) = &args.save {
        check_file("save", save)?;
    }
    let (right, switched) = right_of::<S>(left, &args)?;
    let options = RunOptions { keep_history: true, log_switches: true, ..Default::default() };
    let (seed, a) = run_scenario::<S>(left, args.seed, &options);
    let events = |o: &crate::harness::run::RunOutcome<S>| o.history.as_ref().map(|h| steps(&h.entries())).unwrap_or_default();
    let left_events = events(&a);
    let left_states = a.final_state.as_ref().map(S::record_states).unwrap_or_default();
    if let Some(save) = &args.save {
        save_run(save, S::name(left), seed, &left_events, &left_states)?;
        if sides.iter().all(|s| !s) {
            return Ok(0);
        }
    }
    let (right_name, right_events, right_states) = match &args.against {
        Some(path) => {
            let saved = load_saved(path)?;
            let events = saved
                .events
                .into_iter()
                .enumerate()
                .map(|(index, (ns, node, text))| Step { index, time: Duration::from_nanos(ns), node, text })
                .collect();
            (format!("{} (build {}, seed {})", path.display(), saved.build, saved.seed), events, saved.states)
        }
        None => {
            let seed_b = args.other_seed.unwrap_or(seed);
            let reseed = args.other_seed.is_some() || S::reproduction(&right).is_none();
            let right_options = RunOptions { scheduler_seed: args.scheduler_seed, ..options.clone() };
            let (_, b) = run_scenario::<S>(&right, reseed.then_some(seed_b), &right_options);
            let states = b.final_state.as_ref().map(S::record_states).unwrap_or_default();
            let what = if switched.is_empty() {
                format!("seed {seed_b}")
            } else {
                format!("seed {seed_b} with {}", describe_switch(&switches_on::<S>(left), &switches_on::<S>(&right)))
            };
            (what, events(&b), states)
        }
    };
    let mut d = compare(&left_events, &right_events, a.switches.as_deref().unwrap_or_default(), &switched);
    for record in left_states.keys().chain(right_states.keys()).collect::<std::collections::BTreeSet<_>>() {
        let (x, y) = (left_states.get(record), right_states.get(record));
        if x != y {
            d.states_differing += 1;
            if d.states.len() < crate::harness::diff::MAX_STATE_DIFFS {
                d.states.push(StateDiff { record: record.clone(), original: x.cloned(), other: y.cloned() });
            }
        }
    }
    match args.format {
        Format::Json => {
            let body = serde_json::json!({ "scenario": S::name(left), "seed": seed, "other": right_name, "diff": d });
            outln!("{}", report::json::document("diff", body)?);
        }
        Format::Text => out!("{}", text(&format!("seed {seed}"), &right_name, &d)),
    }
    Ok(d.parting.is_some() as i32)
}

/// `--save`: the left run, for a later `--against`.
fn save_run(save: &std::path::Path, scenario: &str, seed: u64, events: &[Step], states: &BTreeMap<String, String>) -> Result<(), String> {
    let saved = Saved {
        kind: "saved-run".into(),
        build: report::json::BUILD.to_string(),
        scenario: scenario.to_string(),
        seed,
        events: events.iter().map(|s| (s.time.as_nanos() as u64, s.node.clone(), s.text.clone())).collect(),
        states: states.clone(),
    };
    write_file(save, &serde_json::to_string(&saved).map_err(|e| e.to_string())?)?;
    eprintln!("saved seed {seed} of {scenario} to {}", save.display());
    Ok(())
}

/// The flaws switched from the left run (on `l`) to the right one (on `r`), in words.
fn describe_switch(l: &[String], r: &[String]) -> String {
    let off: Vec<&str> = l.iter().filter(|n| !r.contains(n)).map(String::as_str).collect();
    let on: Vec<&str> = r.iter().filter(|n| !l.contains(n)).map(String::as_str).collect();
    let mut parts = Vec::new();
    if !off.is_empty() {
        parts.push(format!("{} fixed", off.join(" + ")));
    }
    if !on.is_empty() {
        parts.push(format!("{} on", on.join(" + ")));
    }
    parts.join(", ")
}

fn text(left: &str, right: &str, d: &RunDiff) -> String {
    let t = crate::harness::fmt_time_precise;
    let mut out = format!("left:  {left}\nright: {right}\n");
    let Some(p) = &d.parting else {
        out.push_str(&format!("the runs are the same, event for event ({} events)\n", d.original_events));
        return out;
    };
    let line = |s: &Option<Step>| s.as_ref().map_or("(the run had ended)".to_string(), |s| format!("{} {}: {}", t(s.time), s.node, s.text));
    out.push_str(&format!(
        "the runs part after {} identical events:\n  left:  {}\n  right: {}\n",
        d.common_prefix,
        line(&p.original),
        line(&p.other)
    ));
    if let Some(c) = &p.deciding {
        out.push_str(&format!("decided by {} at {} ({} on {})\n", c.switch, c.location, t(c.time), c.node.as_deref().unwrap_or("-")));
    }
    out.push_str(&format!(
        "the right run has {} of the left's {} events; {} records end differently\n",
        d.shared, d.original_events, d.states_differing
    ));
    for s in &d.states {
        out.push_str(&format!(
            "  {}:\n    left:  {}\n    right: {}\n",
            s.record,
            s.original.as_deref().unwrap_or("(none)"),
            s.other.as_deref().unwrap_or("(none)")
        ));
    }
    out
}
