//! The kit: what event-driven services on a NATS-Streaming-like (or JetStream) broker share, as
//! building blocks for any app simulated on the harness. An app names its types once
//! ([`App`]: its subjects, its documents, its own observations, its settings) and gets:
//!
//! - [`event`], [`origin`]: events with an identity and a typed payload, and what caused each
//! - [`protocol`]: what crosses the network (HTTP-like requests, the broker protocol)
//! - [`broker`], [`jetstream`]: the brokers (NATS Streaming's, JetStream's), pure state machines
//! - [`broker_node`]: either broker on a node
//! - [`nats`]: a service instance's broker client (`NatsWrapper`, `Listener`, publish)
//! - [`store`], [`outbox`]: versioned stores with change streams, and the outbox
//! - [`instance`]: a service instance on its node, and how it announces its writes
//! - [`ingress`]: the users' side: routes, load balancing, requests, injection
//! - [`obs`]: what the infrastructure reports to the history
//! - [`deploy`]: declaring the broker and the service instances in a world
//! - [`invariants`]: the broker-level invariants (no lost events, no poison messages)
//!
//! The path of one message: a user's request leaves the [`ingress`] client through the
//! fabric to an [`instance`], whose HTTP handler writes its [`store`] (and, hardened,
//! the [`outbox`] in the same transaction) and publishes an [`event`] through its
//! [`nats`] client; the [`broker`] stores it on its channel, acks the publish, and
//! delivers it to one member of each consuming queue group, redelivering until acked;
//! the member's listener handles it and acks. Every step is recorded ([`obs`]), and
//! the [`invariants`] read the record.
//!
//! The kit imports the harness only; the app imports the kit.

pub mod broker;
pub mod broker_node;
pub mod deploy;
pub mod event;
pub mod ingress;
pub mod instance;
pub mod invariants;
pub mod jetstream;
pub mod nats;
pub mod obs;
pub mod origin;
pub mod outbox;
pub mod protocol;
pub mod remote;
pub mod store;

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

/// A record's id (a ticket's, an order's, an event's).
pub type Id = Arc<str>;

/// A durable queue group, named after the consuming service.
pub type Group = &'static str;

/// The channels of an app's broker, one per event subject.
pub trait Subject: Copy + Ord + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static {}

impl<T: Copy + Ord + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static> Subject for T {}

/// An app built on the kit: the types the kit's pieces are generic over.
pub trait App: Clone + fmt::Debug + Send + Sync + 'static {
    /// Its broker's channels.
    type Subject: Subject;
    /// Its stores' documents, as their change streams show them; an outbox entry is one.
    type Doc: Clone + fmt::Debug + fmt::Display + Send + Sync + From<outbox::Sent> + 'static;
    /// What its own code reports to the history beyond the kit's observations (a
    /// scripted step, say); [`obs::Obs::App`] carries it.
    type Note: Clone + fmt::Debug + fmt::Display + Send + Sync + 'static;
    /// The settings every service instance is started with.
    type Config: Clone + Send + Sync + 'static;

    /// The event an outbox entry written unsent holds (so `no-lost-events` follows it).
    fn unsent(doc: &Self::Doc) -> Option<&Id>;

    /// What the trace hash takes of a document: by default its text; an app may hash
    /// its fields instead, which is much cheaper than formatting them.
    fn digest_doc(doc: &Self::Doc, out: &mut crate::harness::history::Digest) {
        out.text(doc);
    }
}

/// What crosses an app's fabric.
pub type Message<A> = protocol::Message<<A as App>::Subject>;

/// An app's events.
pub type Event<A> = event::Event<<A as App>::Subject>;

/// Why a listener did not ack: the message will be redelivered after ack wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerError(pub String);

impl HandlerError {
    pub fn new(message: impl Into<String>) -> Self {
        HandlerError(message.into())
    }
}
