//! The app's shared library (`@ticketing/common` in the original): the versioned store
//! each service owns, the broker client (`NatsWrapper`), the Listener and Publisher
//! shapes, the outbox of the hardened variant, and the service instance that puts a
//! service on a node.

pub mod instance;
pub mod nats;
pub mod outbox;
pub mod store;

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future returning `T`.
pub type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Why a listener did not ack: the message will be redelivered after ack wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerError(pub String);

impl HandlerError {
    pub fn new(message: impl Into<String>) -> Self {
        HandlerError(message.into())
    }
}
