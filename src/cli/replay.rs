//! `ticketsim replay`: one seed again, with its full trace (virtual timestamps, the
//! node of each line), filtered by record, node and time; the state of the records
//! involved in each violation.

use super::{load, replay_of, run_scenario, BranchArgs, FilterArgs, ScenarioArgs};
use crate::harness::run::RunOptions;
use crate::report;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim replay order-race --seed 7 --preset as-built\n  ticketsim replay order-race --seed 7 --preset as-built --record T2 --from 1s --until 3s\n  ticketsim replay order-race --seed 7 --preset as-built --fix racy-reservation\n  ticketsim replay repro-order-race-7.toml --messages --node orders-1"
)]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The seed (default 0, as for `run`, or a reproduction file's own)
    #[arg(long, env = "TICKETSIM_SEED")]
    seed: Option<u64>,
    #[command(flatten)]
    branch: BranchArgs,
    #[command(flatten)]
    fix: super::fix::FixArgs,
    /// Run madsim's scheduler on this seed (its tie-breaks), the decisions unchanged
    #[arg(long, value_name = "N", hide = true)]
    scheduler_seed: Option<u64>,
    /// Also trace every network message (sent, dropped, duplicated, delivered)
    #[arg(long)]
    messages: bool,
    /// Show tables at full width instead of fitting the terminal
    #[arg(long)]
    pub(crate) wide: bool,
    #[command(flatten)]
    filter: FilterArgs,
}

pub(crate) fn execute<S: super::Driven>(args: ReplayArgs) -> Result<i32, String> {
    let loaded = load::<S>(&args.scenario)?;
    let scenario = &loaded.scenario;
    let filter = args.filter.filter()?;
    let branch = args.branch.get()?;
    let fixes = args.fix.flaws::<S>(scenario)?;
    super::init_tracing();
    let options = RunOptions {
        trace: Some(filter.clone()),
        record_messages: args.messages,
        keep_history: true,
        branch: branch.clone(),
        log_switches: !fixes.is_empty(),
        scheduler_seed: args.scheduler_seed,
        require_judged: true,
        ..Default::default()
    };
    let (seed, outcome) = run_scenario::<S>(scenario, args.seed, &options);
    super::matched_something(&filter, &outcome)?;
    outln!("{}", report::text::run_table(&outcome, scenario, S::name(scenario)));
    out!("{}", report::text::plan_text(&outcome));
    if outcome.failed() {
        outln!("{}", report::text::violations_table(&outcome.violations, 50));
        if let Some(history) = &outcome.history {
            let entries = history.entries();
            // A violation that names no record (a run-wide finding) has no state to show.
            for v in outcome.violations.iter().filter(|v| !v.records.is_empty()).take(5) {
                let (records, at) = (v.records.join(", "), crate::harness::fmt_time(v.time));
                let state = S::involved_state(&entries, v);
                if state.is_empty() {
                    outln!("state of {records} at {at} ({}): no store wrote a record it names by then", v.invariant);
                    continue;
                }
                outln!("state of {records} at {at} ({}):", v.invariant);
                for line in &state {
                    outln!("  {line}");
                }
            }
        }
    } else {
        outln!("{}", crate::report::style::paint("no invariant violated", crate::report::style::Tone::Pass));
    }
    if !fixes.is_empty() {
        out!("{}", super::fix::text(&outcome, &super::fix::counterpart::<S>(scenario, seed, &branch, &fixes, &outcome)));
    }
    outln!("replayed with  {}", replay_of::<S>(scenario, &loaded.path, seed, &branch, &loaded.overrides));
    Ok(outcome.failed() as i32)
}
