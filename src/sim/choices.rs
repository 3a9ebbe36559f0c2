//! The one source of random decisions for a run. Every choice the harness makes
//! (workload operations, per-message drop/duplicate/delay, nemesis events, swarm draws,
//! store latencies) is a `draw(site, bound)` here, so a run's choices can be counted,
//! recorded and later replayed. Values come from madsim's seeded RNG.

use rand::Rng;
use std::sync::{Arc, Mutex};

/// Where a decision is made; kept with recorded choices so a record can be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
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

struct Inner {
    rng: madsim::rand::GlobalRng,
    record: Option<Vec<Choice>>,
    draws: u64,
}

/// Cheap to clone; all clones share one stream.
#[derive(Clone)]
pub struct Choices {
    inner: Arc<Mutex<Inner>>,
}

impl Choices {
    /// Must be created inside the madsim runtime: it draws from madsim's seeded RNG.
    pub fn from_runtime() -> Self {
        Choices { inner: Arc::new(Mutex::new(Inner { rng: madsim::rand::thread_rng(), record: None, draws: 0 })) }
    }

    /// Keeps every later decision in a record (see [`Choices::take_record`]).
    pub fn start_recording(&self) {
        self.inner.lock().unwrap().record = Some(Vec::new());
    }

    pub fn take_record(&self) -> Vec<Choice> {
        self.inner.lock().unwrap().record.take().unwrap_or_default()
    }

    /// Number of decisions drawn so far.
    pub fn draws(&self) -> u64 {
        self.inner.lock().unwrap().draws
    }

    /// A uniform value in `0..bound` (0 when `bound` is 0 or 1, without drawing).
    pub fn draw(&self, site: Site, bound: u64) -> u64 {
        if bound <= 1 {
            return 0;
        }
        let mut inner = self.inner.lock().unwrap();
        let value = inner.rng.gen_range(0..bound);
        inner.draws += 1;
        if let Some(record) = inner.record.as_mut() {
            record.push(Choice { site, bound, value });
        }
        value
    }

    /// True with probability `p`; draws nothing when `p` is 0 or 1.
    pub fn chance(&self, site: Site, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        const SCALE: u64 = 1 << 24;
        (self.draw(site, SCALE) as f64) < p * SCALE as f64
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
