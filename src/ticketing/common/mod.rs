//! The app's shared library (`@ticketing/common` in the original): the kit's versioned
//! store, broker client (`NatsWrapper`, with the Listener and Publisher shapes), outbox
//! and service instance, bound to the ticketing app's types; the settings every
//! instance starts with; and route helpers that answer errors the way the app's error
//! handler does.

use super::domain::TicketingApp;
use crate::kit::store::Counter;
use crate::ticketing::domain::Id;
use crate::ticketing::protocol::{HttpRequest, HttpResponse};
use std::time::Duration;

pub use crate::kit::instance::HttpService;
pub use crate::kit::nats::{ClientConfig, Listener};
pub use crate::kit::outbox::{HasOutbox, SWEEP_AGE, SWEEP_INTERVAL};
pub use crate::kit::store::{Collection, Db, Row, StoreError, Table};
pub use crate::kit::HandlerError;

pub type NatsWrapper = crate::kit::nats::NatsWrapper<TicketingApp>;
pub type Outbox = crate::kit::outbox::Outbox<TicketingApp>;
pub type Instance = crate::kit::instance::Instance<TicketingApp>;
pub type InstanceEnv = crate::kit::instance::InstanceEnv<TicketingApp>;
pub type Emit = crate::kit::instance::Emit<TicketingApp>;
pub type Staged = crate::kit::instance::Staged<TicketingApp>;

/// Subscribes a listener (shorthand for [`InstanceEnv::start`]'s closure).
pub fn listen<L: Listener<Event: crate::kit::event::Payload<Subject = super::domain::Subject>>>(nats: &NatsWrapper, listener: L) {
    crate::kit::instance::listen(nats, listener)
}

/// Settings of the app that scenarios may change.
#[derive(Clone, Debug)]
pub struct AppConfig {
    pub flaws: super::flaws::Flaws,
    /// `expiresAt = now + expiration_window` for new orders.
    pub expiration_window: Duration,
    /// How long the accounts handler works on an event, drawn per event.
    pub accounts_processing: (Duration, Duration),
    /// Test-only: a bug planted outside the switches (see [`crate::ticketing::flaws::Planted`]).
    pub planted: Option<super::flaws::Planted>,
    /// The payment provider's node, when it is a remote party.
    pub provider: Option<crate::harness::fabric::NodeId>,
}

/// The broker client every instance starts with, and what its consumers ask of the
/// broker. On NATS Streaming, the client as built (ack when the handler succeeds,
/// nothing else). On JetStream, the library's JetStream shape: every publish carries
/// its event's id as `Nats-Msg-Id` (a retried publish is stored once); a failed
/// handler naks with a second's delay (redelivered sooner than ack wait, and without
/// spinning); an event that cannot be decoded is terminated (it never will be); a
/// handler still working says so every half ack wait (no redelivery to a second
/// instance while the first works). MaxDeliver stays unlimited: a transient failure is
/// retried until it passes.
pub fn broker_client(flaws: super::flaws::Flaws, broker: &mut crate::kit::broker::BrokerConfig) -> ClientConfig {
    use super::flaws::Flaw;
    use crate::kit::nats::JetStreamUsage;
    use crate::kit::protocol::Reply;
    if broker.kind != crate::kit::broker::BrokerKind::JetStream {
        return ClientConfig::default();
    }
    let mut on_failure = Reply::Nak(Duration::from_secs(1));
    if flaws.on(Flaw::TermOnError) {
        on_failure = Reply::Term;
    }
    if flaws.on(Flaw::MaxDeliverParks) {
        on_failure = Reply::Nak(Duration::ZERO);
        broker.jetstream.max_deliver = Some(3);
    }
    let jetstream = JetStreamUsage {
        msg_ids: true,
        on_failure: Some(on_failure),
        on_undecodable: Some(Reply::Term),
        in_progress_every: Some(broker.ack_wait / 2),
    };
    ClientConfig { jetstream, ..ClientConfig::default() }
}

/// NotAuthorizedError.
pub fn not_authorized(req: &HttpRequest) -> HttpResponse {
    HttpResponse::error(req.id, 401, "Not authorized")
}

/// NotFoundError.
pub fn not_found(req: &HttpRequest) -> HttpResponse {
    HttpResponse::error(req.id, 404, "Not Found")
}

/// BadRequestError (and, in this app, any unexpected error).
pub fn bad_request(req: &HttpRequest, message: &str) -> HttpResponse {
    HttpResponse::error(req.id, 400, message)
}

/// The next id of a kind: `T1`, `T2`, ... (never `T0`).
pub fn new_id(prefix: &str, counter: &mut Counter) -> Id {
    [prefix, itoa::Buffer::new().format(counter.next_value())].concat().into()
}

/// `requireAuth`: the signed-in user, or the 401 to answer.
pub fn require_auth(req: &HttpRequest) -> Result<Id, HttpResponse> {
    req.user.clone().ok_or_else(|| not_authorized(req))
}

/// express-validator's checks on a body field.
pub mod validate {
    use serde_json::Value;

    /// `body(name).not().isEmpty()`: present, and not an empty string (after trimming).
    pub fn non_empty_string(body: &Value, name: &str) -> Option<String> {
        non_empty_text(body, name).map(std::borrow::Cow::into_owned)
    }

    /// [`non_empty_string`], a string field borrowed from the body.
    pub fn non_empty_text<'a>(body: &'a Value, name: &str) -> Option<std::borrow::Cow<'a, str>> {
        match body.get(name)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.as_str().into()),
            Value::Number(n) => Some(n.to_string().into()),
            Value::Bool(b) => Some(b.to_string().into()),
            _ => None,
        }
    }

    /// `body(name).isFloat({ gt: 0 })`: a number, or a string of one, above 0.
    pub fn positive_number(body: &Value, name: &str) -> Option<f64> {
        let x = match body.get(name)? {
            Value::Number(n) => n.as_f64()?,
            Value::String(s) => s.trim().parse::<f64>().ok()?,
            _ => return None,
        };
        (x.is_finite() && x > 0.0).then_some(x)
    }

    /// An id in the app's id form (Mongo's `ObjectId.isValid` in the original): ASCII
    /// letters and digits, 1 to 24 of them.
    pub fn id(body: &Value, name: &str) -> Option<crate::ticketing::domain::Id> {
        id_text(body, name).map(|s| (*s).into())
    }

    /// [`id`], the text borrowed from the body where it is a string.
    pub fn id_text<'a>(body: &'a Value, name: &str) -> Option<std::borrow::Cow<'a, str>> {
        non_empty_text(body, name).filter(|s| is_id(s))
    }

    pub fn is_id(s: &str) -> bool {
        (1..=24).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric())
    }
}
