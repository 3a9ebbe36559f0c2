//! `ticketsim explore`: a sweep of many seeds; failing seeds grouped by invariant and
//! by bug fingerprint; JUnit and a regression corpus on request.

use super::{check_dir, check_file, jobs, load, parse_range, safe_file_name, sweep_code, write_file, Format, ScenarioArgs};
use crate::harness::explore::{explore_with, ExploreOptions, ExploreSummary, SeedPlan};
use crate::report;
use crate::ticketing::{Scenario, Ticketing};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  ticketsim explore order-race --preset as-built --seeds 0..1000\n  ticketsim explore full-system --seeds random:5000 --junit report.xml   # new seeds each run\n  ticketsim explore full-system --seeds 0..100000 --shard 3/8 --save-failures corpus")]
pub(crate) struct ExploreArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Seeds: A..B (B excluded), a count N (0..N), or random[:N] (a fresh random start, printed first)
    #[arg(long, env = "TICKETSIM_SEEDS", default_value = "0..100")]
    seeds: String,
    /// Worker threads, 1 to 256 (default: the core count)
    #[arg(long, env = "TICKETSIM_JOBS")]
    jobs: Option<usize>,
    /// Run one shard I/N of the range (the seeds whose position is I mod N), I from 0
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Stop at the first failing seed
    #[arg(long)]
    fail_fast: bool,
    /// Also write a JUnit XML report to this file
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write one reproduction file per distinct bug (its smallest seed) into this directory
    #[arg(long, value_name = "DIR")]
    save_failures: Option<PathBuf>,
    /// No progress line
    #[arg(long, short)]
    quiet: bool,
    /// Show tables at full width instead of fitting the terminal
    #[arg(long)]
    pub(crate) wide: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--shard {text}: write I/N with 0 <= I < N, e.g. 0/4");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

pub(crate) fn execute(args: ExploreArgs) -> Result<i32, String> {
    let loaded = load(&args.scenario)?;
    let (scenario, overrides, path) = (&loaded.scenario, &loaded.overrides, &loaded.path);
    let options = ExploreOptions {
        seeds: parse_range(&args.seeds)?,
        jobs: jobs(args.jobs)?,
        shard: args.shard.as_deref().map(parse_shard).transpose()?,
        fail_fast: args.fail_fast,
        keep_trace_hashes: false,
    };
    if SeedPlan::of(&options).is_empty() {
        return Err(format!("--shard {} of --seeds {}: this shard has no seeds; nothing to run", args.shard.as_deref().unwrap_or(""), args.seeds));
    }
    // An hour of sweeping must not die on a typo in an output path.
    if let Some(file) = &args.junit {
        check_file("junit", file)?;
    }
    if let Some(dir) = &args.save_failures {
        check_dir("save-failures", dir)?;
    }
    super::handle_ctrl_c();
    let mut progress = super::progress::Progress::new(SeedPlan::of(&options).len(), args.quiet);
    let summary = explore_with::<Ticketing>(scenario, &options, &mut |summary: &ExploreSummary, _| progress.update(summary.seeds_run, summary.failing));
    progress.finish();
    if let Some(file) = &args.junit {
        write_file(file, &report::junit::explore_xml(scenario, path, &summary, overrides))?;
    }
    if let Some(dir) = &args.save_failures {
        save_reproductions(dir, scenario, &summary)?;
    }
    match args.format {
        Format::Json => println!("{}", report::json::document("explore", report::json::explore(scenario, path, overrides, &summary))?),
        Format::Text => print!("{}", report::text::explore_text(&summary, path, overrides)),
    }
    Ok(sweep_code((summary.failing > 0) as i32))
}

/// `explore --save-failures DIR`: one reproduction file per distinct bug (fingerprint),
/// for its smallest seed, for a regression corpus that `ticketsim run DIR` replays. Two
/// bugs seen on one seed get a file each, told apart by a short hash of the fingerprint.
fn save_reproductions(dir: &Path, scenario: &Scenario, summary: &ExploreSummary) -> Result<(), String> {
    for group in summary.groups.values() {
        let mut repro = scenario.clone();
        repro.reproduce = Some(crate::harness::system::Reproduce {
            seed: group.smallest.seed,
            invariant: group.invariant.clone(),
            fingerprint: Some(group.fingerprint.clone()),
            choices: None,
        });
        let tag = crate::harness::history::short_hash(&group.fingerprint);
        let file = dir.join(safe_file_name(&format!("{}-{}-seed{}-{tag}.toml", scenario.name, group.invariant, group.smallest.seed)));
        write_file(&file, &repro.to_file()?)?;
    }
    Ok(())
}
