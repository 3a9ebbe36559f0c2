//! The event payloads, as the app publishes them (JSON, camelCase), and the identity
//! each is published with.

use super::{as_js_number, Id, OrderStatus, Payload, Subject, TransactionKind};
use serde::{Deserialize, Serialize};

macro_rules! payload {
    ($ty:ty, $subject:expr, |$p:ident| $identity:expr) => {
        impl Payload for $ty {
            type Subject = Subject;
            const SUBJECT: Subject = $subject;
            fn identity(&self) -> (&str, Option<u64>) {
                let $p = self;
                $identity
            }
        }
    };
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketCreated {
    pub id: Id,
    pub version: u64,
    pub title: String,
    #[serde(serialize_with = "as_js_number")]
    pub price: f64,
    pub user_id: Id,
}
payload!(TicketCreated, Subject::TicketCreated, |p| (&p.id, Some(p.version)));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketUpdated {
    pub id: Id,
    pub version: u64,
    pub title: String,
    #[serde(serialize_with = "as_js_number")]
    pub price: f64,
    pub user_id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Id>,
}
payload!(TicketUpdated, Subject::TicketUpdated, |p| (&p.id, Some(p.version)));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketRef {
    pub id: Id,
    #[serde(serialize_with = "as_js_number")]
    pub price: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderCreated {
    pub id: Id,
    /// Absent when the `unversioned-order-events` flaw is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    pub status: OrderStatus,
    pub user_id: Id,
    /// Virtual microseconds; on the wire an ISO-8601 string as the app sends it
    /// (`expiration.toISOString()`), the run starting at 1970-01-01T00:00:00Z. A number
    /// (virtual microseconds) is read too (see [`iso_time`]).
    #[serde(with = "iso_time")]
    pub expires_at: u64,
    pub ticket: TicketRef,
}
payload!(OrderCreated, Subject::OrderCreated, |p| (&p.id, p.version));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketId {
    pub id: Id,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderCancelled {
    pub id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    pub ticket: TicketId,
}
payload!(OrderCancelled, Subject::OrderCancelled, |p| (&p.id, p.version));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpirationComplete {
    pub order_id: Id,
}
payload!(ExpirationComplete, Subject::ExpirationComplete, |p| (&p.order_id, None));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentCreated {
    pub id: Id,
    pub order_id: Id,
    pub stripe_id: Id,
}
payload!(PaymentCreated, Subject::PaymentCreated, |p| (&p.id, None));

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransactionCreated {
    pub id: Id,
    pub user_id: Id,
    pub kind: TransactionKind,
    pub amount: i64,
    pub number: u64,
}
payload!(TransactionCreated, Subject::TransactionCreated, |p| (&p.id, None));

/// A virtual time on the wire as ISO-8601 (RFC 3339, microseconds, UTC), the run's
/// start being the Unix epoch: `3s` is `"1970-01-01T00:00:03.000000Z"`. Read back from
/// that form (any RFC 3339 time at or after the epoch) or from a number of virtual
/// microseconds, as scripts written before it did.
pub mod iso_time {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::{Duration, SystemTime};

    pub fn format(micros: u64) -> String {
        humantime::format_rfc3339_micros(SystemTime::UNIX_EPOCH + Duration::from_micros(micros)).to_string()
    }

    pub fn parse(text: &str) -> Result<u64, String> {
        let time = humantime::parse_rfc3339(text)
            .map_err(|e| format!("{text:?} is not an ISO-8601 time ({e}); write e.g. \"1970-01-01T00:00:03.000Z\" (3s into the run)"))?;
        let since = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| format!("{text:?} is before the run's start (1970-01-01T00:00:00Z)"))?;
        u64::try_from(since.as_micros()).map_err(|_| format!("{text:?} is too far in the future"))
    }

    pub fn serialize<S: Serializer>(micros: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*micros))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Micros(u64),
        Iso(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match Written::deserialize(d)? {
            Written::Micros(n) => Ok(n),
            Written::Iso(text) => parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

/// The identity a payload of `subject` would be published with, when it decodes.
pub fn identity_of(subject: Subject, data: &serde_json::Value) -> Option<String> {
    use crate::kit::event::identity_as;
    match subject {
        Subject::TicketCreated => identity_as::<TicketCreated>(data),
        Subject::TicketUpdated => identity_as::<TicketUpdated>(data),
        Subject::OrderCreated => identity_as::<OrderCreated>(data),
        Subject::OrderCancelled => identity_as::<OrderCancelled>(data),
        Subject::ExpirationComplete => identity_as::<ExpirationComplete>(data),
        Subject::PaymentCreated => identity_as::<PaymentCreated>(data),
        Subject::TransactionCreated => identity_as::<TransactionCreated>(data),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Event;
    use super::*;
    #[test]
    fn expires_at_is_iso_8601_on_the_wire_and_a_number_is_read_too() {
        let order = OrderCreated {
            id: "O1".into(),
            version: Some(0),
            status: OrderStatus::Created,
            user_id: "u1".into(),
            expires_at: 3_000_010,
            ticket: TicketRef { id: "T1".into(), price: 20.0 },
        };
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["expiresAt"], "1970-01-01T00:00:03.000010Z");
        assert_eq!(serde_json::from_value::<OrderCreated>(json.clone()).unwrap(), order);
        let mut js = json.clone();
        js["expiresAt"] = "1970-01-01T00:00:03.000Z".into();
        assert_eq!(serde_json::from_value::<OrderCreated>(js).unwrap().expires_at, 3_000_000, "as JavaScript's toISOString writes it");
        let mut number = json.clone();
        number["expiresAt"] = 3_000_010.into();
        assert_eq!(serde_json::from_value::<OrderCreated>(number).unwrap(), order);
        let mut bad = json;
        bad["expiresAt"] = "tomorrow".into();
        let e = serde_json::from_value::<OrderCreated>(bad).unwrap_err().to_string();
        assert!(e.contains("not an ISO-8601 time"), "{e}");
    }

    /// A listener takes a copy of the publisher's value, not the value read back from
    /// the JSON: the two must be the same for every payload the app publishes.
    fn reads_back_as_itself<P: Payload<Subject = Subject> + PartialEq + std::fmt::Debug>(payload: P) {
        let json = serde_json::to_value(&payload).unwrap();
        assert_eq!(P::deserialize(&json).unwrap(), payload, "{json}");
        let event = Event::new(&payload);
        assert_eq!(*event.data, json, "the event shows the JSON the app would send");
        assert_eq!(event.decode::<P>().unwrap(), payload);
    }

    #[test]
    fn every_payload_reads_back_from_its_json_as_itself() {
        for price in [20.0, 10.5, 0.1, 1e15 + 1.0, 9_007_199_254_740_993.0] {
            let (id, user_id, title) = (Id::from("T1"), Id::from("u1"), "concert".to_string());
            reads_back_as_itself(TicketCreated { id: id.clone(), version: 0, title: title.clone(), price, user_id: user_id.clone() });
            for order_id in [None, Some("O1".into())] {
                let (id, user_id, title) = (id.clone(), user_id.clone(), title.clone());
                reads_back_as_itself(TicketUpdated { id, version: 3, title, price, user_id, order_id });
            }
            for (version, expires_at) in [(None, 0), (Some(2), 900_000_123), (Some(0), u64::from(u32::MAX) * 1_000)] {
                for status in [OrderStatus::Created, OrderStatus::Cancelled, OrderStatus::AwaitingPayment, OrderStatus::Complete] {
                    let ticket = TicketRef { id: id.clone(), price };
                    reads_back_as_itself(OrderCreated { id: "O1".into(), version, status, user_id: user_id.clone(), expires_at, ticket });
                }
                reads_back_as_itself(OrderCancelled { id: "O1".into(), version, ticket: TicketId { id: id.clone() } });
            }
        }
        reads_back_as_itself(ExpirationComplete { order_id: "O1".into() });
        reads_back_as_itself(PaymentCreated { id: "P1".into(), order_id: "O1".into(), stripe_id: "ch_1".into() });
        for (kind, amount) in [(TransactionKind::Deposit, 0), (TransactionKind::Withdraw, -7), (TransactionKind::Deposit, i64::MAX)] {
            reads_back_as_itself(TransactionCreated { id: "X1".into(), user_id: "u1".into(), kind, amount, number: 4 });
        }
    }

    #[test]
    fn a_payload_decodes_only_as_its_own_event_type() {
        let event = Event::new(&ExpirationComplete { order_id: "O1".into() });
        assert_eq!(event.event_id.as_ref(), "expiration:complete/O1");
        assert_eq!(event.decode::<ExpirationComplete>().unwrap().order_id.as_ref(), "O1");
        let wrong_listener = event.decode::<PaymentCreated>().unwrap_err();
        assert!(wrong_listener.contains("expiration:complete event handed to a payment:created listener"), "{wrong_listener}");
        let malformed =
            Event::raw("x".into(), Subject::TicketUpdated, serde_json::json!({"id": "T1", "version": "two"}), Default::default());
        let why = malformed.decode::<TicketUpdated>().unwrap_err();
        assert!(why.starts_with("cannot decode ticket:updated payload"), "{why}");
    }
}
