//! ticketsim: a deterministic simulator of the event-driven "ticketing" microservices
//! (tickets, orders, and their NATS-Streaming-like broker) on madsim.
//!
//! The crate is split the way a newcomer looks for things:
//! - [`sim`]: the harness (decision source, network fabric, nemesis, world). It knows
//!   nothing about tickets.
//! - [`broker`], [`app`], [`services`]: the simulated system, written like the real app.
//! - [`history`], [`checkers`]: what happened, and the invariants judged on it.
//! - [`scenario`], [`run`], [`explore`], [`report`], [`bench`]: driving it.

#[cfg(not(madsim))]
compile_error!(
    "ticketsim must be built with `--cfg madsim` (set in .cargo/config.toml). \
     A RUSTFLAGS environment variable replaces that setting: unset it, or add `--cfg madsim` to it."
);

pub mod app;
pub mod bench;
pub mod broker;
pub mod checkers;
pub mod cli;
pub mod determinism;
pub mod diagram;
pub mod explore;
pub mod flaws;
pub mod history;
pub mod junit;
pub mod proto;
pub mod report;
pub mod run;
pub mod scenario;
pub mod selftest;
pub mod services;
pub mod shrink;
pub mod sim;
pub mod testing;
pub mod workload;

pub use explore::{explore, ExploreOptions, ExploreSummary};
pub use run::{run_seed, RunOptions, RunOutcome};
pub use scenario::Scenario;
