//! `ticketsim explain`: which flaws cause a failing seed's bugs. For each distinct bug
//! (fingerprint) of the run, a minimal set of flaws verified on the same decisions to
//! be sufficient and necessary, or why none could be established.

use super::Driven;
use super::{load, run_scenario, Format, ScenarioArgs};
use crate::harness::attribute::{attribute, Attribution};
use crate::harness::run::RunOptions;
use crate::report;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim explain order-race --seed 7 --preset as-built\n  ticketsim explain tickets-orders --seed 23 --preset as-built --invariant no-double-reservation\n  ticketsim explain repro-order-race-7.toml"
)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The seed; required unless SCENARIO is a reproduction file
    #[arg(long, env = "TICKETSIM_SEED")]
    seed: Option<u64>,
    #[command(flatten)]
    branch: super::BranchArgs,
    /// Only the bugs of this invariant
    #[arg(long, value_name = "NAME")]
    invariant: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// One bug of the run and what causes it.
#[derive(serde::Serialize)]
struct Explained {
    invariant: &'static str,
    fingerprint: String,
    example: String,
    attribution: Attribution,
}

pub(crate) fn execute<S: Driven>(args: ExplainArgs) -> Result<i32, String> {
    let loaded = load::<S>(&args.scenario)?;
    let scenario = &loaded.scenario;
    if args.seed.is_none() && S::reproduction(scenario).is_none() {
        return Err("explain needs --seed N (or a reproduction file)".into());
    }
    let branch = args.branch.get()?;
    let options = RunOptions { branch: branch.clone(), ..Default::default() };
    let (seed, outcome) = run_scenario::<S>(scenario, args.seed, &options);
    if let Some(name) = &args.invariant {
        if !outcome.violations.iter().any(|v| v.invariant == name) {
            let known = S::invariants().iter().map(|i| i.name).chain(crate::harness::run::HARNESS_FINDINGS.iter().copied());
            if !known.clone().any(|k| k == name) {
                return Err(format!(
                    "--invariant {}: unknown invariant{}",
                    crate::harness::echo(name),
                    crate::harness::did_you_mean(name, known)
                ));
            }
            return Err(format!("seed {seed} does not violate {name}"));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut explained = Vec::new();
    for v in outcome.violations.iter().filter(|v| args.invariant.as_deref().is_none_or(|n| n == v.invariant)) {
        if !seen.insert(v.fingerprint()) {
            continue;
        }
        let rerun = |s: &S::Scenario, o: &RunOptions| {
            let seed = S::reproduction(s).map_or(Some(seed), |_| None);
            run_scenario::<S>(s, seed, &RunOptions { branch: branch.clone(), ..o.clone() }).1
        };
        let attribution = attribute::<S>(scenario, v.invariant, &v.fingerprint(), &rerun);
        explained.push(Explained { invariant: v.invariant, fingerprint: v.fingerprint(), example: v.explanation.clone(), attribution });
    }
    let replay = super::replay_of::<S>(scenario, &loaded.path, seed, &branch, &loaded.overrides);
    match args.format {
        Format::Json => {
            let body = serde_json::json!({ "scenario": S::name(scenario), "seed": seed, "bugs": explained, "replay": replay });
            outln!("{}", report::json::document("explain", body)?);
        }
        Format::Text if explained.is_empty() => outln!("seed {seed} of {} violates nothing: nothing to explain", S::name(scenario)),
        Format::Text => {
            outln!(
                "seed {seed} of {}: {}",
                S::name(scenario),
                report::style::count(explained.len() as u64, "distinct bug", "distinct bugs")
            );
            for e in &explained {
                outln!("{}\n  e.g. {}\n  {}", e.fingerprint, e.example, e.attribution.line());
                if let Attribution::Caused { causes, .. } = &e.attribution {
                    for cause in causes {
                        outln!("  see it fixed:  {replay} --fix {cause}");
                    }
                }
            }
        }
    }
    Ok(outcome.failed() as i32)
}
