//! The expiration service: a durable delay queue (Redis/Bull in the app). It schedules
//! a job at each new order's `expiresAt` and, when the job runs, publishes
//! expiration:complete. The queue is the service's store: jobs survive restarts.

use super::InstanceEnv;
use crate::app::instance::{Emit, Instance, Staged};
use crate::app::nats::Listener;
use crate::app::outbox::{HasOutbox, Outbox};
use crate::app::store::Db;
use crate::app::{BoxFut, HandlerError};
use crate::flaws::{Flaw, Flaws};
use crate::proto::{Event, EventData, Group, Id, Subject};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const GROUP: Group = "expiration-service";

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
    pub order_id: Id,
    pub due: Duration,
    pub state: JobState,
}

#[derive(Default)]
pub struct ExpirationDb {
    pub jobs: BTreeMap<u64, Job>,
    pub next_job: u64,
    pub outbox: Outbox,
}

impl HasOutbox for ExpirationDb {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }
}

pub struct Expiration {
    db: Db<ExpirationDb>,
    emit: Emit,
    flaws: Flaws,
}

pub fn start(env: &InstanceEnv, db: &Db<ExpirationDb>) -> Arc<Instance> {
    let service = Arc::new(Expiration { db: db.clone(), emit: env.emit(), flaws: env.app.flaws });
    madsim::task::spawn(service.clone().work_forever());
    env.start(db, None, vec![Arc::new(OrderCreatedListener(service))])
}

impl Expiration {
    /// The queue worker: runs due jobs, one instance per job.
    async fn work_forever(self: Arc<Self>) {
        loop {
            madsim::time::sleep(POLL_INTERVAL).await;
            let now = crate::sim::now();
            let unawaited = self.flaws.has(Flaw::UnawaitedExpirationPublish);
            let outbox = self.emit.outbox;
            let taken: Vec<(u64, Arc<Event>, Staged)> = self
                .db
                .tx("run-jobs", |s, w| {
                    let due: Vec<u64> = s
                        .jobs
                        .iter()
                        .filter(|(_, j)| {
                            j.due <= now
                                && match j.state {
                                    JobState::Waiting => true,
                                    JobState::Active(since) => now.saturating_sub(since) >= JOB_LEASE,
                                    JobState::Done => false,
                                }
                        })
                        .map(|(id, _)| *id)
                        .collect();
                    let mut taken = Vec::new();
                    for id in due {
                        let job = s.jobs.get_mut(&id).unwrap();
                        let event = Event::new(EventData::ExpirationComplete { order_id: job.order_id.clone() });
                        let mut staged = Staged::default();
                        if unawaited {
                            // Flaw::UnawaitedExpirationPublish: the job completes before its
                            // publish is known to have worked.
                            job.state = JobState::Done;
                        } else if outbox {
                            // Hardened: completing the job and recording the event are one transaction.
                            job.state = JobState::Done;
                            self.emit.stage(&mut s.outbox, w, &mut staged, event.clone());
                        } else {
                            // As built without the flaw: the job completes once the publish is acked.
                            job.state = JobState::Active(now);
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
                    let _ = self.emit.sent(&self.db, staged, false).await;
                } else {
                    let published = match self.emit.nats.upgrade() {
                        Some(nats) => nats.publish(event).await.is_ok(),
                        None => false,
                    };
                    let state = if published { JobState::Done } else { JobState::Waiting };
                    self.db
                        .tx("job-done", |s, _| {
                            if let Some(j) = s.jobs.get_mut(&job) {
                                j.state = state;
                            }
                        })
                        .await;
                }
            }
        }
    }
}

struct OrderCreatedListener(Arc<Expiration>);

impl Listener for OrderCreatedListener {
    fn subject(&self) -> Subject {
        Subject::OrderCreated
    }
    fn queue_group(&self) -> Group {
        GROUP
    }
    fn on_message(self: Arc<Self>, event: Arc<Event>) -> BoxFut<Result<(), HandlerError>> {
        Box::pin(async move {
            let EventData::OrderCreated { id, expires_at, .. } = &event.data else { return Ok(()) };
            let svc = &self.0;
            // Hardened: the job id is the order id, so a duplicate event adds no job.
            let dedupe = !svc.flaws.has(Flaw::NonIdempotentListeners);
            svc.db
                .tx("schedule", |s, _| {
                    if dedupe && s.jobs.values().any(|j| j.order_id == *id) {
                        return;
                    }
                    s.next_job += 1;
                    let job = Job { order_id: id.clone(), due: *expires_at, state: JobState::Waiting };
                    s.jobs.insert(s.next_job, job);
                })
                .await;
            Ok(())
        })
    }
}
