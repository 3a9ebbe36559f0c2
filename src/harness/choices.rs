//! The one source of random decisions for a run. Every choice the harness makes
//! (workload operations, per-message drop/duplicate/delay, nemesis events, swarm draws,
//! store latencies) is a `draw(site, bound)` here, so a run's choices can be counted,
//! recorded and later replayed. Values come from madsim's seeded RNG.

use rand::Rng;
use std::sync::{Arc, Mutex};

/// Where a decision is made; kept with recorded choices so a record can be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    Swarm,
    Workload,
    Nemesis,
    NetDrop,
    NetDuplicate,
    NetDelay,
    StoreLatency,
}

/// One recorded decision: where it was made, the bound, and the value drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Choice {
    pub site: Site,
    pub bound: u64,
    pub value: u64,
}

impl Site {
    pub const ALL: [Site; 7] =
        [Site::Swarm, Site::Workload, Site::Nemesis, Site::NetDrop, Site::NetDuplicate, Site::NetDelay, Site::StoreLatency];
}

/// Recorded values per site, in the order they were drawn. Replaying a record answers
/// each site's draws from its own list (so simplifying one site's values does not shift
/// another's), clamped to the bound asked; past the end of a list every draw is 0, the
/// simplest value (no drop, no duplicate, the shortest delay, the first option).
pub type Record = std::collections::BTreeMap<Site, Vec<u64>>;

struct Inner {
    rng: madsim::rand::GlobalRng,
    record: Option<Vec<Choice>>,
    replay: Option<std::collections::BTreeMap<Site, std::collections::VecDeque<u64>>>,
    /// A branched run: its first draws answered from the prefix (in order), the rest
    /// from its own stream.
    prefix: Option<(std::collections::VecDeque<u64>, super::strategy::Stream)>,
    /// A whole recording replayed draw for draw: each draw must be the next one recorded.
    exact: Option<(std::collections::VecDeque<Choice>, usize)>,
}

/// Cheap to clone; all clones share one stream.
#[derive(Clone)]
pub struct Choices {
    inner: Arc<Mutex<Inner>>,
}

impl Choices {
    /// Must be created inside the madsim runtime: it draws from madsim's seeded RNG.
    pub fn from_runtime() -> Self {
        Choices {
            inner: Arc::new(Mutex::new(Inner { rng: madsim::rand::thread_rng(), record: None, replay: None, prefix: None, exact: None })),
        }
    }

    /// Keeps every later decision in a record (see [`Choices::take_record`]).
    pub fn start_recording(&self) {
        self.inner.lock().unwrap().record = Some(Vec::new());
    }

    pub fn take_record(&self) -> Vec<Choice> {
        self.inner.lock().unwrap().record.take().unwrap_or_default()
    }

    /// From now on, answer draws from `record` instead of the RNG. madsim's RNG is still
    /// advanced once per draw, so its scheduler sees the same stream it would live.
    pub fn replay(&self, record: &Record) {
        let queues = record.iter().map(|(site, values)| (*site, values.iter().copied().collect())).collect();
        self.inner.lock().unwrap().replay = Some(queues);
    }

    /// A coverage run branching from a corpus run: answer the first draws from
    /// `values` (the parent's, in the order drawn; clamped to the bound asked), the rest
    /// from a stream of its own (`key`). madsim's RNG still advances once per draw.
    pub fn start_with(&self, values: &[u64], key: u64) {
        self.inner.lock().unwrap().prefix = Some((values.iter().copied().collect(), super::strategy::Stream::new(key)));
    }

    /// From now on, answer draws from a whole recording, draw for draw. A draw at
    /// another site or bound than the recording's next one, or past its end, breaks the
    /// harness's assumption that the run is the recorded one: it panics, naming the draw.
    pub fn replay_exactly(&self, recording: &[Choice]) {
        self.inner.lock().unwrap().exact = Some((recording.iter().copied().collect(), 0));
    }

    /// A uniform value in `0..bound` (0 when `bound` is 0 or 1, without drawing).
    pub fn draw(&self, site: Site, bound: u64) -> u64 {
        if bound <= 1 {
            return 0;
        }
        let mut inner = self.inner.lock().unwrap();
        let live = inner.rng.gen_range(0..bound);
        if let Some((queue, drawn)) = inner.exact.as_mut() {
            *drawn += 1;
            let recorded = queue.pop_front();
            assert!(
                recorded.is_some_and(|c| c.site == site && c.bound == bound && c.value == live),
                "harness assumption broken: replayed draw #{drawn} is {site:?} {live} in 0..{bound}, the recording has {recorded:?}"
            );
        }
        let branched = inner
            .prefix
            .as_mut()
            .map(|(values, stream)| values.pop_front().map(|v| v.min(bound - 1)).unwrap_or_else(|| stream.next(bound)));
        let value = match inner.replay.as_mut() {
            Some(queues) => queues.get_mut(&site).and_then(|q| q.pop_front()).map(|v| v.min(bound - 1)).unwrap_or(0),
            None => branched.unwrap_or(live),
        };
        if let Some(record) = inner.record.as_mut() {
            record.push(Choice { site, bound, value });
        }
        value
    }

    /// True with probability `p`; draws nothing when `p` is 0 or 1. A drawn 0 is
    /// false, so the simplest recorded value means "it did not happen".
    pub fn chance(&self, site: Site, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        const SCALE: u64 = 1 << 24;
        (self.draw(site, SCALE) as f64) >= (1.0 - p) * SCALE as f64
    }

    /// A uniform value in `lo..=hi`.
    pub fn between(&self, site: Site, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.draw(site, hi - lo + 1)
    }

    /// A uniform duration in `lo..=hi`, at microsecond resolution.
    pub fn duration(&self, site: Site, lo: std::time::Duration, hi: std::time::Duration) -> std::time::Duration {
        std::time::Duration::from_micros(self.between(site, lo.as_micros() as u64, hi.as_micros() as u64))
    }

    /// An index into a slice of `len` items.
    pub fn pick(&self, site: Site, len: usize) -> usize {
        self.draw(site, len as u64) as usize
    }
}

/// Groups a recorded list of choices by site.
pub fn by_site(choices: &[Choice]) -> Record {
    let mut record = Record::new();
    for c in choices {
        record.entry(c.site).or_default().push(c.value);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_replays_the_same_values_and_then_zeroes() {
        madsim::runtime::Runtime::with_seed_and_config(9, Default::default()).block_on(async {
            let live = Choices::from_runtime();
            live.start_recording();
            let drawn: Vec<u64> = (0..20).map(|i| live.draw(if i % 2 == 0 { Site::NetDelay } else { Site::Workload }, 1000)).collect();
            let record = by_site(&live.take_record());
            let replay = Choices::from_runtime();
            replay.replay(&record);
            let again: Vec<u64> = (0..20).map(|i| replay.draw(if i % 2 == 0 { Site::NetDelay } else { Site::Workload }, 1000)).collect();
            assert_eq!(drawn, again);
            assert_eq!(replay.draw(Site::NetDelay, 1000), 0, "past the record: the simplest value");
            assert!(!replay.chance(Site::NetDrop, 0.3), "a zero is 'did not happen'");
        });
    }

    fn recorded_then_exact(seed: u64, live_draws: impl Fn(&Choices), again: impl Fn(&Choices)) {
        let recording = madsim::runtime::Runtime::with_seed_and_config(seed, Default::default()).block_on(async {
            let live = Choices::from_runtime();
            live.start_recording();
            live_draws(&live);
            live.take_record()
        });
        madsim::runtime::Runtime::with_seed_and_config(seed, Default::default()).block_on(async {
            let checked = Choices::from_runtime();
            checked.replay_exactly(&recording);
            again(&checked);
        });
    }

    #[test]
    fn an_exact_replay_of_the_same_draws_passes() {
        let draws = |c: &Choices| {
            c.draw(Site::NetDelay, 1000);
            c.draw(Site::Workload, 7);
        };
        recorded_then_exact(4, draws, draws);
    }

    #[test]
    #[should_panic(expected = "harness assumption broken: replayed draw #2 is NetDrop")]
    fn an_exact_replay_that_asks_another_draw_stops_at_that_draw() {
        recorded_then_exact(
            4,
            |c| {
                c.draw(Site::NetDelay, 1000);
                c.draw(Site::Workload, 7);
            },
            |c| {
                c.draw(Site::NetDelay, 1000);
                c.draw(Site::NetDrop, 7);
            },
        );
    }
}
