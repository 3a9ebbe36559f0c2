//! `ticketsim bench`: the reference scenarios measured beside a bare madsim ping-pong.

#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// Seeds per scenario
    #[arg(long, default_value_t = 200)]
    seeds: u64,
}

pub(crate) fn execute(args: BenchArgs) -> Result<i32, String> {
    crate::bench::run(args.seeds).map(|_| 0)
}
