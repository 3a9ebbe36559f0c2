//! `ticketsim hunt`: the deep-bug benchmark. For each deep bug and each strategy, the
//! seeds a sweep needs to show it (median and spread over several start seeds), the
//! wall time, and the ratio to uniform random, in one run.

use super::{jobs, Format};
use crate::harness::hunt::{hunt, trial_start, Hunt, PerDetection};
use crate::harness::strategy::Strategy;
use crate::report;
use crate::ticketing::deep::{self, BugSet, DeepBug};
use crate::ticketing::Ticketing;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim hunt                                  # every deep bug, every strategy (docs/strategies.md)\n  ticketsim hunt --set catalogue --trials 5 --budget 2000\n  ticketsim hunt --bug unlock-while-held --strategy uniform --strategy pct --trials 5\n  ticketsim hunt --budget 500 --trials 1 --format json"
)]
pub(crate) struct HuntArgs {
    /// Which bugs: the deep set (benchmark-only switches) or the catalogue's (shallow)
    #[arg(long, value_enum, default_value_t = BugSet::Deep)]
    set: BugSet,
    /// A bug of either set to hunt (default: all of --set); repeatable
    #[arg(long = "bug", value_name = "NAME")]
    bugs: Vec<String>,
    /// A strategy to measure (default: uniform, swarm, pct, stretch, hold, rush, coverage, portfolio); repeatable
    #[arg(long = "strategy", value_name = "STRATEGY")]
    strategies: Vec<String>,
    /// Independent sweeps per bug and strategy, each from its own start seed (1 to 100)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    trials: u64,
    /// Seeds a sweep may run before the bug counts as not found (1 to 1000000)
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    budget: u64,
    /// Run every trial's whole budget and count the seeds that show the bug, instead of
    /// stopping at the first (steadier seeds-per-detection figures, at the cost of the budget)
    #[arg(long)]
    count: bool,
    /// Worker threads, 1 to 256 (default: the core count)
    #[arg(long, env = "TICKETSIM_JOBS")]
    jobs: Option<usize>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// One bug under one strategy over every trial.
#[derive(serde::Serialize)]
struct Row {
    bug: &'static str,
    /// The set the bug is from (`--bug` may name bugs of either).
    set: BugSet,
    flaw: &'static str,
    strategy: Strategy,
    trials: Vec<Hunt>,
    /// Cut short by a signal: fewer trials than asked for, or the last one interrupted.
    /// Its seeds per detection stand (every seed it ran counts); it has no median.
    partial: bool,
    /// Seeds per detection over the trials (computed once: its interval is a search).
    per_detection: PerDetection,
}

impl Row {
    /// Seeds per trial, a trial that did not find it counted as the budget (a bound).
    fn seeds(&self, budget: u64) -> Vec<u64> {
        let mut seeds: Vec<u64> = self.trials.iter().map(|h| h.seeds.unwrap_or(budget)).collect();
        seeds.sort();
        seeds
    }

    fn found(&self) -> usize {
        self.trials.iter().filter(|h| h.seeds.is_some()).count()
    }

    fn median(&self, budget: u64) -> u64 {
        crate::harness::hunt::median(&self.seeds(budget)).unwrap_or(budget)
    }

    /// "median (min..max)".
    fn median_range(&self, budget: u64) -> String {
        let seeds = self.seeds(budget);
        format!("{} ({}..{})", self.median_text(budget), seeds[0], seeds[seeds.len() - 1])
    }

    /// The median as a reader should take it: `≥` when it is the budget (not found).
    fn median_text(&self, budget: u64) -> String {
        let missed = self.trials.len() - self.found();
        let m = self.median(budget);
        if missed * 2 >= self.trials.len() && m == budget {
            format!("> {budget}")
        } else {
            m.to_string()
        }
    }
}

pub(crate) fn execute(args: HuntArgs) -> Result<i32, String> {
    let bugs: Vec<&DeepBug> = if args.bugs.is_empty() {
        args.set.bugs().iter().collect()
    } else {
        args.bugs
            .iter()
            .map(|name| {
                deep::all().find(|b| b.name == name).ok_or_else(|| {
                    format!(
                        "--bug {}: no such deep bug{}; allowed: {}",
                        crate::harness::echo(name),
                        crate::harness::did_you_mean(name, deep::names()),
                        deep::names().join(", ")
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    let strategies: Vec<Strategy> = if args.strategies.is_empty() {
        Strategy::ALL.to_vec()
    } else {
        args.strategies.iter().map(|s| Strategy::parse(s).map_err(|e| format!("--strategy {e}"))).collect::<Result<_, _>>()?
    };
    let jobs = jobs(args.jobs)?;
    // Which bug is being hunted, on a terminal only (a log gets the table alone).
    let live = args.format == Format::Text && std::io::IsTerminal::is_terminal(&std::io::stderr());
    super::handle_ctrl_c();
    let rows = measure(&bugs, &strategies, &args, jobs, live);
    let partial = crate::harness::interrupt::stop_requested();
    if live {
        eprint!("\r\x1b[2K");
    }
    print(&args, &rows, &strategies, partial)?;
    Ok(super::sweep_code(0))
}

/// Every bug under every strategy, in order, until a signal stops it: the row it was
/// measuring then is kept, marked partial, with the trials it ran.
fn measure(bugs: &[&DeepBug], strategies: &[Strategy], args: &HuntArgs, jobs: usize, live: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for bug in bugs {
        for &strategy in strategies {
            if crate::harness::interrupt::stop_requested() {
                return rows;
            }
            let mut scenario = deep::scenario(bug);
            scenario.strategy = strategy;
            if live {
                eprint!("\r\x1b[2K{} / {strategy} ...", bug.name);
            }
            let mut trials: Vec<Hunt> = Vec::new();
            for t in 0..args.trials {
                trials.push(hunt::<Ticketing>(&scenario, bug.fingerprint, trial_start(t), args.budget, jobs, args.count));
                if crate::harness::interrupt::stop_requested() {
                    break;
                }
            }
            if trials.iter().all(|h| h.run == 0) {
                return rows; // stopped before its first seed: nothing measured
            }
            let partial = (trials.len() as u64) < args.trials || trials.iter().any(|h| h.interrupted);
            let per_detection = PerDetection::of(&trials);
            rows.push(Row { bug: bug.name, set: BugSet::of(bug), flaw: bug.flaw, strategy, trials, partial, per_detection });
        }
    }
    rows
}

fn print(args: &HuntArgs, rows: &[Row], strategies: &[Strategy], partial: bool) -> Result<(), String> {
    match args.format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let mut v = serde_json::to_value(r).unwrap_or_default();
                    v["median_seeds"] = if r.partial { serde_json::Value::Null } else { r.median(args.budget).into() };
                    v["found"] = r.found().into();
                    v
                })
                .collect();
            let body = serde_json::json!({ "budget": args.budget, "trials": args.trials, "count": args.count, "build": report::json::BUILD, "partial": partial, "rows": rows });
            outln!("{}", report::json::document("hunt", body)?);
        }
        Format::Text => {
            if partial {
                outln!("PARTIAL: interrupted; the rows measured before it follow (a row cut short has no median; its seeds per detection count every seed it ran)");
            }
            out!("{}", table(rows, strategies, args.budget, args.trials));
            out!("{}", means(rows, strategies, args.budget));
        }
    }
    Ok(())
}

fn table(rows: &[Row], strategies: &[Strategy], budget: u64, trials: u64) -> String {
    let mut header = vec!["bug (flaw)".to_string()];
    header.extend(strategies.iter().map(|s| s.to_string()));
    let mut builder = tabled::builder::Builder::default();
    builder.push_record(header);
    let mut names: Vec<&str> = rows.iter().map(|r| r.bug).collect();
    names.dedup();
    for name in names {
        let of_bug: Vec<&Row> = rows.iter().filter(|r| r.bug == name).collect();
        let uniform = of_bug.iter().find(|r| r.strategy == Strategy::Uniform);
        let mut line = vec![format!("{name}\n({})", of_bug[0].flaw)];
        for row in &of_bug {
            let wall: f64 = row.trials.iter().map(|h| h.wall.as_secs_f64()).sum();
            let rate_ratio = match uniform {
                Some(u) if row.strategy != Strategy::Uniform => format!(", {}", rate_ratio(&u.per_detection, &row.per_detection)),
                _ => String::new(),
            };
            let first = match uniform {
                _ if row.partial => format!("cut short after {} seeds", row.per_detection.run),
                Some(u) if row.strategy != Strategy::Uniform && !u.partial => {
                    format!("{}, {:.1}x", row.median_range(budget), u.median(budget) as f64 / row.median(budget).max(1) as f64)
                }
                _ => row.median_range(budget),
            };
            line.push(format!(
                "{first}\nfound {}/{}, {wall:.1}s\n{}{rate_ratio}",
                row.found(),
                row.trials.len(),
                per_detection_text(&row.per_detection)
            ));
        }
        builder.push_record(line);
    }
    let mut out = format!(
        "seeds to first detection, median (min..max) of {trials} trials, full-system, hardened + the flaw, budget {budget} seeds (not found counts as {budget}); Nx = uniform's median / this one\nthird line: seeds per detection over every seed swept (95% interval); Nx = uniform's / this one\n"
    );
    out.push_str(&report::text::rounded(builder.build()));
    out.push('\n');
    out
}

/// "1 per 420 (310..590)", or "none in 6000 (> 1626)".
fn per_detection_text(d: &PerDetection) -> String {
    match (d.estimate, d.high) {
        (Some(e), Some(high)) => format!("1 per {e:.0} ({:.0}..{high:.0})", d.low),
        _ => format!("none in {} (> {:.0})", d.run, d.low),
    }
}

/// Uniform's seeds per detection over this strategy's: `>= N` when uniform found
/// nothing (its seeds run stand in for its figure), `<= N` when this one found nothing,
/// `?` when neither did.
fn rate_ratio(uniform: &PerDetection, this: &PerDetection) -> String {
    let ratio = uniform.bounded() / this.bounded();
    match (uniform.estimate.is_some(), this.estimate.is_some()) {
        (true, true) => format!("{ratio:.1}x"),
        (false, true) => format!(">= {ratio:.1}x"),
        (true, false) => format!("<= {ratio:.1}x"),
        (false, false) => "?".to_string(),
    }
}

/// Per strategy, the geometric mean over the bugs of uniform's figure over its own: by
/// the medians (a median at the budget counted as the budget) and by seeds per
/// detection (a cell that found nothing counted as one detection in its seeds run).
/// A row cut short by a signal is left out: the means compare whole rows.
fn means(rows: &[Row], strategies: &[Strategy], budget: u64) -> String {
    let geomean = |ratios: &[f64]| (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len().max(1) as f64).exp();
    let mut out = String::new();
    for &strategy in strategies.iter().filter(|s| **s != Strategy::Uniform) {
        let (mut by_median, mut by_rate, mut bounded) = (Vec::new(), Vec::new(), 0);
        for row in rows.iter().filter(|r| r.strategy == strategy && !r.partial) {
            let Some(u) = rows.iter().find(|r| r.bug == row.bug && r.strategy == Strategy::Uniform && !r.partial) else { continue };
            by_median.push(u.median(budget) as f64 / row.median(budget).max(1) as f64);
            let (ud, rd) = (&u.per_detection, &row.per_detection);
            by_rate.push(ud.bounded() / rd.bounded());
            bounded += usize::from(ud.estimate.is_none() || rd.estimate.is_none());
        }
        if by_median.is_empty() {
            continue;
        }
        let note = match bounded {
            0 => String::new(),
            n => format!(" ({n} of {} bugs with a cell that found nothing: bounds)", by_rate.len()),
        };
        out.push_str(&format!(
            "{strategy}: geometric mean over {} bug(s) of uniform's figure over its own: {:.2} by medians, {:.2} by seeds per detection{note}\n",
            by_median.len(),
            geomean(&by_median),
            geomean(&by_rate)
        ));
    }
    out
}
