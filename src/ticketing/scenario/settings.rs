//! The world's settings in a scenario: the app's, the broker's, the network's, the
//! stores', the nemesis's, the phases and the run's limits, each with its defaults.

use crate::harness::duration::{pair, pair_opt, Dur};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A run's budget, when the scenario sets it; past either limit the run stops and is
/// reported as `runaway`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The virtual time a run may reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_time: Option<Dur>,
    /// The events (store round trips that wrote, observations) a run may record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
}

impl Limits {
    pub(super) fn is_default(&self) -> bool {
        *self == Limits::default()
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AppSettings {
    pub expiration_window: Dur,
    /// How long the accounts handler works on an event before writing (a slow handler
    /// can outlast ack wait).
    #[serde(deserialize_with = "pair")]
    pub accounts_processing: [Dur; 2],
    /// Payments charges through the payment provider as a remote party, on a node of
    /// its own behind the faulty network (else the charge is part of payments' own
    /// transaction).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub payment_provider: bool,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            expiration_window: Dur(Duration::from_secs(15 * 60)),
            accounts_processing: [Dur(Duration::from_millis(1)); 2],
            payment_provider: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    Durable,
    Memory,
}

/// Which broker the app runs on.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BrokerKindSetting {
    /// NATS Streaming, as the app was built.
    #[default]
    Streaming,
    /// NATS JetStream (the settings below `store` are its own).
    Jetstream,
}

impl From<BrokerKindSetting> for crate::kit::broker::BrokerKind {
    fn from(kind: BrokerKindSetting) -> Self {
        match kind {
            BrokerKindSetting::Streaming => crate::kit::broker::BrokerKind::Streaming,
            BrokerKindSetting::Jetstream => crate::kit::broker::BrokerKind::JetStream,
        }
    }
}

impl From<crate::kit::broker::BrokerKind> for BrokerKindSetting {
    fn from(kind: crate::kit::broker::BrokerKind) -> Self {
        match kind {
            crate::kit::broker::BrokerKind::Streaming => BrokerKindSetting::Streaming,
            crate::kit::broker::BrokerKind::JetStream => BrokerKindSetting::Jetstream,
        }
    }
}

/// Where a JetStream consumer starts (JetStream's DeliverPolicy).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DeliverPolicySetting {
    #[default]
    All,
    Last,
    New,
    /// From `opt_start_seq` on.
    ByStartSequence,
    /// From `opt_start_time` on.
    ByStartTime,
    LastPerSubject,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerSettings {
    #[serde(skip_serializing_if = "is_streaming")]
    pub kind: BrokerKindSetting,
    pub ack_wait: Dur,
    pub max_in_flight: u32,
    pub dead_client_timeout: Dur,
    pub store: StoreKind,
    /// JetStream: deliveries of one message at most; 0 is unlimited.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_deliver: u32,
    /// JetStream: redelivery delays by delivery count (the last repeated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backoff: Vec<Dur>,
    /// JetStream: pending messages a consumer holds at most.
    #[serde(skip_serializing_if = "is_default_max_ack_pending")]
    pub max_ack_pending: u32,
    #[serde(skip_serializing_if = "is_default_policy")]
    pub deliver_policy: DeliverPolicySetting,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_start_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<Dur>,
    /// JetStream: how long a message id is remembered for de-duplication.
    #[serde(skip_serializing_if = "is_default_window")]
    pub duplicate_window: Dur,
}

fn is_streaming(kind: &BrokerKindSetting) -> bool {
    *kind == BrokerKindSetting::Streaming
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_default_max_ack_pending(n: &u32) -> bool {
    *n as usize == crate::kit::jetstream::JetStreamConfig::default().max_ack_pending
}

fn is_default_policy(policy: &DeliverPolicySetting) -> bool {
    *policy == DeliverPolicySetting::All
}

fn is_default_window(window: &Dur) -> bool {
    window.0 == crate::kit::jetstream::JetStreamConfig::default().duplicate_window
}

impl BrokerSettings {
    /// The broker these settings ask for, as the kit's config.
    pub fn config(&self) -> crate::kit::broker::BrokerConfig {
        use crate::kit::jetstream::{DeliverPolicy, JetStreamConfig};
        let deliver_policy = match self.deliver_policy {
            DeliverPolicySetting::All => DeliverPolicy::All,
            DeliverPolicySetting::Last => DeliverPolicy::Last,
            DeliverPolicySetting::New => DeliverPolicy::New,
            DeliverPolicySetting::ByStartSequence => DeliverPolicy::ByStartSequence(self.opt_start_seq.unwrap_or(1)),
            DeliverPolicySetting::ByStartTime => DeliverPolicy::ByStartTime(self.opt_start_time.map_or(Duration::ZERO, |d| d.0)),
            DeliverPolicySetting::LastPerSubject => DeliverPolicy::LastPerSubject,
        };
        crate::kit::broker::BrokerConfig {
            ack_wait: self.ack_wait.0,
            max_in_flight: self.max_in_flight as usize,
            dead_client_timeout: self.dead_client_timeout.0,
            durable: self.store == StoreKind::Durable,
            kind: self.kind.into(),
            jetstream: JetStreamConfig {
                max_deliver: (self.max_deliver > 0).then_some(self.max_deliver),
                backoff: self.backoff.iter().map(|d| d.0).collect(),
                max_ack_pending: self.max_ack_pending as usize,
                deliver_policy,
                duplicate_window: self.duplicate_window.0,
            },
            ..Default::default()
        }
    }
}

impl Default for BrokerSettings {
    /// The broker's own defaults ([`crate::kit::broker::BrokerConfig`]), stated once.
    fn default() -> Self {
        let broker = crate::kit::broker::BrokerConfig::default();
        BrokerSettings {
            kind: BrokerKindSetting::Streaming,
            ack_wait: Dur(broker.ack_wait),
            max_in_flight: broker.max_in_flight as u32,
            dead_client_timeout: Dur(broker.dead_client_timeout),
            store: if broker.durable { StoreKind::Durable } else { StoreKind::Memory },
            max_deliver: 0,
            backoff: Vec::new(),
            max_ack_pending: broker.jetstream.max_ack_pending as u32,
            deliver_policy: DeliverPolicySetting::All,
            opt_start_seq: None,
            opt_start_time: None,
            duplicate_window: Dur(broker.jetstream.duplicate_window),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum UserLinks {
    /// User requests and responses suffer the same faults as everything else.
    Faulty,
    /// Users' links are never dropped, duplicated or cut (only delayed).
    Reliable,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSettings {
    pub drop_probability: f64,
    pub duplicate_probability: f64,
    #[serde(deserialize_with = "pair")]
    pub delay: [Dur; 2],
    pub user_links: UserLinks,
    /// The delay of the users' links, when it is not `delay` (`["2ms", "2ms"]`: requests
    /// sent at one instant arrive at one instant, as a race in a script means them to).
    #[serde(default, deserialize_with = "pair_opt", skip_serializing_if = "Option::is_none")]
    pub user_delay: Option<[Dur; 2]>,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            drop_probability: 0.0,
            duplicate_probability: 0.0,
            delay: [Dur(Duration::from_millis(1)), Dur(Duration::from_millis(10))],
            user_links: UserLinks::Faulty,
            user_delay: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    #[serde(deserialize_with = "pair")]
    pub latency: [Dur; 2],
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings { latency: [Dur(Duration::from_millis(1)), Dur(Duration::from_millis(3))] }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NemesisSettings {
    /// Most crashes of service instances per run.
    pub crashes: u32,
    #[serde(deserialize_with = "pair")]
    pub crash_downtime: [Dur; 2],
    pub broker_restarts: u32,
    #[serde(deserialize_with = "pair")]
    pub broker_downtime: [Dur; 2],
    /// Most pauses of service instances (longer than ack wait to matter).
    pub pauses: u32,
    #[serde(deserialize_with = "pair")]
    pub pause_duration: [Dur; 2],
    pub partitions: u32,
    #[serde(deserialize_with = "pair")]
    pub partition_duration: [Dur; 2],
    /// Each seed draws which fault kinds are on and how hard, within these bounds.
    pub swarm: bool,
    /// Crashes and pauses wait until the node has no user request in progress.
    pub spare_user_requests: bool,
}

impl Default for NemesisSettings {
    fn default() -> Self {
        let s = |a: u64, b: u64| [Dur(Duration::from_secs(a)), Dur(Duration::from_secs(b))];
        NemesisSettings {
            crashes: 0,
            crash_downtime: s(1, 5),
            broker_restarts: 0,
            broker_downtime: s(1, 5),
            pauses: 0,
            pause_duration: s(6, 12),
            partitions: 0,
            partition_duration: s(1, 8),
            swarm: false,
            spare_user_requests: false,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Phases {
    /// Workload and faults run this long; then the quiet phase.
    pub duration: Dur,
    /// No faults: the system drains so liveness can be judged.
    pub quiet: Dur,
}

impl Default for Phases {
    fn default() -> Self {
        Phases { duration: Dur(Duration::from_secs(30)), quiet: Dur(Duration::from_secs(90)) }
    }
}
