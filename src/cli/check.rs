//! `ticketsim check SCENARIO --exhaustive`: every schedule of a small scenario within
//! stated bounds (see [`crate::harness::exhaustive`]); what it proved, or the first
//! counterexample, fewest faults first and made simpler, as a reproduction file.

use super::{load, sweep_code, write_file, Format, ScenarioArgs};
use crate::harness::exhaustive::{explore, Bounds, Counterexample, Reduction, Summary};
use crate::harness::schedule::CrashPoints;
use crate::harness::system::{Reproduce, ScheduleRecord};
use crate::report;
use crate::report::style::{count, paint, Tone};
use std::path::PathBuf;
use std::time::Duration;

/// The most faults a check may allow per schedule.
pub const MAX_FAULTS: u32 = 3;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim check order-race --exhaustive\n  ticketsim check order-race --exhaustive --preset as-built --save race.toml\n  ticketsim check accounts --exhaustive --max-faults 1 --max-runs 50000"
)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Explore every schedule within the bounds (the only mode of `check`; a sweep of seeds is `explore`)
    #[arg(long)]
    exhaustive: bool,
    /// Faults per schedule (each a drop, a duplicate or a crash-and-restart), 0 to 3
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_faults: u32,
    /// Runs in all before the check stops and says what it covered
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    max_runs: u64,
    /// Wall-clock limit (e.g. 60s, 5m); only how far the search goes depends on it
    #[arg(long, value_name = "T")]
    time_limit: Option<String>,
    /// At most K reorderings per schedule (steps not taking the oldest waiting delivery or
    /// call), explored 0, 1, ..., K: the fewest first; turns the reductions off
    #[arg(long, value_name = "K")]
    max_reorderings: Option<u32>,
    /// How equivalent schedules are left out: dpor (sleep sets and dynamic partial-order
    /// reduction), states (sleep sets and state fingerprints), none (every schedule)
    #[arg(long, default_value = "dpor", value_name = "R")]
    reduction: String,
    /// Where a crash may fall: every-step (before any step), own-steps (right after one of
    /// the node's own steps: a delivery to it or a store call it made)
    #[arg(long, default_value = "every-step", value_name = "C")]
    crash_points: String,
    /// The seed of every run (the workload's and handlers' decisions, madsim's ties)
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the counterexample, if one is found, to this reproduction file
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) fn execute<S: super::Driven>(args: CheckArgs) -> Result<i32, String> {
    if !args.exhaustive {
        return Err("check explores every schedule: add --exhaustive (a sweep of seeds is `ticketsim explore`)".into());
    }
    if args.max_faults > MAX_FAULTS {
        return Err(format!("--max-faults {}: allowed 0 to {MAX_FAULTS}", args.max_faults));
    }
    if args.max_runs == 0 || args.max_runs > 10_000_000 {
        return Err(format!("--max-runs {}: allowed 1 to 10,000,000", args.max_runs));
    }
    let time_limit = match &args.time_limit {
        Some(text) => Some(
            crate::harness::duration::parse_duration(text)
                .filter(|d| *d > Duration::ZERO)
                .ok_or_else(|| format!("--time-limit {}: write a duration such as 60s or 5m", crate::harness::echo(text)))?,
        ),
        None => None,
    };
    if let Some(file) = &args.save {
        super::check_file("save", file)?;
    }
    let loaded = load::<S>(&args.scenario)?;
    let scenario = &loaded.scenario;
    if args.max_reorderings.is_some_and(|k| k > 100) {
        return Err(format!("--max-reorderings {}: allowed 0 to 100", args.max_reorderings.unwrap_or_default()));
    }
    let bounds = Bounds {
        max_faults: args.max_faults,
        max_runs: args.max_runs,
        time_limit,
        reduction: if args.max_reorderings.is_some() {
            Reduction::None
        } else {
            Reduction::parse(&args.reduction).map_err(|e| format!("--reduction {e}"))?
        },
        seed: args.seed,
        max_reorderings: args.max_reorderings,
        crash_points: CrashPoints::parse(&args.crash_points).map_err(|e| format!("--crash-points {e}"))?,
    };
    super::handle_ctrl_c();
    let summary = explore::<S>(scenario, &bounds);
    let saved = match (&summary.counterexample, &args.save) {
        (Some(found), Some(file)) => {
            write_file(file, &S::to_file(&S::with_reproduction(scenario, Some(reproduction(found, args.seed))))?)?;
            Some(file.display().to_string())
        }
        _ => None,
    };
    match args.format {
        Format::Json => outln!("{}", report::json::document("check", json(S::name(scenario), &bounds, &summary, saved.as_deref()))?),
        Format::Text => out!("{}", text(S::name(scenario), &bounds, &summary, saved.as_deref())),
    }
    let code = if summary.counterexample.is_some() {
        1
    } else if summary.proved(bounds.max_faults) {
        0
    } else {
        NOT_PROVED
    };
    Ok(sweep_code(code))
}

/// The exit code when nothing was violated but the bounds were not covered (a budget ran
/// out, or a schedule's liveness could not be judged): not a pass.
pub const NOT_PROVED: i32 = 3;

fn reproduction(found: &Counterexample, seed: u64) -> Reproduce {
    Reproduce {
        format: crate::harness::choices::RECORD_FORMAT,
        seed,
        invariant: found.invariant.clone(),
        fingerprint: Some(found.fingerprint.clone()),
        choices: Some(Default::default()),
        branch: Default::default(),
        plan: Vec::new(),
        schedule: Some(ScheduleRecord::of(found.max_faults, found.crash_points, &found.picks)),
    }
}

/// The bounds as one line.
fn bounds_line(b: &Bounds) -> String {
    let faults = match b.max_faults {
        0 => "no fault".to_string(),
        n => format!("up to {} (drops, duplicates, crash-and-restarts)", count(n as u64, "fault", "faults")),
    };
    let faults = match (b.max_faults, b.crash_points) {
        (1.., CrashPoints::OwnSteps) => format!("{faults}, a node crashing only right after one of its own steps"),
        _ => faults,
    };
    // docs/strategies.md: DPOR may leave no step after a node's last, where a crash
    // would need one to be offered (`a_crash_needs_a_step_after_it_to_have_a_place`).
    let faults = match (b.max_faults, b.reduction) {
        (1.., Reduction::Dpor) => {
            format!("{faults} (under dpor, a crash after a node's last step only where some step is left to run; --reduction states places it there too)")
        }
        _ => faults,
    };
    let orders = match b.max_reorderings {
        None => "every order of deliveries and store calls waiting together".to_string(),
        Some(k) => format!(
            "every order of deliveries and store calls waiting together with at most {}",
            count(k as u64, "reordering", "reorderings")
        ),
    };
    format!("{faults}; {orders}; timers at their times; the workload of seed {}, every other decision its simplest", b.seed)
}

fn text(name: &str, bounds: &Bounds, summary: &Summary, saved: Option<&str>) -> String {
    let mut out = format!("exhaustive check of {name}\nbounds: {}\n", bounds_line(bounds));
    out += &format!("reductions: {}\n", bounds.reduction.describe());
    let rows: Vec<[String; 10]> = summary
        .levels
        .iter()
        .map(|l| {
            let reorderings = l.max_reorderings.map_or("any".to_string(), |k| k.to_string());
            [reorderings]
                .into_iter()
                .chain([l.max_faults as u64, l.runs, l.schedules, l.asleep, l.revisited, l.states].map(|n| n.to_string()))
                .chain([l.depth.to_string(), l.not_judged.to_string(), if l.complete { "yes" } else { "no" }.to_string()])
                .collect::<Vec<_>>()
                .try_into()
                .unwrap()
        })
        .collect();
    let header = ["reorder ≤", "faults ≤", "runs", "schedules", "asleep", "seen", "states", "steps", "unjudged", "complete"];
    let mut builder = tabled::builder::Builder::default();
    builder.push_record(header.map(String::from));
    for row in rows {
        builder.push_record(row);
    }
    out += &report::text::rounded(builder.build());
    out += "\n";
    let secs = summary.elapsed.as_secs_f64();
    match &summary.counterexample {
        Some(found) => {
            out += &paint(&format!("counterexample: {} ({})\n", found.invariant, found.fingerprint), Tone::Fail);
            out += &format!(
                "  {}, {}, {} (after {} in {secs:.1} s)\n",
                count(found.faults as u64, "fault", "faults"),
                count(found.reorderings as u64, "reordering", "reorderings"),
                count(found.steps as u64, "step", "steps"),
                count(summary.runs(), "run", "runs")
            );
            match saved {
                Some(file) => {
                    out += &format!("replay with  {} replay {} --messages\n", report::text::program(), report::text::shell_word(file))
                }
                None => out += "write it as a reproduction file with --save FILE, to replay it\n",
            }
        }
        None if summary.proved(bounds.max_faults) => {
            let states = summary.levels.last().map_or(0, |l| l.states);
            let full = summary.levels.last().is_some_and(|l| l.states_full);
            let distinct = match (bounds.reduction != Reduction::None, full) {
                (false, _) => String::new(),
                (true, false) => format!(" ({states} distinct states)"),
                (true, true) => format!(" (at least {states} distinct states: no more fingerprints were kept)"),
            };
            let off: u64 = summary.levels.last().map_or(0, |l| l.expectations_off);
            if off > 0 {
                out += &format!(
                    "the scenario's expectations (its answers without faults) were not judged in the {} with a fault; every invariant was\n",
                    count(off, "schedule", "schedules")
                );
            }
            out += &paint(
                &format!(
                    "explored {}{distinct} in {secs:.1} s; 0 violations within these bounds\n",
                    count(summary.schedules(), "schedule", "schedules")
                ),
                Tone::Pass,
            );
        }
        None => {
            let why = summary.stopped.clone().unwrap_or_else(|| "some schedules could not be judged (see the table)".into());
            out += &paint(
                &format!("NOT proved: {why}; {} explored, no violation among them\n", count(summary.schedules(), "schedule", "schedules")),
                Tone::Warn,
            );
        }
    }
    out
}

fn json(name: &str, bounds: &Bounds, summary: &Summary, saved: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "scenario": name,
        "bounds": { "max_faults": bounds.max_faults, "max_reorderings": bounds.max_reorderings, "max_runs": bounds.max_runs, "seed": bounds.seed, "reduction": bounds.reduction, "crash_points": bounds.crash_points },
        "levels": summary.levels,
        "schedules": summary.schedules(),
        "runs": summary.runs(),
        "proved": summary.proved(bounds.max_faults),
        "stopped": summary.stopped,
        "counterexample": summary.counterexample.as_ref().map(|c| serde_json::json!({
            "invariant": c.invariant, "fingerprint": c.fingerprint, "faults": c.faults,
            "reorderings": c.reorderings, "steps": c.steps, "picks": c.picks, "file": saved,
        })),
        "elapsed_seconds": summary.elapsed.as_secs_f64(),
    })
}
