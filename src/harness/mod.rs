//! The simulation harness: everything that is not the system under test. It knows
//! nothing about tickets. A system plugs in through the [`System`] trait: its nodes and
//! how they start and restart, its workload, its final state and its invariants. The
//! harness gives it a network ([`fabric`]), stores ([`store`]) and a probe for its
//! infrastructure ([`world::Probe`]); faults, random decisions and time all come from here.
//!
//! - [`choices`]: the one decision source (draws from madsim's seeded RNG; record, replay)
//! - [`fabric`]: every message between nodes; drop, duplicate, delay, partitions
//! - [`nemesis`]: the fault plan and its execution (crash, restart, pause, partition)
//! - [`world`]: the world runtime: madsim nodes, incarnations, attach/detach
//! - [`store`]: the store handle a service gets (round trips, observed writes)
//! - [`history`]: what happened, with virtual times
//! - [`run`], [`explore`], [`shrink`], [`determinism`]: one seed, sweeps, minimal
//!   reproductions, the determinism check

pub mod choices;
pub mod determinism;
pub mod explore;
pub mod fabric;
pub mod history;
pub mod nemesis;
pub mod run;
pub mod shrink;
pub mod store;
pub mod system;
pub mod world;

pub use system::{Check, Invariant, InvariantKind, System, Violation};

use std::time::Duration;

/// Virtual time elapsed since the simulation started.
pub fn now() -> Duration {
    madsim::time::TimeHandle::current().elapsed()
}

/// Formats a virtual time as seconds with millisecond precision, e.g. `12.345s`.
pub fn fmt_time(t: Duration) -> String {
    format!("{}.{:03}s", t.as_secs(), t.subsec_millis())
}

/// A virtual time to the microsecond, for telling apart events a millisecond hides.
pub fn fmt_time_precise(t: Duration) -> String {
    format!("{}.{:06}s", t.as_secs(), t.subsec_micros())
}

/// A boxed, sendable future.
pub type BoxFuture<T = ()> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;
