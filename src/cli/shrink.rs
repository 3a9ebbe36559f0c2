//! `ticketsim shrink`: a failing seed cut down to a small reproduction file that
//! `ticketsim run FILE` replays.

use super::Driven;
use super::{check_file, load, safe_file_name, write_file, Format, ScenarioArgs};
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim shrink order-race --seed 7 --preset as-built\n  ticketsim shrink full-system --seed 1234 --invariant no-lost-events --out repro.toml\n  ticketsim run repro-order-race-7.toml     # replays the reproduction exactly"
)]
pub(crate) struct ShrinkArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The failing seed to shrink
    #[arg(long, env = "TICKETSIM_SEED")]
    seed: u64,
    #[command(flatten)]
    branch: super::BranchArgs,
    /// The invariant to keep failing (default: the first one the seed violates)
    #[arg(long, value_name = "NAME")]
    invariant: Option<String>,
    /// Where to write the reproduction (default: repro-<scenario>-<seed>.toml)
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Most runs to spend (1 to 1000000)
    #[arg(long, default_value_t = 20000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    budget: u32,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) fn execute<S: Driven>(args: ShrinkArgs) -> Result<i32, String> {
    let loaded = load::<S>(&args.scenario)?;
    let scenario = &loaded.scenario;
    let seed = args.seed;
    let out = args.out.unwrap_or_else(|| PathBuf::from(safe_file_name(&format!("repro-{}-{seed}.toml", S::name(scenario)))));
    check_file("out", &out)?;
    let shrunk =
        crate::harness::shrink::shrink_branch::<S>(scenario, seed, &args.branch.get()?, args.invariant.as_deref(), args.budget as usize)?;
    write_file(&out, &S::to_file(&shrunk.scenario)?)?;
    let replay = format!("{} run {}", crate::report::text::program(), crate::report::text::shell_word(&out.display().to_string()));
    match args.format {
        Format::Json => {
            let body = serde_json::json!({
                "scenario": S::name(scenario), "seed": seed,
                "invariant": shrunk.invariant, "fingerprint": shrunk.fingerprint, "before": shrunk.before, "after": shrunk.after,
                "runs": shrunk.runs, "verified": shrunk.verification, "file": out.display().to_string(),
                "replay": replay,
            });
            outln!("{}", crate::report::json::document("shrink", body)?);
        }
        Format::Text => {
            let (b, a) = (shrunk.before, shrunk.after);
            let t = crate::harness::fmt_time;
            let runs = crate::report::style::count(shrunk.runs as u64, "run", "runs");
            outln!("shrunk seed {seed} of {} keeping {} failing ({runs})", S::name(scenario), shrunk.invariant);
            outln!("                 before      after");
            outln!("messages     {:>10} {:>10}", b.messages, a.messages);
            outln!("events       {:>10} {:>10}", b.events, a.events);
            outln!("virtual time {:>10} {:>10}", t(b.virtual_time), t(a.virtual_time));
            outln!("choices      {:>10} {:>10}", b.choices, a.choices);
            print_verification(&shrunk.verification);
            outln!("wrote {}; replay with  {replay}", out.display());
        }
    }
    Ok(0)
}

fn print_verification(v: &crate::harness::shrink::Verification) {
    outln!("verified: two runs show the same bug ({}), trace hash {}", v.fingerprint, v.trace_hash);
    match v.passes_without_bugs {
        Some(true) => outln!("verified: with every flaw off it passes"),
        Some(false) => outln!("note: it fails with every flaw off too: the hardened app (or the invariant) has this bug"),
        None => outln!("note: no flaw is on: the hardened app (or the invariant) has this bug"),
    }
    if v.passes_without_bugs.is_some() {
        outln!("{}", v.causes.line());
    }
    if v.fallbacks > 0 {
        outln!("note: {} later candidates failed verification; kept the last one that passed", v.fallbacks);
    }
}
