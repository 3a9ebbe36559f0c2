//! The system under test: the event-driven ticketing app (tickets, orders,
//! expiration, payments, transactions and accounts, talking through a
//! NATS-Streaming-like broker), as built and hardened. Start with [`system`], which
//! plugs it into the harness.
//!
//! - [`domain`], [`protocol`]: ids, events, documents; what crosses the network
//! - [`common`]: the app's shared library (store, NatsWrapper, Listener, outbox)
//! - [`broker`]: the NATS-Streaming-like broker
//! - [`services`]: one file per service, and the registry of services
//! - [`flaws`]: the catalogue of bugs that can be switched back on
//! - [`workload`]: the simulated users
//! - [`origin`]: what caused each published event (a step's expectations follow it)
//! - [`invariants`]: one file per invariant
//! - [`scenario`]: scenario files (model, validation, source locations, simplifications)
//! - [`selftest`]: proof that every flaw is caught and hardened is clean

pub mod broker;
pub mod common;
pub mod coverage;
pub mod deep;
pub mod domain;
pub mod drain;
pub mod flaws;
pub mod invariants;
pub mod origin;
pub mod protocol;
pub mod scenario;
pub mod script;
pub mod selftest;
pub mod services;
pub mod state;
pub mod system;
pub mod workload;

pub use scenario::Scenario;
pub use state::Ticketing;
