//! How long the ticketing world takes to show it has settled, and how long a quiet
//! phase must last to drain what a run can leave pending. Liveness is judged only when
//! nothing made progress (a store write, an event accepted or acked, a fault undone) for
//! the settle window before the end: every retry mechanism of the app has then had a
//! full period to act on an unchanging state, so nothing further will happen. A run
//! that was still working too close to its end says "liveness not judged".

use super::common::ClientConfig;
use super::scenario::Scenario;
use super::services::expiration::{JOB_LEASE, POLL_INTERVAL};
use crate::kit::broker::BrokerConfig;
use std::time::Duration;

/// The longest retry period of any mechanism, plus the slowest handler and its round
/// trips: with no progress for this long, the system has reached a fixed point.
pub fn settle_window(s: &Scenario) -> Duration {
    let client = ClientConfig::default();
    let publish = client.publish_timeout * client.publish_attempts;
    let broker = s.broker.config();
    // The kit's redelivery, dead-client and outbox-sweep periods, and the expiration
    // service's: a job taken by a worker that died is taken again after its lease.
    let mut longest = crate::kit::deploy::longest_retry_period(&broker).max(JOB_LEASE + POLL_INTERVAL + publish);
    // With a remote payment provider: an intent left behind is asked again by the
    // reconciler once its request's window has passed.
    if s.app.payment_provider {
        use super::services::payments::{CALL_TIMEOUT, CALL_WINDOW, RECONCILE_INTERVAL};
        longest = longest.max(CALL_WINDOW + RECONCILE_INTERVAL + CALL_TIMEOUT);
    }
    // The slowest handler: its own work, a publish with every retry, a few store round
    // trips and network hops.
    let handler = s.app.accounts_processing[1].0 + publish + s.store.latency[1].0 * 6 + s.network.delay[1].0 * 4;
    longest + handler
}

/// The shortest quiet phase that can let a run drain and then settle: events of the
/// last requests delivered (and redelivered once), orders created at the end of the
/// fault phase expired, then a settle window. `shrink` never cuts the quiet phase below it.
pub fn quiet_floor(s: &Scenario) -> Duration {
    let expirations = if s.runs("expiration") { s.app.expiration_window.0 } else { Duration::ZERO };
    let redelivery = s.broker.ack_wait.0 * 2 + s.network.delay[1].0 * 4;
    expirations + redelivery + settle_window(s)
}

/// How long after a publish a redelivery of it has surely been delivered and handled:
/// one ack wait, the broker's tick, the hops there and back, and a handler's round
/// trips. A `not_acked_by` expectation looks at least this long (else it would pass
/// before any redelivery could have happened).
pub fn redelivery_window(s: &Scenario) -> Duration {
    let broker = BrokerConfig::default();
    s.broker.ack_wait.0 + broker.tick + s.network.delay[1].0 * 4 + s.store.latency[1].0 * 6
}
