//! `ticketsim bench`: the reference scenarios measured beside a bare madsim ping-pong.

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  ticketsim bench\n  ticketsim bench --seeds 1000      # steadier figures (docs/performance.md)")]
pub(crate) struct BenchArgs {
    /// Seeds per scenario, 1 to 1000000
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    seeds: u64,
    /// Threads of the sweep that measures seeds/s per core, 1 to 256 (default: the core count)
    #[arg(long, env = "TICKETSIM_JOBS")]
    jobs: Option<usize>,
}

pub(crate) fn execute(args: BenchArgs) -> Result<i32, String> {
    crate::bench::run(args.seeds, super::jobs(args.jobs)?).map(|_| 0)
}
