//! The JetStream-like broker: the same protocol as the NATS Streaming one
//! ([`super::broker`]), with JetStream's stream and consumer rules, as a pure state
//! machine (message in, messages out) unit-tested without a runtime.
//!
//! Rules, as NATS JetStream documents them:
//! - one stream holds every subject, with one sequence; each subject's last sequence is
//!   kept for `Nats-Expected-Last-Subject-Sequence` (a mismatch is error 10071, "wrong
//!   last sequence", and nothing is stored);
//! - a publish with `Nats-Msg-Id` seen within the duplicate window (2 minutes by
//!   default) stores nothing: the PubAck names the first copy's sequence, `duplicate`;
//! - a durable consumer per (subject, queue group), created by its first subscriber at
//!   its deliver policy (all, last, new, by start sequence, by start time, last per
//!   subject), delivering to one member of the group at a time, round robin;
//! - ack wait per delivery (or the consumer's BackOff: the n-th delivery waits
//!   `backoff[n-1]`, the last value repeated), then redelivery to any member; `Nak`
//!   redelivers after its delay; `Term` never redelivers; `InProgress` resets the ack
//!   timer; an ack from a first recipient after a redelivery is still honoured;
//! - MaxDeliver (unlimited by default): a message whose last delivery expires at the
//!   limit is not redelivered; it stays in the stream, never processed, with an
//!   advisory; MaxAckPending (1,000 by default): delivery stops while that many are
//!   pending;
//! - a client whose interest is gone (missed heartbeats) leaves its groups, but what it
//!   held is redelivered only when its ack wait expires (NATS Streaming hands it on at
//!   once).

use super::broker::{BrokerConfig, BrokerEvent, ClientInfo, Output, Outstanding};
pub use super::broker::{DeliverPolicy, JetStreamConfig};
use super::event::Event;
use super::protocol::{ClientId, Message, Reply};
use super::{Group, Id, Subject};
use crate::harness::fabric::NodeId;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// Most message ids remembered at once; past it the oldest is forgotten early.
pub const MAX_MSG_IDS: usize = 1 << 20;

#[derive(Clone, Debug)]
struct Stored<S> {
    subject: S,
    event: Arc<Event<S>>,
    time: Duration,
}

#[derive(Clone, Debug)]
struct Pending {
    member: ClientId,
    deadline: Duration,
    deliveries: u32,
}

/// A durable consumer: one subject, one queue group.
#[derive(Clone, Debug, Default)]
struct Consumer {
    /// The next stream sequence to look at for a first delivery.
    next: u64,
    members: Vec<ClientId>,
    round_robin: usize,
    pending: BTreeMap<u64, Pending>,
    /// Messages that reached MaxDeliver, with their deliveries: in the stream, never processed.
    parked: BTreeMap<u64, u32>,
}

impl Consumer {
    fn next_member(&mut self) -> Option<ClientId> {
        if self.members.is_empty() {
            return None;
        }
        let member = self.members[self.round_robin % self.members.len()].clone();
        self.round_robin = self.round_robin.wrapping_add(1);
        Some(member)
    }
}

/// The JetStream broker's store plus its live sessions.
#[derive(Clone, Debug)]
pub struct JetStreamState<S> {
    pub store_id: u64,
    stream: Vec<Stored<S>>,
    last_by_subject: BTreeMap<S, u64>,
    msg_ids: BTreeMap<Id, u64>,
    /// Message ids by the time they were first stored, oldest first.
    msg_id_times: VecDeque<(Duration, Id)>,
    consumers: BTreeMap<(S, Group), Consumer>,
    pub clients: BTreeMap<ClientId, ClientInfo>,
}

impl<S: Subject> JetStreamState<S> {
    pub fn new(store_id: u64) -> Self {
        JetStreamState {
            store_id,
            stream: Vec::new(),
            last_by_subject: BTreeMap::new(),
            msg_ids: BTreeMap::new(),
            msg_id_times: VecDeque::new(),
            consumers: BTreeMap::new(),
            clients: BTreeMap::new(),
        }
    }

    /// Handles one message from node `from` at virtual time `now`.
    pub fn handle(&mut self, config: &BrokerConfig, now: Duration, from: NodeId, msg: Message<S>, out: &mut Output<S>) {
        match msg {
            Message::Connect { .. } | Message::Heartbeat { .. } => {
                super::broker::session(&mut self.clients, self.store_id, now, from, msg, out)
            }
            Message::Subscribe { client, subject, group } => {
                if !self.clients.contains_key(&client) {
                    out.send.push((from, Message::UnknownClient { store_id: self.store_id }));
                    return;
                }
                let start = self.start_of(config.jetstream.deliver_policy, subject);
                let consumer = self.consumers.entry((subject, group)).or_insert_with(|| Consumer { next: start, ..Default::default() });
                if !consumer.members.contains(&client) {
                    consumer.members.push(client);
                }
                out.send.push((from, Message::Subscribed { subject, group }));
                self.pump(config, now, subject, out);
            }
            Message::Publish { client, publish_id, event, msg_id, expect_last } => {
                if !self.clients.contains_key(&client) {
                    out.send.push((from, Message::UnknownClient { store_id: self.store_id }));
                    return;
                }
                self.publish(config, now, from, (client, publish_id, event), msg_id, expect_last, out);
            }
            Message::Ack { client, subject, group, seq, store_id, reply } if store_id == self.store_id => {
                self.reply(config, now, (client, subject, group, seq), reply, out);
            }
            _ => {}
        }
    }

    /// The first sequence a consumer created now looks at, by its deliver policy.
    fn start_of(&self, policy: DeliverPolicy, subject: S) -> u64 {
        let end = self.stream.len() as u64 + 1;
        match policy {
            DeliverPolicy::All => 1,
            DeliverPolicy::New => end,
            DeliverPolicy::Last | DeliverPolicy::LastPerSubject => self.last_by_subject.get(&subject).copied().unwrap_or(end),
            DeliverPolicy::ByStartSequence(seq) => seq.max(1),
            DeliverPolicy::ByStartTime(time) => self.stream.iter().position(|m| m.time >= time).map_or(end, |i| i as u64 + 1),
        }
    }

    /// Forgets message ids older than the duplicate window (and the oldest past the bound).
    fn expire_msg_ids(&mut self, window: Duration, now: Duration) {
        while let Some((time, id)) = self.msg_id_times.front() {
            if now.saturating_sub(*time) < window && self.msg_id_times.len() <= MAX_MSG_IDS {
                break;
            }
            self.msg_ids.remove(id);
            self.msg_id_times.pop_front();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn publish(
        &mut self,
        config: &BrokerConfig,
        now: Duration,
        from: NodeId,
        (client, publish_id, event): (ClientId, u64, Arc<Event<S>>),
        msg_id: Option<Id>,
        expect_last: Option<u64>,
        out: &mut Output<S>,
    ) {
        let store_id = self.store_id;
        self.expire_msg_ids(config.jetstream.duplicate_window, now);
        if let Some(seq) = msg_id.as_ref().and_then(|id| self.msg_ids.get(id)) {
            out.events.push(BrokerEvent::Deduplicated { subject: event.subject, seq: *seq, event_id: event.event_id.clone(), client });
            out.send.push((from, Message::PublishAck { publish_id, seq: *seq, store_id, duplicate: true }));
            return;
        }
        let subject = event.subject;
        let last = self.last_by_subject.get(&subject).copied().unwrap_or(0);
        if expect_last.is_some_and(|expected| expected != last) {
            let description = format!("wrong last sequence: {last}").into();
            out.send.push((from, Message::PublishRejected { publish_id, code: 10071, description }));
            return;
        }
        self.stream.push(Stored { subject, event: event.clone(), time: now });
        let seq = self.stream.len() as u64;
        self.last_by_subject.insert(subject, seq);
        if let Some(id) = msg_id {
            self.msg_ids.insert(id.clone(), seq);
            self.msg_id_times.push_back((now, id));
        }
        out.events.push(BrokerEvent::Accepted { subject, seq, event, store_id, client });
        out.send.push((from, Message::PublishAck { publish_id, seq, store_id, duplicate: false }));
        self.pump(config, now, subject, out);
    }

    /// A consumer's reply to a delivery it holds pending (whoever it went to last).
    fn reply(
        &mut self,
        config: &BrokerConfig,
        now: Duration,
        (client, subject, group, seq): (ClientId, S, Group, u64),
        reply: Reply,
        out: &mut Output<S>,
    ) {
        let Some(consumer) = self.consumers.get_mut(&(subject, group)) else {
            return;
        };
        let Some(pending) = consumer.pending.get_mut(&seq) else {
            return;
        };
        let event_id = self.stream[seq as usize - 1].event.event_id.clone();
        match reply {
            Reply::Ack => {
                consumer.pending.remove(&seq);
                out.events.push(BrokerEvent::Acked { subject, group, seq, client, event_id });
            }
            Reply::Term => {
                consumer.pending.remove(&seq);
                out.events.push(BrokerEvent::Replied { subject, group, seq, client, event_id, reply });
            }
            Reply::Nak(delay) => {
                pending.deadline = now + delay;
                out.events.push(BrokerEvent::Replied { subject, group, seq, client, event_id, reply });
                self.redeliver_due(config, now, subject, out);
            }
            Reply::InProgress => {
                pending.deadline = now + wait_after(config, pending.deliveries);
                out.events.push(BrokerEvent::Replied { subject, group, seq, client, event_id, reply });
            }
        }
        self.pump(config, now, subject, out);
    }

    /// Expired pending messages of `subject`: redelivered to any member, or parked at MaxDeliver.
    fn redeliver_due(&mut self, config: &BrokerConfig, now: Duration, subject: S, out: &mut Output<S>) {
        let mut redeliveries = Vec::new();
        for ((_, group), consumer) in self.consumers.range_mut((subject, "")..).take_while(|((s, _), _)| *s == subject) {
            let expired: Vec<u64> = consumer.pending.iter().filter(|(_, p)| p.deadline <= now).map(|(seq, _)| *seq).collect();
            for seq in expired {
                let deliveries = consumer.pending[&seq].deliveries;
                if config.jetstream.max_deliver.is_some_and(|max| deliveries >= max) {
                    consumer.pending.remove(&seq);
                    consumer.parked.insert(seq, deliveries);
                    let event_id = self.stream[seq as usize - 1].event.event_id.clone();
                    out.events.push(BrokerEvent::Parked { subject, group, seq, event_id, deliveries });
                    continue;
                }
                let Some(member) = consumer.next_member() else {
                    break;
                };
                let pending = consumer.pending.get_mut(&seq).expect("an expired message is pending");
                pending.member = member.clone();
                pending.deliveries += 1;
                pending.deadline = now + wait_after(config, pending.deliveries);
                redeliveries.push((*group, seq, member));
            }
        }
        for (group, seq, member) in redeliveries {
            self.send_deliver(subject, group, seq, member, true, out);
        }
    }

    /// Redelivers what expired and retires clients whose interest is gone.
    pub fn tick(&mut self, config: &BrokerConfig, now: Duration, out: &mut Output<S>) {
        for client in super::broker::dead_clients(&self.clients, config, now) {
            self.remove_client(&client, out);
        }
        let subjects: BTreeSet<S> = self.consumers.keys().map(|(s, _)| *s).collect();
        for subject in subjects {
            self.redeliver_due(config, now, subject, out);
            self.pump(config, now, subject, out);
        }
    }

    /// Forgets a client: it leaves every group; what it held waits for its ack wait.
    pub fn remove_client(&mut self, client: &ClientId, out: &mut Output<S>) {
        self.clients.remove(client);
        out.events.push(BrokerEvent::ClientDead { client: client.clone() });
        for consumer in self.consumers.values_mut() {
            consumer.members.retain(|m| m != client);
        }
    }

    /// First deliveries of `subject`'s new messages to every consumer with room.
    fn pump(&mut self, config: &BrokerConfig, now: Duration, subject: S, out: &mut Output<S>) {
        let end = self.stream.len() as u64 + 1;
        let mut deliveries = Vec::new();
        for ((_, group), consumer) in self.consumers.range_mut((subject, "")..).take_while(|((s, _), _)| *s == subject) {
            while consumer.next < end && consumer.pending.len() < config.jetstream.max_ack_pending {
                let seq = consumer.next;
                if self.stream[seq as usize - 1].subject != subject {
                    consumer.next += 1;
                    continue;
                }
                let Some(member) = consumer.next_member() else {
                    break;
                };
                consumer.next += 1;
                consumer.pending.insert(seq, Pending { member: member.clone(), deadline: now + wait_after(config, 1), deliveries: 1 });
                deliveries.push((*group, seq, member));
            }
        }
        for (group, seq, member) in deliveries {
            self.send_deliver(subject, group, seq, member, false, out);
        }
    }

    fn send_deliver(&self, subject: S, group: Group, seq: u64, member: ClientId, redelivered: bool, out: &mut Output<S>) {
        let event = self.stream[seq as usize - 1].event.clone();
        let Some(info) = self.clients.get(&member) else {
            return;
        };
        out.deliver(info.node, self.store_id, (subject, group, seq), member, event, redelivered);
    }

    /// What a consumer has not processed: pending, parked at MaxDeliver, never delivered.
    pub fn outstanding(&self, subject: S, group: Group) -> Vec<Outstanding<S>> {
        let Some(consumer) = self.consumers.get(&(subject, group)) else {
            return Vec::new();
        };
        let item = |seq: u64, deliveries: u32, parked: bool| Outstanding {
            subject,
            group,
            seq,
            event_id: self.stream[seq as usize - 1].event.event_id.clone(),
            deliveries,
            parked,
        };
        let mut result: Vec<Outstanding<S>> = consumer.pending.iter().map(|(seq, p)| item(*seq, p.deliveries, false)).collect();
        result.extend(consumer.parked.iter().map(|(seq, deliveries)| item(*seq, *deliveries, true)));
        let never = (consumer.next..=self.stream.len() as u64).filter(|seq| self.stream[*seq as usize - 1].subject == subject);
        result.extend(never.map(|seq| item(seq, 0, false)));
        result.sort_by_key(|o| o.seq);
        result
    }
}

/// How long the `deliveries`-th delivery waits for its ack: the BackOff's value for it
/// (the last repeated), else ack wait.
fn wait_after(config: &BrokerConfig, deliveries: u32) -> Duration {
    let backoff = &config.jetstream.backoff;
    match backoff.get((deliveries.max(1) - 1) as usize).or(backoff.last()) {
        Some(wait) => *wait,
        None => config.ack_wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::broker::BrokerKind;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    enum Subject {
        TicketCreated,
        TicketUpdated,
    }

    impl std::fmt::Display for Subject {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(match self {
                Subject::TicketCreated => "ticket:created",
                Subject::TicketUpdated => "ticket:updated",
            })
        }
    }

    type Message = super::Message<Subject>;
    type State = JetStreamState<Subject>;
    type Output = super::Output<Subject>;
    const ORDERS: Group = "orders-service";
    const UPDATED: Subject = Subject::TicketUpdated;

    fn cfg() -> BrokerConfig {
        BrokerConfig { kind: BrokerKind::JetStream, ..Default::default() }
    }

    fn with(f: impl FnOnce(&mut JetStreamConfig)) -> BrokerConfig {
        let mut config = cfg();
        f(&mut config.jetstream);
        config
    }

    fn event(subject: Subject, version: u64) -> Arc<Event<Subject>> {
        let data = serde_json::json!({ "id": "T1", "version": version });
        Event::raw(format!("{subject}/T1/v{version}").into(), subject, data, Default::default())
    }

    fn n(slot: usize) -> NodeId {
        NodeId::from_slot(slot)
    }

    fn step(b: &mut State, config: &BrokerConfig, ms: u64, from: usize, msg: Message) -> Output {
        let mut out = Output::default();
        b.handle(config, Duration::from_millis(ms), n(from), msg, &mut out);
        out
    }

    fn tick(b: &mut State, config: &BrokerConfig, ms: u64) -> Output {
        let mut out = Output::default();
        b.tick(config, Duration::from_millis(ms), &mut out);
        out
    }

    /// A broker with a publisher (`pub`, node 9) and the given members of ORDERS on
    /// ticket:updated (`o1` on node 1, ...), all connected at 0.
    fn broker(config: &BrokerConfig, members: usize) -> State {
        let mut b = State::new(1);
        step(&mut b, config, 0, 9, Message::Connect { client: "pub".into() });
        for i in 1..=members {
            let client: ClientId = format!("o{i}").into();
            step(&mut b, config, 0, i, Message::Connect { client: client.clone() });
            step(&mut b, config, 0, i, Message::Subscribe { client, subject: UPDATED, group: ORDERS });
        }
        b
    }

    fn publish(
        b: &mut State,
        config: &BrokerConfig,
        ms: u64,
        e: Arc<Event<Subject>>,
        msg_id: Option<&str>,
        expect_last: Option<u64>,
    ) -> Output {
        let msg = Message::Publish { client: "pub".into(), publish_id: 1, event: e, msg_id: msg_id.map(Id::from), expect_last };
        step(b, config, ms, 9, msg)
    }

    fn reply(b: &mut State, config: &BrokerConfig, ms: u64, from: usize, seq: u64, reply: Reply) -> Output {
        let client: ClientId = format!("o{from}").into();
        step(b, config, ms, from, Message::Ack { client, subject: UPDATED, group: ORDERS, seq, store_id: 1, reply })
    }

    use crate::kit::broker::delivers;

    fn seqs(b: &State) -> Vec<u64> {
        b.outstanding(UPDATED, ORDERS).iter().map(|o| o.seq).collect()
    }

    #[test]
    fn one_stream_sequence_and_the_expected_last_subject_sequence() {
        let config = cfg();
        let mut b = broker(&config, 0);
        assert!(matches!(
            publish(&mut b, &config, 0, event(UPDATED, 0), None, Some(0)).send[..],
            [(_, Message::PublishAck { seq: 1, .. })]
        ));
        publish(&mut b, &config, 0, event(Subject::TicketCreated, 0), None, None);
        let out = publish(&mut b, &config, 0, event(UPDATED, 1), None, Some(0));
        match &out.send[..] {
            [(_, Message::PublishRejected { code: 10071, description, .. })] => assert_eq!(&**description, "wrong last sequence: 1"),
            other => panic!("a stale expectation is refused: {other:?}"),
        }
        assert!(out.events.is_empty(), "nothing stored");
        let out = publish(&mut b, &config, 0, event(UPDATED, 1), None, Some(1));
        assert!(
            matches!(out.send[..], [(_, Message::PublishAck { seq: 3, duplicate: false, .. })]),
            "the stream's sequence spans subjects"
        );
    }

    #[test]
    fn a_message_id_within_the_window_is_stored_once() {
        let config = with(|j| j.duplicate_window = Duration::from_secs(120));
        let mut b = broker(&config, 1);
        publish(&mut b, &config, 0, event(UPDATED, 0), Some("e1"), None);
        let again = publish(&mut b, &config, 119_000, event(UPDATED, 0), Some("e1"), None);
        assert!(matches!(again.send[..], [(_, Message::PublishAck { seq: 1, duplicate: true, .. })]), "{:?}", again.send);
        assert!(matches!(again.events[..], [BrokerEvent::Deduplicated { seq: 1, .. }]));
        let later = publish(&mut b, &config, 121_000, event(UPDATED, 0), Some("e1"), None);
        assert!(matches!(later.send[0].1, Message::PublishAck { seq: 2, duplicate: false, .. }), "past the window: a new message");
        let unnamed = publish(&mut b, &config, 121_000, event(UPDATED, 0), None, None);
        assert!(matches!(unnamed.send[0].1, Message::PublishAck { seq: 3, .. }), "without an id nothing is de-duplicated");
    }

    #[test]
    fn each_deliver_policy_starts_where_it_says() {
        let cases = [
            (DeliverPolicy::All, vec![1, 3, 5]),
            (DeliverPolicy::New, vec![]),
            (DeliverPolicy::Last, vec![5]),
            (DeliverPolicy::LastPerSubject, vec![5]),
            (DeliverPolicy::ByStartSequence(3), vec![3, 5]),
            (DeliverPolicy::ByStartTime(Duration::from_millis(4_000)), vec![5]),
        ];
        for (policy, expected) in cases {
            let config = with(|j| j.deliver_policy = policy);
            let mut b = broker(&config, 0);
            for (i, subject) in [UPDATED, Subject::TicketCreated, UPDATED, Subject::TicketCreated, UPDATED].into_iter().enumerate() {
                publish(&mut b, &config, i as u64 * 1_000, event(subject, i as u64), None, None);
            }
            step(&mut b, &config, 5_000, 1, Message::Connect { client: "o1".into() });
            let out = step(&mut b, &config, 5_000, 1, Message::Subscribe { client: "o1".into(), subject: UPDATED, group: ORDERS });
            assert_eq!(delivers(&out).iter().map(|d| d.1).collect::<Vec<_>>(), expected, "{policy:?}");
        }
    }

    #[test]
    fn ack_wait_redelivers_to_any_member_and_a_late_first_ack_is_honoured() {
        let config = cfg();
        let mut b = broker(&config, 2);
        assert_eq!(delivers(&publish(&mut b, &config, 0, event(UPDATED, 0), None, None)), vec![(1, 1, false)]);
        for (node, client) in [(1, "o1"), (2, "o2"), (9, "pub")] {
            step(&mut b, &config, 4_900, node, Message::Heartbeat { client: client.into() });
        }
        assert!(delivers(&tick(&mut b, &config, 4_999)).is_empty(), "not before ack wait");
        assert_eq!(delivers(&tick(&mut b, &config, 5_000)), vec![(2, 1, true)]);
        let late = reply(&mut b, &config, 5_100, 1, 1, Reply::Ack);
        assert!(matches!(late.events[..], [BrokerEvent::Acked { seq: 1, .. }]), "the first recipient's late ack counts");
        assert!(reply(&mut b, &config, 5_200, 2, 1, Reply::Ack).events.is_empty(), "the second's finds nothing pending");
        assert!(seqs(&b).is_empty());
    }

    #[test]
    fn nak_redelivers_after_its_delay_term_never_and_in_progress_resets_the_timer() {
        let config = cfg();
        let mut b = broker(&config, 1);
        publish(&mut b, &config, 0, event(UPDATED, 0), None, None);
        publish(&mut b, &config, 0, event(UPDATED, 1), None, None);
        publish(&mut b, &config, 0, event(UPDATED, 2), None, None);
        assert_eq!(delivers(&reply(&mut b, &config, 100, 1, 1, Reply::Nak(Duration::ZERO))), vec![(1, 1, true)], "nak 0: at once");
        assert!(delivers(&reply(&mut b, &config, 100, 1, 2, Reply::Nak(Duration::from_secs(1)))).is_empty());
        assert!(delivers(&tick(&mut b, &config, 1_000)).is_empty());
        assert_eq!(delivers(&tick(&mut b, &config, 1_100)), vec![(1, 2, true)], "nak 1s: a second later");
        let term = reply(&mut b, &config, 1_200, 1, 3, Reply::Term);
        assert!(matches!(term.events[..], [BrokerEvent::Replied { seq: 3, reply: Reply::Term, .. }]));
        reply(&mut b, &config, 4_000, 1, 1, Reply::InProgress);
        step(&mut b, &config, 5_000, 1, Message::Heartbeat { client: "o1".into() });
        let out = tick(&mut b, &config, 6_200);
        assert_eq!(delivers(&out), vec![(1, 2, true)], "seq 1 was in progress at 4s (due 9s); seq 2 due 6.1s; seq 3 terminated");
        assert_eq!(seqs(&b), vec![1, 2], "a terminated message is not outstanding");
    }

    #[test]
    fn max_deliver_parks_a_message_in_the_stream() {
        let config = with(|j| j.max_deliver = Some(2));
        let mut b = broker(&config, 1);
        publish(&mut b, &config, 0, event(UPDATED, 0), None, None);
        reply(&mut b, &config, 10, 1, 1, Reply::Nak(Duration::ZERO));
        let out = reply(&mut b, &config, 20, 1, 1, Reply::Nak(Duration::ZERO));
        assert!(delivers(&out).is_empty(), "the second delivery was the last");
        assert!(
            matches!(out.events[..], [BrokerEvent::Replied { .. }, BrokerEvent::Parked { seq: 1, deliveries: 2, .. }]),
            "{:?}",
            out.events
        );
        let outstanding = b.outstanding(UPDATED, ORDERS);
        assert!(outstanding.len() == 1 && outstanding[0].parked && outstanding[0].deliveries == 2);
        assert!(reply(&mut b, &config, 30, 1, 1, Reply::Ack).events.is_empty(), "a parked message is not pending");
    }

    #[test]
    fn max_ack_pending_holds_deliveries_until_an_ack() {
        let config = with(|j| j.max_ack_pending = 2);
        let mut b = broker(&config, 1);
        let mut first = Vec::new();
        for v in 0..4 {
            first.extend(delivers(&publish(&mut b, &config, 0, event(UPDATED, v), None, None)));
        }
        assert_eq!(first, vec![(1, 1, false), (1, 2, false)]);
        assert_eq!(delivers(&reply(&mut b, &config, 10, 1, 1, Reply::Ack)), vec![(1, 3, false)]);
    }

    #[test]
    fn backoff_sets_each_redelivery_s_wait() {
        let config = with(|j| j.backoff = vec![Duration::from_secs(1), Duration::from_secs(3)]);
        let mut b = broker(&config, 1);
        publish(&mut b, &config, 0, event(UPDATED, 0), None, None);
        let mut times = Vec::new();
        for ms in (0..=12_000).step_by(100) {
            step(&mut b, &config, ms, 1, Message::Heartbeat { client: "o1".into() });
            if !delivers(&tick(&mut b, &config, ms)).is_empty() {
                times.push(ms);
            }
        }
        assert_eq!(times, vec![1_000, 4_000, 7_000, 10_000], "1s after the first delivery, then 3s each (the last value repeated)");
    }

    #[test]
    fn a_dead_member_s_messages_wait_for_their_ack_wait() {
        let config = BrokerConfig { ack_wait: Duration::from_secs(30), ..cfg() };
        let mut b = broker(&config, 2);
        assert_eq!(delivers(&publish(&mut b, &config, 0, event(UPDATED, 0), None, None)), vec![(1, 1, false)]);
        let mut redelivered = Vec::new();
        for ms in (500..=31_000).step_by(500) {
            step(&mut b, &config, ms, 2, Message::Heartbeat { client: "o2".into() });
            let out = tick(&mut b, &config, ms);
            if out.events.iter().any(|e| matches!(e, BrokerEvent::ClientDead { client } if &**client == "o1")) {
                redelivered.push(("o1 dead", ms));
            }
            redelivered.extend(delivers(&out).iter().map(|_| ("redelivered", ms)));
        }
        // NATS Streaming hands it on when o1 is declared dead; JetStream at ack wait.
        assert_eq!(redelivered, vec![("o1 dead", 10_500), ("redelivered", 30_000)]);
    }

    #[test]
    fn a_reply_for_another_store_is_ignored() {
        let config = cfg();
        let mut b = broker(&config, 1);
        publish(&mut b, &config, 0, event(UPDATED, 0), None, None);
        let stale = step(
            &mut b,
            &config,
            0,
            1,
            Message::Ack { client: "o1".into(), subject: UPDATED, group: ORDERS, seq: 1, store_id: 7, reply: Reply::Ack },
        );
        assert!(stale.events.is_empty() && seqs(&b) == vec![1]);
    }
}
