//! ticketsim: a deterministic simulator of the event-driven "ticketing" microservices
//! (tickets, orders, expiration, payments, transactions and accounts, and their
//! NATS-Streaming-like broker) on madsim.
//!
//! Layers point one way:
//! - [`harness`]: the simulator (decisions, network, faults, world runtime, history,
//!   runs, sweeps, shrinking, determinism), generic over a [`harness::System`]. It
//!   imports nothing from the layers above.
//! - [`kit`]: what event-driven apps on a NATS-Streaming-like broker share (broker,
//!   broker client, stores and outbox, instances, ingress, broker-level invariants),
//!   generic over a [`kit::App`]; it imports the harness only.
//! - [`ticketing`]: the system under test, written like the real app, and its
//!   invariants, flaws, workload and scenarios; [`ticketing::system`] plugs it in.
//! - [`report`], [`cli`], [`testing`], [`bench`]: commands and reports over both.

// Without `--cfg madsim`, madsim itself fails to build first (its non-simulation mode
// wants tokio's macros); should it ever build, this says what is wrong.
#[cfg(not(madsim))]
compile_error!(
    "ticketsim must be built with `--cfg madsim` (set in .cargo/config.toml). \
     A RUSTFLAGS environment variable replaces that setting: unset it, or add `--cfg madsim` to it."
);

/// `println!` for the commands' output: a failed write to standard output ends the
/// process with a message instead of a panic (see `cli::output::print_or_exit`).
macro_rules! outln {
    () => {
        $crate::cli::output::print_or_exit(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::print_or_exit(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` for the commands' output (see [`outln`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::print_or_exit(format_args!($($arg)*))
    };
}

pub mod bench;
pub mod cli;
pub mod harness;
pub mod kit;
pub mod report;
pub mod testing;
pub mod ticketing;

pub use harness::explore::{ExploreOptions, ExploreSummary};
pub use harness::run::{RunOptions, RunOutcome};
pub use ticketing::{Scenario, Ticketing};

/// Runs one seed of a ticketing scenario (see [`harness::run::run_seed`]).
pub fn run_seed(scenario: &Scenario, seed: u64, options: &RunOptions) -> RunOutcome<Ticketing> {
    harness::run::run_seed::<Ticketing>(scenario, seed, options)
}

/// Sweeps seeds of a ticketing scenario (see [`harness::explore::explore`]).
pub fn explore(scenario: &Scenario, options: &ExploreOptions) -> ExploreSummary {
    harness::explore::explore::<Ticketing>(scenario, options)
}
