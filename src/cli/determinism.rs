//! `ticketsim check-determinism`: each seed run twice (the second checked draw for draw
//! against the first) and once in a parallel sweep; the first divergence, if any.

use super::Driven;
use super::{jobs, load, parse_range, sweep_code, Format, ScenarioArgs};
use crate::harness::determinism::{self, Event, Report};
use crate::harness::run::RunOptions;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim check-determinism full-system\n  ticketsim check-determinism order-race --seeds 0..500 --jobs 2\n  ticketsim check-determinism full-system --seeds 0..200 --ties   # how often madsim's tie-breaks change a run"
)]
pub(crate) struct DeterminismArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Seeds: A..B (B excluded), a count N (0..N), or random[:N]
    #[arg(long, env = "TICKETSIM_SEEDS", default_value = "0..50")]
    seeds: String,
    /// Worker threads for the parallel sweep, 1 to 256 (default: the core count)
    #[arg(long, env = "TICKETSIM_JOBS")]
    jobs: Option<usize>,
    /// Instead: measure how often a tie madsim's scheduler breaks changes a run (each seed
    /// again with madsim on another seed, the run's own decisions unchanged)
    #[arg(long)]
    ties: bool,
    /// No progress line
    #[arg(long, short)]
    quiet: bool,
    /// Test-only: plant a nondeterminism (state leaking between runs) to be located
    #[arg(long, hide = true)]
    plant_nondeterminism: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn show(e: &Option<Event>) -> String {
    match e {
        Some(e) => format!("event {} at {} on {}: {}", e.index, crate::harness::fmt_time_precise(e.time), e.node, e.text),
        None => "(the run had already ended)".into(),
    }
}

fn print(report: &Report, planned: u64) {
    if report.partial {
        outln!("PARTIAL: interrupted after {} of {planned} seeds", report.seeds);
    }
    if report.count == 0 {
        let seeds = crate::report::style::count(report.seeds, "seed", "seeds");
        outln!(
            "{seeds}, each run twice and once in a parallel sweep: {}",
            crate::report::style::paint("no divergence", crate::report::style::Tone::Pass)
        );
    }
    for d in report.divergences.iter().take(10) {
        let label = if d.against == "second run" { "second" } else { "parallel" };
        outln!("seed {} diverges from the {}:\n  first run: {}\n  {label:<9}: {}", d.seed, d.against, show(&d.first), show(&d.other));
    }
    if report.count > 10 {
        outln!("... and {} more", crate::report::style::count(report.count - 10, "divergence", "divergences"));
    }
}

pub(crate) fn execute<S: Driven>(args: DeterminismArgs) -> Result<i32, String> {
    let loaded = load::<S>(&args.scenario)?;
    let seeds = parse_range(&args.seeds)?;
    let (planned, jobs) = (seeds.end - seeds.start, jobs(args.jobs)?);
    let options = RunOptions { plant_nondeterminism: args.plant_nondeterminism, ..Default::default() };
    super::handle_ctrl_c();
    if args.ties {
        return ties::<S>(&loaded.scenario, seeds, jobs, args.quiet, args.format);
    }
    let mut progress = super::progress::Progress::new(planned, args.quiet);
    let report = determinism::check_with::<S>(&loaded.scenario, seeds, jobs, &options, &mut |r| progress.update(r.seeds, r.count));
    progress.finish();
    match args.format {
        Format::Json => outln!("{}", crate::report::json::document("check-determinism", &report)?),
        Format::Text => print(&report, planned),
    }
    Ok(sweep_code((report.count > 0) as i32))
}

/// `--ties`: how often madsim's own tie-breaks change a run. Exit 0: this is a
/// measurement, not a check.
fn ties<S: Driven>(scenario: &S::Scenario, seeds: std::ops::Range<u64>, jobs: usize, quiet: bool, format: Format) -> Result<i32, String> {
    let mut progress = super::progress::Progress::new(seeds.end - seeds.start, quiet);
    let ties = determinism::ties::<S>(scenario, seeds, jobs, &mut |t| progress.update(t.seeds, t.changed));
    progress.finish();
    match format {
        Format::Json => outln!("{}", crate::report::json::document("ties", &ties)?),
        Format::Text => {
            let pct = |n: u64| n as f64 * 100.0 / ties.seeds.max(1) as f64;
            outln!(
                "{} run again with madsim's scheduler on another seed (the run's own decisions unchanged):",
                crate::report::style::count(ties.seeds, "seed", "seeds")
            );
            // Where they part is a mean over the runs that changed: none, none to tell.
            let parting = match ties.changed {
                0 => String::new(),
                _ => format!("; where they part, {:.0}% of the run is behind them on average", ties.mean_common_prefix * 100.0),
            };
            outln!("  {} ({:.1}%) changed at all{parting}", ties.changed, pct(ties.changed));
            outln!("  {} ({:.1}%) changed which bugs the run shows", ties.verdict_changed, pct(ties.verdict_changed));
            for (seed, step) in ties.examples.iter().take(5) {
                match step {
                    Some(s) => outln!("  seed {seed} parts at {} on {}: {}", crate::harness::fmt_time_precise(s.time), s.node, s.text),
                    None => outln!("  seed {seed}: the re-scheduled run goes on past the original's end"),
                }
            }
        }
    }
    Ok(sweep_code(0))
}
