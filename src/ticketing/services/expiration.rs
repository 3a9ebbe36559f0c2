//! The expiration service: a durable delay queue (Redis/Bull in the app). It schedules
//! a job at each new order's `expiresAt` and, when the job runs, publishes
//! expiration:complete. The queue is the service's store: jobs survive restarts.

use super::{Opening, ServiceSpec, Starter};
use crate::harness::BoxFuture;
use crate::ticketing::common::HandlerError;
use crate::ticketing::common::Listener;
use crate::ticketing::common::{listen, Emit, Instance, InstanceEnv, Staged};
use crate::ticketing::common::{Db, Row, Table};
use crate::ticketing::common::{HasOutbox, Outbox};
use crate::ticketing::domain::TicketingApp;
use crate::ticketing::domain::{self, Event, Id, Snapshot, Subject};
use crate::ticketing::flaws::{Flaw, Flaws};
use std::sync::Arc;
use std::time::Duration;

/// The service's name: its nodes' (`expiration-1`), its store's, its scenario key's.
pub const NAME: &str = "expiration";

pub const SPEC: ServiceSpec = ServiceSpec {
    name: NAME,
    group: "expiration-service",
    default_instances: 0,
    routes: &[],
    publishes: &[Subject::ExpirationComplete],
    consumes: &[Subject::OrderCreated],
    open,
};

/// How often each instance's worker looks for due jobs.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// A job taken by a worker that has not finished it in this long is taken again.
pub const JOB_LEASE: Duration = Duration::from_secs(15);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    Waiting,
    /// Taken by a worker at this time.
    Active(Duration),
    Done,
}

#[derive(Clone, Debug)]
pub struct Job {
    pub id: u64,
    pub order_id: Id,
    pub due: Duration,
    pub state: JobState,
    /// The order:created delivery that scheduled it: the cause of its expiration:complete.
    pub origin: crate::kit::origin::Origin,
}

impl Row for Job {
    type Key = u64;
    type Doc = Snapshot;
    fn key(&self) -> u64 {
        self.id
    }
    fn snapshot(&self) -> Snapshot {
        let state = match self.state {
            JobState::Waiting => "waiting".to_string(),
            JobState::Active(since) => format!("active since {}", crate::harness::fmt_time(since)),
            JobState::Done => "done".to_string(),
        };
        Snapshot::Job { id: self.id, order_id: self.order_id.clone(), due: self.due, state }
    }
}

#[derive(Default)]
pub struct ExpirationDb {
    pub jobs: Table<Job>,
    pub next_job: crate::kit::store::Counter,
    pub outbox: Outbox,
}

crate::journal!(ExpirationDb: Snapshot; jobs, outbox; next_job);

impl ExpirationDb {
    fn set_state(&mut self, job: u64, state: JobState) {
        if let Some(mut j) = self.jobs.get(&job) {
            j.state = state;
            self.jobs.upsert(j);
        }
    }
}

impl HasOutbox<TicketingApp> for ExpirationDb {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }
}

pub struct Expiration {
    db: Db<ExpirationDb>,
    emit: Emit,
    flaws: Flaws,
    /// Planted (test-only): jobs up to this id are never run by this incarnation.
    forgotten: u64,
}

fn open(o: &mut Opening) -> Starter {
    let db = o.store(ExpirationDb::default(), |s| &mut s.expiration);
    let forgets = o.app.planted == Some(crate::ticketing::flaws::Planted::ExpirationForgetsJobs);
    let started: std::sync::Mutex<std::collections::BTreeSet<Arc<str>>> = Default::default();
    Arc::new(move |env| {
        let db = db.on(&env.name);
        // Planted (test-only): a restarted instance's worker never runs the jobs queued
        // before its restart, as if it had kept them in memory.
        let restarted = forgets && !started.lock().unwrap().insert(env.name.clone());
        let forgotten = if restarted { db.read(|s| s.next_job.get()) } else { 0 };
        start(env, &db, forgotten)
    })
}

pub fn start(env: &InstanceEnv, db: &Db<ExpirationDb>, forgotten: u64) -> Arc<Instance> {
    let service = Arc::new(Expiration { db: db.clone(), emit: env.emit(), flaws: env.app.flaws, forgotten });
    crate::harness::cause::spawn(service.clone().work_forever());
    env.relay(db);
    env.start(None, |nats| listen(nats, OrderCreatedListener(service)))
}

impl Expiration {
    /// The queue worker: runs due jobs, one instance per job.
    async fn work_forever(self: Arc<Self>) {
        loop {
            crate::harness::sleep(POLL_INTERVAL).await;
            let now = crate::harness::now();
            let unawaited = self.flaws.on(Flaw::UnawaitedExpirationPublish);
            let outbox = self.emit.outbox;
            let taken: Vec<(u64, Arc<Event>, Staged)> = self
                .db
                .poll("run-jobs", |s| {
                    let due: Vec<u64> = s
                        .jobs
                        .values()
                        .filter(|j| {
                            j.id > self.forgotten
                                && j.due <= now
                                && match j.state {
                                    JobState::Waiting => true,
                                    JobState::Active(since) => now.saturating_sub(since) >= JOB_LEASE,
                                    JobState::Done => false,
                                }
                        })
                        .map(|j| j.id)
                        .collect();
                    let mut taken = Vec::new();
                    for id in due {
                        let job = s.jobs.get(&id).expect("a due job exists");
                        let event = Event::caused_by(&domain::ExpirationComplete { order_id: job.order_id.clone() }, job.origin.clone());
                        let mut staged = Staged::default();
                        if unawaited {
                            // Flaw::UnawaitedExpirationPublish: the job completes before its
                            // publish is known to have worked.
                            s.set_state(id, JobState::Done);
                        } else if outbox {
                            // Hardened: completing the job and recording the event are one transaction.
                            s.set_state(id, JobState::Done);
                            self.emit.stage(&mut s.outbox, &mut staged, event.clone());
                        } else {
                            // As built without the flaw: the job completes once the publish is acked.
                            s.set_state(id, JobState::Active(now));
                        }
                        taken.push((id, event, staged));
                    }
                    taken
                })
                .await;
            for (job, event, staged) in taken {
                if unawaited {
                    self.emit.publish_unawaited(event);
                } else if outbox {
                    self.emit.publish(&self.db, staged);
                } else {
                    let published = match self.emit.nats.upgrade() {
                        Some(nats) => nats.publish(event).await.is_ok(),
                        None => false,
                    };
                    let state = if published { JobState::Done } else { JobState::Waiting };
                    self.db.tx("job-done", |s| s.set_state(job, state)).await;
                }
            }
        }
    }
}

struct OrderCreatedListener(Arc<Expiration>);

impl Listener for OrderCreatedListener {
    type Event = domain::OrderCreated;

    fn on_message(self: Arc<Self>, data: domain::OrderCreated) -> BoxFuture<Result<(), HandlerError>> {
        Box::pin(async move {
            let svc = &self.0;
            // Hardened: one job per order, so a duplicate event adds no job.
            let dedupe = !svc.flaws.on(Flaw::NonIdempotentListeners);
            svc.db
                .tx("schedule", |s| {
                    if dedupe && s.jobs.values().any(|j| j.order_id == data.id) {
                        return;
                    }
                    let id = s.next_job.next_value();
                    // Flaw::EarlyExpiration (planted): the job is due at once, not at expiresAt.
                    let due =
                        if svc.flaws.on(Flaw::EarlyExpiration) { crate::harness::now() } else { Duration::from_micros(data.expires_at) };
                    let origin = crate::kit::origin::current();
                    s.jobs.upsert(Job { id, order_id: data.id.clone(), due, state: JobState::Waiting, origin });
                })
                .await;
            Ok(())
        })
    }
}
