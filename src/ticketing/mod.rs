//! The system under test: the event-driven ticketing app (tickets, orders,
//! expiration, payments, transactions and accounts, talking through a
//! NATS-Streaming-like broker), as built and hardened. Start with [`system`], which
//! plugs it into the harness.
//!
//! - [`domain`], [`protocol`]: subjects, payloads, documents, the app's types for the
//!   kit ([`domain::TicketingApp`]); what crosses the network
//! - [`common`]: the app's shared library (the kit's store, NatsWrapper, Listener and
//!   outbox bound to the app's types)
//! - [`services`]: one file per service, and the registry of services
//! - [`flaws`]: the catalogue of bugs that can be switched back on
//! - [`workload`]: the simulated users
//! - [`invariants`]: one file per invariant
//! - [`scenario`]: scenario files (model, validation, source locations, simplifications)
//! - [`selftest`]: proof that every flaw is caught and hardened is clean

pub mod common;
pub mod coverage;
pub mod deep;
pub mod domain;
pub mod drain;
pub mod flaws;
pub mod invariants;
pub mod protocol;
pub mod provider;
pub mod scenario;
pub mod script;
pub mod selftest;
pub mod services;
pub mod state;
pub mod system;
pub mod workload;

pub use scenario::Scenario;
pub use state::Ticketing;
