//! The NATS-Streaming-like broker. [`BrokerState`] is a pure state machine (message in,
//! messages out) so every rule of ticketing.md is unit-tested without a runtime;
//! [`super::broker_node`] runs it (or JetStream's, [`super::jetstream`]) on a madsim node.
//!
//! Rules: channels with sequence numbers; acknowledged publish (no de-duplication, so
//! a publisher's retry is a new message); durable queue groups that get each message
//! once, to one member, each group its own copy, position kept while members come and
//! go, deliver-all-available when a group is first created; manual ack with ack wait and
//! redelivery to any member, interleaved with new messages; max in flight per member;
//! dead clients detected by missed heartbeats, their unacked messages handed on.

use super::event::Event;
use super::protocol::{ClientId, Message};
use super::{Group, Subject};
use crate::harness::fabric::NodeId;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct BrokerConfig {
    /// How long a delivered message may stay unacked before it is redelivered.
    pub ack_wait: Duration,
    /// Most unacked messages one member holds at a time.
    pub max_in_flight: usize,
    /// A client that has not sent a heartbeat for this long is declared dead.
    pub dead_client_timeout: Duration,
    /// How often the broker looks for expired acks and dead clients.
    pub tick: Duration,
    /// Durable store: channels, groups and clients survive a broker restart.
    pub durable: bool,
    /// Which broker runs: NATS Streaming (the app's) or JetStream.
    pub kind: BrokerKind,
    /// JetStream's stream and consumer settings (read only when `kind` is JetStream).
    pub jetstream: JetStreamConfig,
}

/// Where a new consumer starts in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliverPolicy {
    /// Every message in the stream (the app's `setDeliverAllAvailable`).
    All,
    /// The last message of its subject, then everything new.
    Last,
    /// Only messages published after the consumer was created.
    New,
    /// From a stream sequence on.
    ByStartSequence(u64),
    /// From the first message stored at or after a time.
    ByStartTime(Duration),
    /// The last message of each subject it filters (one here), then everything new.
    LastPerSubject,
}

/// JetStream's stream and consumer settings (the consumer's ack wait is the broker's).
#[derive(Clone, Debug, PartialEq)]
pub struct JetStreamConfig {
    /// Deliveries of one message at most; `None` is unlimited (JetStream's default).
    pub max_deliver: Option<u32>,
    /// Redelivery delays by delivery count; empty: ack wait every time.
    pub backoff: Vec<Duration>,
    /// Pending (delivered, unacked) messages a consumer holds at most.
    pub max_ack_pending: usize,
    pub deliver_policy: DeliverPolicy,
    /// How long a message id is remembered for de-duplication.
    pub duplicate_window: Duration,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        JetStreamConfig {
            max_deliver: None,
            backoff: Vec::new(),
            max_ack_pending: 1000,
            deliver_policy: DeliverPolicy::All,
            duplicate_window: Duration::from_secs(120),
        }
    }
}

/// The broker an app runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BrokerKind {
    /// NATS Streaming, as the app was built (end of life in 2023).
    #[default]
    Streaming,
    /// NATS JetStream.
    JetStream,
}

impl BrokerKind {
    pub const ALL: [BrokerKind; 2] = [BrokerKind::Streaming, BrokerKind::JetStream];

    pub fn name(self) -> &'static str {
        match self {
            BrokerKind::Streaming => "streaming",
            BrokerKind::JetStream => "jetstream",
        }
    }

    pub fn from_name(name: &str) -> Option<BrokerKind> {
        BrokerKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            ack_wait: Duration::from_secs(5),
            max_in_flight: 1024,
            dead_client_timeout: Duration::from_secs(10),
            tick: Duration::from_millis(500),
            durable: true,
            kind: BrokerKind::Streaming,
            jetstream: Default::default(),
        }
    }
}

/// What the broker did that the history records.
#[derive(Clone, Debug)]
pub enum BrokerEvent<S> {
    /// A publish was stored on its channel (and acknowledged).
    Accepted {
        subject: S,
        seq: u64,
        event: Arc<Event<S>>,
        store_id: u64,
        client: ClientId,
    },
    Delivered {
        subject: S,
        group: Group,
        seq: u64,
        client: ClientId,
        event_id: Arc<str>,
        redelivery: bool,
    },
    Acked {
        subject: S,
        group: Group,
        seq: u64,
        client: ClientId,
        event_id: Arc<str>,
    },
    ClientDead {
        client: ClientId,
    },
    /// JetStream: a publish whose message id was seen within the duplicate window.
    Deduplicated {
        subject: S,
        seq: u64,
        event_id: Arc<str>,
        client: ClientId,
    },
    /// JetStream: a nak, term or in-progress the broker honoured.
    Replied {
        subject: S,
        group: Group,
        seq: u64,
        client: ClientId,
        event_id: Arc<str>,
        reply: super::protocol::Reply,
    },
    /// JetStream: a message reached MaxDeliver; it stays in the stream, never redelivered.
    Parked {
        subject: S,
        group: Group,
        seq: u64,
        event_id: Arc<str>,
        deliveries: u32,
    },
}

/// A message still unprocessed by a group at the end of a run.
#[derive(Clone, Debug)]
pub struct Outstanding<S> {
    pub subject: S,
    pub group: Group,
    pub seq: u64,
    pub event_id: super::Id,
    pub deliveries: u32,
    /// JetStream: parked at MaxDeliver (never redelivered), not pending.
    pub parked: bool,
}

/// A connect or heartbeat, answered alike by both brokers.
pub(super) fn session<S>(
    clients: &mut BTreeMap<ClientId, ClientInfo>,
    store_id: u64,
    now: Duration,
    from: NodeId,
    msg: Message<S>,
    out: &mut Output<S>,
) {
    match msg {
        Message::Connect { client } => {
            clients.insert(client.clone(), ClientInfo { node: from, last_seen: now });
            out.send.push((from, Message::Connected { client, store_id }));
        }
        Message::Heartbeat { client } => {
            let known = match clients.get_mut(&client) {
                Some(info) => {
                    info.last_seen = now;
                    info.node = from;
                    true
                }
                None => false,
            };
            out.send.push((from, Message::HeartbeatAck { known, store_id }));
        }
        _ => {}
    }
}

/// Clients that missed their heartbeats for longer than the dead-client timeout.
pub(super) fn dead_clients(clients: &BTreeMap<ClientId, ClientInfo>, config: &BrokerConfig, now: Duration) -> Vec<ClientId> {
    clients
        .iter()
        .filter(|(_, info)| now.saturating_sub(info.last_seen) > config.dead_client_timeout)
        .map(|(client, _)| client.clone())
        .collect()
}

#[derive(Clone, Debug)]
pub struct Pending {
    pub member: ClientId,
    pub deadline: Duration,
    pub deliveries: u32,
}

/// A durable queue group's state on one channel.
#[derive(Clone, Debug, Default)]
pub struct GroupState {
    /// Sequence number of the next message never delivered to this group (1-based).
    pub next_seq: u64,
    pub members: Vec<ClientId>,
    /// How many unacked messages each member holds (parallel to `members`).
    pub in_flight: Vec<usize>,
    pub round_robin: usize,
    pub unacked: BTreeMap<u64, Pending>,
}

impl GroupState {
    /// A group created now: it will receive the channel's whole history (seq 1 on).
    fn created() -> Self {
        GroupState { next_seq: 1, ..Default::default() }
    }

    /// Counts a message held (`+1`) or let go (`-1`) by `member`, if still a member.
    fn hold(&mut self, member: &ClientId, delta: isize) {
        if let Some(i) = self.members.iter().position(|m| Arc::ptr_eq(m, member) || m == member) {
            self.in_flight[i] = self.in_flight[i].saturating_add_signed(delta);
        }
    }

    fn join(&mut self, client: ClientId) {
        if !self.members.contains(&client) {
            let held = self.unacked.values().filter(|p| p.member == client).count();
            self.members.push(client);
            self.in_flight.push(held);
        }
    }

    fn leave(&mut self, client: &ClientId) {
        if let Some(i) = self.members.iter().position(|m| m == client) {
            self.members.remove(i);
            self.in_flight.remove(i);
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClientInfo {
    pub node: NodeId,
    pub last_seen: Duration,
}

/// The broker's store plus its live sessions.
#[derive(Clone, Debug)]
pub struct BrokerState<S> {
    /// Identifies the store; a memory-store restart starts a new one.
    pub store_id: u64,
    pub channels: BTreeMap<S, Vec<Arc<Event<S>>>>,
    pub groups: BTreeMap<S, BTreeMap<Group, GroupState>>,
    pub clients: BTreeMap<ClientId, ClientInfo>,
    /// The last tick left no group a message unacked or never delivered, and nothing
    /// but a connect or a heartbeat was handled since: the next tick has nothing to
    /// redeliver or pump, and does not look for it. (Time alone cannot change that: a
    /// dead client's removal hands on only what it held unacked.)
    idle: bool,
}

/// Messages to send and events to record, produced by one step of the broker.
#[derive(Debug)]
pub struct Output<S> {
    pub send: Vec<(NodeId, Message<S>)>,
    pub events: Vec<BrokerEvent<S>>,
}

impl<S: Subject> Output<S> {
    /// A delivery of `event` (`seq` of `subject` to `group`'s `member` on node `to`),
    /// sent and recorded; both brokers deliver this way.
    pub(super) fn deliver(
        &mut self,
        to: NodeId,
        store_id: u64,
        (subject, group, seq): (S, Group, u64),
        member: ClientId,
        event: Arc<Event<S>>,
        redelivered: bool,
    ) {
        let event_id = event.event_id.clone();
        self.events.push(BrokerEvent::Delivered { subject, group, seq, client: member, event_id, redelivery: redelivered });
        self.send.push((to, Message::Deliver { subject, group, seq, event, redelivered, store_id }));
    }
}

impl<S> Default for Output<S> {
    fn default() -> Self {
        Output { send: Vec::new(), events: Vec::new() }
    }
}

impl<S: Subject> BrokerState<S> {
    pub fn new(store_id: u64) -> Self {
        BrokerState { store_id, channels: BTreeMap::new(), groups: BTreeMap::new(), clients: BTreeMap::new(), idle: false }
    }

    /// Handles one message from node `from` at virtual time `now`.
    pub fn handle(&mut self, config: &BrokerConfig, now: Duration, from: NodeId, msg: Message<S>, out: &mut Output<S>) {
        // A session's messages touch only the clients; anything else may give a tick work.
        self.idle &= matches!(msg, Message::Connect { .. } | Message::Heartbeat { .. });
        match msg {
            Message::Connect { .. } | Message::Heartbeat { .. } => session(&mut self.clients, self.store_id, now, from, msg, out),
            Message::Subscribe { client, subject, group } => {
                if !self.clients.contains_key(&client) {
                    out.send.push((from, Message::UnknownClient { store_id: self.store_id }));
                    return;
                }
                self.groups.entry(subject).or_default().entry(group).or_insert_with(GroupState::created).join(client);
                out.send.push((from, Message::Subscribed { subject, group }));
                self.pump(config, now, subject, out);
            }
            // NATS Streaming has no message ids or expected sequences: headers are ignored.
            Message::Publish { client, publish_id, event, .. } => {
                if !self.clients.contains_key(&client) {
                    // Refused (not stored, no ack): the client must connect again.
                    out.send.push((from, Message::UnknownClient { store_id: self.store_id }));
                    return;
                }
                let subject = event.subject;
                let channel = self.channels.entry(subject).or_default();
                channel.push(event.clone());
                let seq = channel.len() as u64;
                out.events.push(BrokerEvent::Accepted { subject, seq, event, store_id: self.store_id, client });
                out.send.push((from, Message::PublishAck { publish_id, seq, store_id: self.store_id, duplicate: false }));
                self.pump(config, now, subject, out);
            }
            // NATS Streaming knows only the ack: a nak, term or in-progress is ignored.
            Message::Ack { client, subject, group, seq, store_id, reply: super::protocol::Reply::Ack } => {
                // A late ack for a store that is gone would ack another event here.
                if store_id != self.store_id {
                    return;
                }
                let Some(state) = self.groups.get_mut(&subject).and_then(|g| g.get_mut(group)) else {
                    return;
                };
                if let Some(pending) = state.unacked.remove(&seq) {
                    state.hold(&pending.member, -1);
                    assert!(seq < state.next_seq, "broker assumption broken: an ack for {subject}#{seq}, never delivered to {group}");
                    let event_id = self.channels[&subject][seq as usize - 1].event_id.clone();
                    out.events.push(BrokerEvent::Acked { subject, group, seq, client, event_id });
                    self.pump(config, now, subject, out);
                }
            }
            // Replies are never sent to the broker; ignore anything else.
            _ => {}
        }
    }

    /// A tick finds work only after this instant: once a client's silence passes the
    /// dead-client timeout, or an unacked message's ack wait is over (`Duration::MAX`
    /// with neither). `None`: any tick may find work (a group has messages never
    /// delivered, which a tick's pump may hand to a member with room).
    pub fn quiet_until(&self, config: &BrokerConfig) -> Option<Duration> {
        let mut quiet = Duration::MAX;
        for (subject, groups) in &self.groups {
            let last = self.last_seq(subject);
            for group in groups.values() {
                if group.next_seq <= last {
                    return None;
                }
                // Due at its deadline itself: after the instant just before it.
                let due = group.unacked.values().map(|p| p.deadline.saturating_sub(Duration::from_nanos(1)));
                quiet = quiet.min(due.min().unwrap_or(Duration::MAX));
            }
        }
        let silent = self.clients.values().map(|c| c.last_seen.saturating_add(config.dead_client_timeout));
        Some(quiet.min(silent.min().unwrap_or(Duration::MAX)))
    }

    /// The sequence number of `subject`'s last message (0 before the first).
    fn last_seq(&self, subject: &S) -> u64 {
        self.channels.get(subject).map_or(0, |c| c.len() as u64)
    }

    /// Whether a group of `subject` has messages never delivered.
    pub fn undelivered(&self, subject: S) -> bool {
        let last = self.last_seq(&subject);
        self.groups.get(&subject).is_some_and(|groups| groups.values().any(|g| g.next_seq <= last))
    }

    /// Redelivers expired messages and retires dead clients.
    pub fn tick(&mut self, config: &BrokerConfig, now: Duration, out: &mut Output<S>) {
        for client in dead_clients(&self.clients, config, now) {
            self.remove_client(&client, now, out);
        }
        if self.idle {
            return;
        }
        // Subject by subject, in order, those where a tick has work: a group holding an
        // expired message, or one with messages never delivered (its pump may find a
        // member with room). Elsewhere the redelivery and the pump would do nothing.
        let due: Vec<S> = self
            .groups
            .iter()
            .filter(|(subject, groups)| {
                let last = self.last_seq(subject);
                groups.values().any(|g| g.next_seq <= last || g.unacked.values().any(|p| p.deadline <= now))
            })
            .map(|(subject, _)| *subject)
            .collect();
        for subject in due {
            let mut redeliveries = Vec::new();
            for (group, state) in self.groups.get_mut(&subject).into_iter().flatten() {
                let expired: Vec<u64> = state.unacked.iter().filter(|(_, p)| p.deadline <= now).map(|(seq, _)| *seq).collect();
                for seq in expired {
                    let Some(member) = next_member(state, config, false) else {
                        break;
                    };
                    let pending = state.unacked.get_mut(&seq).expect("an expired message is unacked");
                    let before = std::mem::replace(&mut pending.member, member.clone());
                    pending.deadline = now + config.ack_wait;
                    pending.deliveries += 1;
                    state.hold(&before, -1);
                    state.hold(&member, 1);
                    redeliveries.push((*group, seq, member));
                }
            }
            for (group, seq, member) in redeliveries {
                let event = self.channels[&subject][seq as usize - 1].clone();
                self.send_deliver(subject, group, seq, member, event, true, out);
            }
            self.pump(config, now, subject, out);
        }
        self.idle = self.groups.iter().all(|(subject, groups)| {
            let last = self.last_seq(subject);
            groups.values().all(|g| g.unacked.is_empty() && g.next_seq > last)
        });
    }

    /// Forgets a client: it leaves every group, and what it held unacked is handed on.
    pub fn remove_client(&mut self, client: &ClientId, now: Duration, out: &mut Output<S>) {
        self.clients.remove(client);
        out.events.push(BrokerEvent::ClientDead { client: client.clone() });
        for state in self.groups.values_mut().flat_map(|groups| groups.values_mut()) {
            state.leave(client);
            for pending in state.unacked.values_mut() {
                if &pending.member == client {
                    pending.deadline = now;
                }
            }
        }
    }

    /// Delivers new messages of `subject` to every group that has room.
    fn pump(&mut self, config: &BrokerConfig, now: Duration, subject: S, out: &mut Output<S>) {
        let Some(channel) = self.channels.get(&subject) else {
            return;
        };
        let last = channel.len() as u64;
        let mut deliveries = Vec::new();
        for (group, state) in self.groups.get_mut(&subject).into_iter().flatten() {
            while state.next_seq <= last {
                let Some(member) = next_member(state, config, true) else {
                    break;
                };
                let seq = state.next_seq;
                state.next_seq += 1;
                state.hold(&member, 1);
                state.unacked.insert(seq, Pending { member: member.clone(), deadline: now + config.ack_wait, deliveries: 1 });
                deliveries.push((*group, seq, member));
            }
        }
        for (group, seq, member) in deliveries {
            let event = self.channels[&subject][seq as usize - 1].clone();
            self.send_deliver(subject, group, seq, member, event, false, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_deliver(
        &self,
        subject: S,
        group: Group,
        seq: u64,
        member: ClientId,
        event: Arc<Event<S>>,
        redelivered: bool,
        out: &mut Output<S>,
    ) {
        let node = self.clients[&member].node;
        out.deliver(node, self.store_id, (subject, group, seq), member, event, redelivered);
    }

    /// Messages of a group not yet acknowledged: delivered-but-unacked plus never delivered.
    pub fn outstanding(&self, subject: S, group: Group) -> Vec<Outstanding<S>> {
        let Some(state) = self.groups.get(&subject).and_then(|g| g.get(group)) else {
            return Vec::new();
        };
        let channel = self.channels.get(&subject).map(|c| c.as_slice()).unwrap_or(&[]);
        let item = |seq: u64, deliveries: u32| Outstanding {
            subject,
            group,
            seq,
            event_id: channel[seq as usize - 1].event_id.clone(),
            deliveries,
            parked: false,
        };
        let mut result: Vec<Outstanding<S>> = state.unacked.iter().map(|(seq, p)| item(*seq, p.deliveries)).collect();
        result.extend((state.next_seq..=channel.len() as u64).map(|seq| item(seq, 0)));
        result
    }
}

/// Picks the next member of a group in round-robin order; with `respect_in_flight`,
/// skips members already holding `max_in_flight` unacked messages.
fn next_member(state: &mut GroupState, config: &BrokerConfig, respect_in_flight: bool) -> Option<ClientId> {
    let count = state.members.len();
    for _ in 0..count {
        let i = state.round_robin % count;
        state.round_robin = state.round_robin.wrapping_add(1);
        if !respect_in_flight || state.in_flight[i] < config.max_in_flight {
            return Some(state.members[i].clone());
        }
    }
    None
}

/// The deliveries a step sent, as (node slot, sequence, redelivered): what the brokers'
/// tests compare.
#[cfg(test)]
pub(super) fn delivers<S>(out: &Output<S>) -> Vec<(usize, u64, bool)> {
    out.send
        .iter()
        .filter_map(|(to, m)| match m {
            Message::Deliver { seq, redelivered, .. } => Some((to.slot(), *seq, *redelivered)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one channel these tests need.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    enum Subject {
        TicketUpdated,
    }

    impl std::fmt::Display for Subject {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("ticket:updated")
        }
    }

    type Message = super::Message<Subject>;
    type BrokerState = super::BrokerState<Subject>;
    type Output = super::Output<Subject>;
    type Event = super::Event<Subject>;

    const ORDERS: Group = "orders-service";
    const OTHER: Group = "audit-service";

    fn cfg() -> BrokerConfig {
        BrokerConfig { max_in_flight: 16, ..Default::default() }
    }

    fn ticket_event(version: u64) -> Arc<Event> {
        let data = serde_json::json!({ "id": "T1", "version": version, "title": "concert", "price": 20 });
        Event::raw(format!("ticket:updated/T1/v{version}").into(), Subject::TicketUpdated, data, Default::default())
    }

    /// Node handles by slot: the state machine's tests make up their own nodes.
    fn n(slot: usize) -> NodeId {
        NodeId::from_slot(slot)
    }

    fn step(b: &mut BrokerState, now_ms: u64, from: usize, msg: Message) -> Output {
        let mut out = Output::default();
        b.handle(&cfg(), Duration::from_millis(now_ms), n(from), msg, &mut out);
        out
    }

    fn connect(b: &mut BrokerState, node: usize, name: &str) -> ClientId {
        let client: ClientId = name.into();
        step(b, 0, node, Message::Connect { client: client.clone() });
        client
    }

    fn publish(b: &mut BrokerState, client: &ClientId, version: u64) -> Output {
        step(
            b,
            0,
            9,
            Message::Publish { client: client.clone(), publish_id: version, event: ticket_event(version), msg_id: None, expect_last: None },
        )
    }

    use super::delivers;

    /// An ack of seq 1 on ticket:updated for ORDERS, of store `store_id`.
    fn ack(client: ClientId, store_id: u64) -> Message {
        Message::Ack { client, subject: Subject::TicketUpdated, group: ORDERS, seq: 1, store_id, reply: super::super::protocol::Reply::Ack }
    }

    #[test]
    fn publish_gets_sequence_numbers_and_an_ack() {
        let mut b = BrokerState::new(1);
        let p = connect(&mut b, 9, "pub");
        let out = publish(&mut b, &p, 0);
        assert!(matches!(out.send[0].1, Message::PublishAck { seq: 1, .. }));
        let out = publish(&mut b, &p, 0);
        assert!(matches!(out.send[0].1, Message::PublishAck { seq: 2, .. }), "a retried publish is a new message");
    }

    #[test]
    fn new_group_gets_all_available_history() {
        let mut b = BrokerState::new(1);
        let p = connect(&mut b, 9, "pub");
        publish(&mut b, &p, 0);
        publish(&mut b, &p, 1);
        let c = connect(&mut b, 1, "orders-1");
        let out = step(&mut b, 0, 1, Message::Subscribe { client: c, subject: Subject::TicketUpdated, group: ORDERS });
        assert_eq!(delivers(&out), vec![(1, 1, false), (1, 2, false)]);
    }

    #[test]
    fn each_group_gets_its_own_copy_and_one_member_each() {
        let mut b = BrokerState::new(1);
        let p = connect(&mut b, 9, "pub");
        for (node, name, group) in [(1, "o1", ORDERS), (2, "o2", ORDERS), (3, "a1", OTHER)] {
            let c = connect(&mut b, node, name);
            step(&mut b, 0, node, Message::Subscribe { client: c, subject: Subject::TicketUpdated, group });
        }
        let out = publish(&mut b, &p, 0);
        let d = delivers(&out);
        assert_eq!(d.len(), 2, "one delivery per group: {d:?}");
        assert!(d.iter().any(|(n, _, _)| *n == 3));
        assert_eq!(d.iter().filter(|(n, _, _)| *n == 1 || *n == 2).count(), 1);
    }

    #[test]
    fn unacked_message_is_redelivered_after_ack_wait_and_not_before() {
        let mut b = BrokerState::new(1);
        let p = connect(&mut b, 9, "pub");
        let c = connect(&mut b, 1, "o1");
        step(&mut b, 0, 1, Message::Subscribe { client: c.clone(), subject: Subject::TicketUpdated, group: ORDERS });
        publish(&mut b, &p, 0);
        let mut out = Output::default();
        b.tick(&cfg(), Duration::from_millis(4_000), &mut out);
        assert!(delivers(&out).is_empty());
        // the client stays alive
        step(&mut b, 4_500, 1, Message::Heartbeat { client: c.clone() });
        let mut out = Output::default();
        b.tick(&cfg(), Duration::from_millis(5_000), &mut out);
        assert_eq!(delivers(&out), vec![(1, 1, true)]);
        // acked: never again
        step(&mut b, 5_100, 1, ack(c, 1));
        let mut out = Output::default();
        b.tick(&cfg(), Duration::from_millis(9_000), &mut out);
        assert!(delivers(&out).is_empty());
        assert!(b.outstanding(Subject::TicketUpdated, ORDERS).is_empty());
    }

    /// A tick that leaves nothing unacked or never delivered makes the broker idle:
    /// later ticks do not look for work until something is subscribed, published or
    /// acked (a heartbeat is none of these). The test above shows the other side: a
    /// message held unacked keeps the ticks looking, and is redelivered.
    #[test]
    fn a_broker_with_nothing_outstanding_stops_looking_until_a_message_can_change_that() {
        let tick = |b: &mut BrokerState, ms| {
            let mut out = Output::default();
            b.tick(&cfg(), Duration::from_millis(ms), &mut out);
            out
        };
        let mut b = BrokerState::new(1);
        let p = connect(&mut b, 9, "pub");
        let c = connect(&mut b, 1, "o1");
        step(&mut b, 0, 1, Message::Subscribe { client: c.clone(), subject: Subject::TicketUpdated, group: ORDERS });
        publish(&mut b, &p, 0);
        tick(&mut b, 1_000);
        assert!(!b.idle, "seq 1 is unacked");
        step(&mut b, 1_100, 1, ack(c.clone(), 1));
        assert!(tick(&mut b, 1_500).send.is_empty());
        assert!(b.idle, "nothing is outstanding");
        step(&mut b, 1_600, 1, Message::Heartbeat { client: c.clone() });
        assert!(b.idle, "a heartbeat changes no group");
        let out = publish(&mut b, &p, 1);
        assert!(!b.idle, "a publish may give a tick work");
        assert_eq!(delivers(&out), vec![(1, 2, false)]);
        tick(&mut b, 2_000);
        assert!(!b.idle, "seq 2 is unacked");
    }

    #[test]
    fn position_survives_all_members_leaving_and_rejoining() {
        let mut b = BrokerState::new(1);
        let p = connect(&mut b, 9, "pub");
        let c = connect(&mut b, 1, "o1");
        step(&mut b, 0, 1, Message::Subscribe { client: c.clone(), subject: Subject::TicketUpdated, group: ORDERS });
        publish(&mut b, &p, 0);
        step(&mut b, 0, 1, ack(c.clone(), 1));
        let mut out = Output::default();
        b.remove_client(&c, Duration::ZERO, &mut out);
        publish(&mut b, &p, 1);
        let c2 = connect(&mut b, 2, "o1-restarted");
        let out = step(&mut b, 0, 2, Message::Subscribe { client: c2, subject: Subject::TicketUpdated, group: ORDERS });
        assert_eq!(delivers(&out), vec![(2, 2, false)], "only what the group has not yet had");
    }

    #[test]
    fn dead_client_is_detected_and_its_unacked_messages_go_to_another_member() {
        let mut b = BrokerState::new(1);
        let p = connect(&mut b, 9, "pub");
        let c1 = connect(&mut b, 1, "o1");
        let c2 = connect(&mut b, 2, "o2");
        step(&mut b, 0, 1, Message::Subscribe { client: c1, subject: Subject::TicketUpdated, group: ORDERS });
        step(&mut b, 0, 2, Message::Subscribe { client: c2.clone(), subject: Subject::TicketUpdated, group: ORDERS });
        let first = delivers(&publish(&mut b, &p, 0));
        assert_eq!(first, vec![(1, 1, false)]);
        // only o2 keeps sending heartbeats
        step(&mut b, 9_000, 2, Message::Heartbeat { client: c2 });
        let mut out = Output::default();
        b.tick(&cfg(), Duration::from_millis(10_500), &mut out);
        assert!(out.events.iter().any(|e| matches!(e, BrokerEvent::ClientDead { client } if &**client == "o1")));
        assert_eq!(delivers(&out), vec![(2, 1, true)]);
    }

    #[test]
    fn max_in_flight_holds_back_deliveries_until_acks() {
        let mut b = BrokerState::new(1);
        let config = BrokerConfig { max_in_flight: 1, ..Default::default() };
        let p = connect(&mut b, 9, "pub");
        let c = connect(&mut b, 1, "o1");
        let mut out = Output::default();
        b.handle(
            &config,
            Duration::ZERO,
            n(1),
            Message::Subscribe { client: c.clone(), subject: Subject::TicketUpdated, group: ORDERS },
            &mut out,
        );
        for v in 0..3 {
            let mut o = Output::default();
            b.handle(
                &config,
                Duration::ZERO,
                n(9),
                Message::Publish { client: p.clone(), publish_id: v, event: ticket_event(v), msg_id: None, expect_last: None },
                &mut o,
            );
            out.send.extend(o.send);
        }
        assert_eq!(delivers(&out), vec![(1, 1, false)]);
        let mut o = Output::default();
        b.handle(&config, Duration::ZERO, n(1), ack(c, 1), &mut o);
        assert_eq!(delivers(&o), vec![(1, 2, false)]);
    }

    #[test]
    fn an_ack_for_another_store_is_ignored() {
        let mut b = BrokerState::new(2);
        let p = connect(&mut b, 9, "pub");
        let c = connect(&mut b, 1, "o1");
        step(&mut b, 0, 1, Message::Subscribe { client: c.clone(), subject: Subject::TicketUpdated, group: ORDERS });
        publish(&mut b, &p, 0);
        let stale = step(&mut b, 0, 1, ack(c.clone(), 1));
        assert!(
            stale.events.is_empty() && b.outstanding(Subject::TicketUpdated, ORDERS).len() == 1,
            "seq 1 of store 1 is not seq 1 of store 2"
        );
        let fresh = step(&mut b, 0, 1, ack(c, 2));
        assert!(matches!(fresh.events[..], [BrokerEvent::Acked { seq: 1, .. }]));
    }

    #[test]
    fn jetstream_headers_and_replies_mean_nothing_to_nats_streaming() {
        use super::super::protocol::Reply;
        let mut b = BrokerState::new(1);
        let p = connect(&mut b, 9, "pub");
        let c = connect(&mut b, 1, "o1");
        step(&mut b, 0, 1, Message::Subscribe { client: c.clone(), subject: Subject::TicketUpdated, group: ORDERS });
        for _ in 0..2 {
            let msg = Message::Publish {
                client: p.clone(),
                publish_id: 1,
                event: ticket_event(0),
                msg_id: Some("e1".into()),
                expect_last: Some(7),
            };
            assert!(
                matches!(step(&mut b, 0, 9, msg).send[0].1, Message::PublishAck { duplicate: false, .. }),
                "no de-duplication, no expectation"
            );
        }
        for reply in [Reply::Nak(Duration::ZERO), Reply::Term, Reply::InProgress] {
            let out = step(
                &mut b,
                0,
                1,
                Message::Ack { client: c.clone(), subject: Subject::TicketUpdated, group: ORDERS, seq: 1, store_id: 1, reply },
            );
            assert!(out.events.is_empty() && out.send.is_empty(), "{reply:?} is ignored");
        }
        assert_eq!(b.outstanding(Subject::TicketUpdated, ORDERS).len(), 2);
    }

    #[test]
    fn unknown_client_is_told_on_heartbeat_and_its_publishes_refused() {
        let mut b = BrokerState::new(7);
        let out = step(&mut b, 0, 1, Message::Heartbeat { client: "ghost".into() });
        assert!(matches!(out.send[0].1, Message::HeartbeatAck { known: false, store_id: 7 }));
        let out = step(
            &mut b,
            0,
            1,
            Message::Publish { client: "ghost".into(), publish_id: 1, event: ticket_event(0), msg_id: None, expect_last: None },
        );
        assert!(out.events.is_empty(), "nothing stored");
        assert!(matches!(out.send[..], [(to, Message::UnknownClient { store_id: 7 })] if to == n(1)));
    }
}
