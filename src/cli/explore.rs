//! `ticketsim explore`: a sweep of many seeds; failing seeds grouped by invariant and
//! by bug fingerprint; JUnit and a regression corpus on request.

use super::Driven;
use super::{check_dir, check_file, jobs, load, parse_range, safe_file_name, sweep_code, write_file, Format, ScenarioArgs};
use crate::harness::explore::{explore_with, ExploreOptions, ExploreSummary, Partition, PartitionKind, SeedPlan};
use crate::report;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim explore order-race --preset as-built --seeds 0..1000\n  ticketsim explore full-system --seeds random:5000 --junit report.xml   # new seeds each run\n  ticketsim explore full-system --seeds 0..100000 --partition hash:3/8 --format json > part-3.json\n  ticketsim merge part-*.json --junit report.xml                           # the 8 machines' reports as one"
)]
pub(crate) struct ExploreArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Seeds: A..B (B excluded), a count N (0..N), or random[:N] (a fresh random start, printed first)
    #[arg(long, env = "TICKETSIM_SEEDS", default_value = "0..100")]
    seeds: String,
    /// Worker threads, 1 to 256 (default: the core count)
    #[arg(long, env = "TICKETSIM_JOBS")]
    jobs: Option<usize>,
    /// Run partition M of N (1-based): `hash:M/N`, `range:M/N` (or `M/N`), `count:M/N`; M may
    /// be `auto` (from TICKETSIM_PARTITION_INDEX, JOB_COMPLETION_INDEX + 1, or SLURM_ARRAY_TASK_ID
    /// counted from SLURM_ARRAY_TASK_MIN)
    #[arg(long, value_name = "KIND:M/N", env = "TICKETSIM_PARTITION")]
    partition: Option<String>,
    /// Older spelling: shard I/N, I from 0 (= --partition count:I+1/N)
    #[arg(long, value_name = "I/N", hide = true, conflicts_with = "partition")]
    shard: Option<String>,
    /// Stop at the first failing seed
    #[arg(long)]
    fail_fast: bool,
    /// A seed whose liveness could not be judged fails (`liveness-not-judged`); the default
    /// when CI=true. Without it such seeds are only counted
    #[arg(long, conflicts_with = "allow_unjudged")]
    require_judged: bool,
    /// Count seeds whose liveness could not be judged without failing them, even under CI=true
    #[arg(long)]
    allow_unjudged: bool,
    /// Also write a JUnit XML report to this file
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write one reproduction file per distinct bug (its smallest seed) into this directory
    #[arg(long, value_name = "DIR")]
    save_failures: Option<PathBuf>,
    /// Do not judge the causes of the bugs found (by default each distinct bug, up to 40,
    /// is attributed to the flaws that cause it on its smallest seed)
    #[arg(long)]
    no_causes: bool,
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

fn parse_shard(text: &str) -> Result<Partition, String> {
    let bad = || format!("--shard {text}: write I/N with 0 <= I < N, e.g. 0/4 (or --partition count:1/4)");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok(Partition { kind: PartitionKind::Count, index: i + 1, count: n })
}

/// `--partition`, its `auto` index taken from the environment of a batch system.
fn parse_partition(text: &str) -> Result<Partition, String> {
    let resolved = match text.split_once("auto/") {
        Some((kind, n)) => {
            let from =
                |var: &'static str, add: u64| std::env::var(var).ok().and_then(|v| v.trim().parse::<u64>().ok()).map(|i| (var, i + add));
            let (var, index) = from("TICKETSIM_PARTITION_INDEX", 0)
                .or_else(|| from("JOB_COMPLETION_INDEX", 1))
                .or_else(|| {
                    // A Slurm array counts from whatever the user wrote (--array=0-7 or 1-8).
                    let first = std::env::var("SLURM_ARRAY_TASK_MIN").ok().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(1);
                    from("SLURM_ARRAY_TASK_ID", 0).and_then(|(var, id)| id.checked_sub(first).map(|i| (var, i + 1)))
                })
                .ok_or_else(|| format!("--partition {text}: auto needs TICKETSIM_PARTITION_INDEX, JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID (Slurm) set to a number"))?;
            eprintln!("partition {kind}{index}/{n} (auto, from {var})");
            format!("{kind}{index}/{n}")
        }
        None => text.to_string(),
    };
    Partition::parse(&resolved).map_err(|e| format!("--partition {e}"))
}

pub(crate) fn execute<S: Driven>(args: ExploreArgs) -> Result<i32, String> {
    let loaded = load::<S>(&args.scenario)?;
    let (scenario, overrides, path) = (&loaded.scenario, &loaded.overrides, &loaded.path);
    if (args.partition.is_some() || args.shard.is_some()) && args.seeds.trim_start().starts_with("random") {
        return Err(format!("--seeds {} with a partition: every machine would draw its own random start and the partitions would not fit together; choose the range once and give every machine the same --seeds A..B", args.seeds));
    }
    let options = ExploreOptions {
        seeds: parse_range(&args.seeds)?,
        jobs: jobs(args.jobs)?,
        partition: match (&args.partition, &args.shard) {
            (Some(p), _) => Some(parse_partition(p)?),
            (None, Some(shard)) => Some(parse_shard(shard)?),
            (None, None) => None,
        },
        fail_fast: args.fail_fast,
        stop_on: None,
        keep_trace_hashes: false,
        require_judged: super::require_judged(args.require_judged, args.allow_unjudged),
    };
    if SeedPlan::of(&options).is_empty() {
        let part = options.partition.map(|p| p.to_string()).unwrap_or_default();
        return Err(format!("partition {part} of --seeds {}: this partition has no seeds; nothing to run", args.seeds));
    }
    // An hour of sweeping must not die on a typo in an output path.
    if let Some(file) = &args.junit {
        check_file("junit", file)?;
    }
    if let Some(dir) = &args.save_failures {
        check_dir("save-failures", dir)?;
    }
    let info = report::json::SweepInfo::of::<S>(
        (scenario, S::name(scenario), &S::to_file(scenario).unwrap_or_default()),
        path,
        overrides,
        &options,
    );
    super::handle_ctrl_c();
    let mut progress = super::progress::Progress::new(SeedPlan::of(&options).len(), args.quiet);
    let summary =
        explore_with::<S>(scenario, &options, &mut |summary: &ExploreSummary, _| progress.update(summary.seeds_run, summary.failing));
    progress.finish();
    let mut summary = summary;
    if !args.no_causes && summary.failing > 0 && !crate::harness::interrupt::stop_requested() {
        summary.triage = Some(crate::harness::triage::triage::<S>(scenario, &summary, options.jobs));
    }
    if let Some(file) = &args.junit {
        write_file(file, &report::junit::explore_xml::<S>(&info, &summary))?;
    }
    if let Some(dir) = &args.save_failures {
        save_reproductions::<S>(dir, scenario, &summary)?;
    }
    match args.format {
        Format::Json => outln!("{}", report::json::document("explore", report::json::explore(&info, &summary))?),
        Format::Text => out!("{}", report::text::explore_text(&summary, path, overrides)),
    }
    Ok(sweep_code((summary.failing > 0) as i32))
}

/// `explore --save-failures DIR`: one reproduction file per distinct bug (fingerprint),
/// for its smallest seed, for a regression corpus that `ticketsim run DIR` replays. Two
/// bugs seen on one seed get a file each, told apart by a short hash of the fingerprint.
fn save_reproductions<S: Driven>(dir: &Path, scenario: &S::Scenario, summary: &ExploreSummary) -> Result<(), String> {
    for group in summary.groups.values() {
        let reproduce = Some(crate::harness::system::Reproduce {
            format: crate::harness::choices::RECORD_FORMAT,
            seed: group.smallest.seed,
            invariant: group.invariant.clone(),
            fingerprint: Some(group.fingerprint.clone()),
            choices: None,
            branch: group.smallest.branch.clone(),
            plan: Vec::new(),
            schedule: None,
        });
        let repro = S::with_reproduction(scenario, reproduce);
        let tag = crate::harness::history::short_hash(&group.fingerprint);
        let file = dir.join(safe_file_name(&format!("{}-{}-seed{}-{tag}.toml", S::name(scenario), group.invariant, group.smallest.seed)));
        write_file(&file, &S::to_file(&repro)?)?;
    }
    Ok(())
}
