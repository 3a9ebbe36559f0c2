//! `ticketsim selftest`: every flaw against the invariant expected to catch it, and
//! every scenario hardened, which must stay clean.

use super::{check_file, jobs, sweep_code, write_file, Format};
use crate::kit::broker::BrokerKind;
use crate::report::text::selftest_text;
use crate::ticketing::selftest::{selftest, SelftestOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  ticketsim selftest\n  ticketsim selftest --seeds 1000 --trials 5 --junit selftest.xml\n  ticketsim selftest --broker jetstream"
)]
pub(crate) struct SelftestArgs {
    /// Seeds tried per flaw and trial before it counts as missed
    #[arg(long, default_value_t = 500)]
    seeds: u64,
    /// Independent seed windows per flaw (the median is reported)
    #[arg(long, default_value_t = 3)]
    trials: u64,
    /// Seeds of each scenario run with the hardened preset
    #[arg(long, default_value_t = 200)]
    hardened_seeds: u64,
    /// Worker threads, 1 to 256 (default: the core count)
    #[arg(long, env = "TICKETSIM_JOBS")]
    jobs: Option<usize>,
    /// How every sweep explores: uniform, swarm, pct[:D], stretch, hold, rush, coverage, portfolio (docs/strategies.md)
    #[arg(long, value_name = "STRATEGY", default_value = "uniform")]
    strategy: String,
    /// Run every scenario on this broker: streaming (NATS Streaming) or jetstream
    /// (default: each scenario's own)
    #[arg(long, value_name = "BROKER")]
    broker: Option<String>,
    /// Also write a JUnit XML report to this file
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) fn execute(args: SelftestArgs) -> Result<i32, String> {
    if args.seeds == 0 || args.trials == 0 {
        return Err("--seeds and --trials must be at least 1".into());
    }
    let options = SelftestOptions {
        budget: args.seeds,
        trials: args.trials,
        hardened_seeds: args.hardened_seeds,
        jobs: jobs(args.jobs)?,
        strategy: crate::harness::strategy::Strategy::parse(&args.strategy).map_err(|e| format!("--strategy {e}"))?,
        broker: args
            .broker
            .as_deref()
            .map(|name| {
                BrokerKind::from_name(name).ok_or_else(|| format!("--broker {}: allowed: streaming, jetstream", crate::harness::echo(name)))
            })
            .transpose()?,
    };
    if let Some(file) = &args.junit {
        check_file("junit", file)?;
    }
    super::handle_ctrl_c();
    let report = selftest(&options)?;
    if let Some(file) = &args.junit {
        write_file(file, &crate::report::junit::selftest_xml(&report))?;
    }
    match args.format {
        Format::Json => outln!("{}", crate::report::json::document("selftest", &report)?),
        Format::Text => out!("{}", selftest_text(&report)),
    }
    Ok(sweep_code((!report.passed()) as i32))
}
