//! The one source of random decisions for a run. Every choice the harness makes
//! (workload operations, per-message drop/duplicate/delay, nemesis events, swarm draws,
//! store latencies) is a `draw(site, key, bound)` here. A decision is keyed by what it
//! decides, not by when it is made: its value is a hash of the run's seed, the site,
//! the cause of the task drawing it ([`super::cause`]), the key the caller gives (a
//! message's endpoints and identity, a store call's name, a fault's number) and how
//! many times that same key was drawn before. Changing one part of a run (a flaw
//! switched off, an operation removed) leaves the decisions of every other part as
//! they were. madsim's own RNG is left to madsim (its scheduler's tie-breaks).

use super::sync::Mutex;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

pub use super::hash::{key, mix, splitmix64};

/// Where a decision is made; part of its key, and kept with recorded choices (shrink
/// drops a whole site's decisions at once). The harness's own sites are fixed; a system
/// names its own with [`Site::Declared`] (`Site::Declared("processing time")`), so its
/// decisions are told apart from the harness's in records, shrink and traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Site {
    /// Swarm mode: which fault kinds and flaky parts a seed turns on, and how hard.
    Swarm,
    Workload,
    Nemesis,
    NetDrop,
    NetDuplicate,
    NetDelay,
    StoreLatency,
    /// PCT: the nodes' priorities and the change points.
    Pct,
    /// Buggify: crashes at fault sites.
    Buggify,
    /// A site a system declares: its name, unique among the system's sites and none of
    /// the harness's (written in reproduction files as it is).
    Declared(&'static str),
}

impl Site {
    /// The harness's own sites.
    pub const BUILT_IN: [Site; 9] = [
        Site::Swarm,
        Site::Workload,
        Site::Nemesis,
        Site::NetDrop,
        Site::NetDuplicate,
        Site::NetDelay,
        Site::StoreLatency,
        Site::Pct,
        Site::Buggify,
    ];

    /// The bound on distinct declared sites a process reads from reproduction files.
    pub const DECLARED_LIMIT: usize = 256;

    /// The site as reproduction files write it (`net_delay`, or a declared name).
    pub fn name(self) -> &'static str {
        match self {
            Site::Swarm => "swarm",
            Site::Workload => "workload",
            Site::Nemesis => "nemesis",
            Site::NetDrop => "net_drop",
            Site::NetDuplicate => "net_duplicate",
            Site::NetDelay => "net_delay",
            Site::StoreLatency => "store_latency",
            Site::Pct => "pct",
            Site::Buggify => "buggify",
            Site::Declared(name) => name,
        }
    }

    /// What the site mixes into a decision's key. PCT and buggify were drawn under the
    /// swarm site before they got sites of their own; they keep its code, so every
    /// seed's run (and every documented seed) is what it was. Their keys differ anyway.
    fn code(self) -> u64 {
        match self {
            Site::Swarm | Site::Pct | Site::Buggify => 1,
            Site::Workload => 2,
            Site::Nemesis => 3,
            Site::NetDrop => 4,
            Site::NetDuplicate => 5,
            Site::NetDelay => 6,
            Site::StoreLatency => 7,
            Site::Declared(name) => mix(0x5173, key(&name)),
        }
    }

    /// The site a reproduction file names: a built-in one, else a declared one (a name
    /// the run never draws at simply matches none of its decisions, as an unknown key).
    pub fn parse(name: &str) -> Result<Site, String> {
        if let Some(site) = Site::BUILT_IN.into_iter().find(|s| s.name() == name) {
            return Ok(site);
        }
        let well_formed = !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || " -_.:".contains(c));
        if !well_formed {
            return Err(format!(
                "decision site {}: a site is one of {} or a name a system declares (letters, digits, space, - _ . :, at most 64)",
                super::echo(name),
                Site::BUILT_IN.map(Site::name).join(", ")
            ));
        }
        intern(name).map(Site::Declared)
    }
}

/// Declared site names read from files, each kept once for the life of the process.
fn intern(name: &str) -> Result<&'static str, String> {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES.lock().unwrap();
    if let Some(known) = names.get(name) {
        return Ok(known);
    }
    if names.len() >= Site::DECLARED_LIMIT {
        return Err(format!("decision site {}: more than {} declared sites read in one process", super::echo(name), Site::DECLARED_LIMIT));
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    Ok(leaked)
}

impl serde::Serialize for Site {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Site {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Site, D::Error> {
        let name = String::deserialize(d)?;
        Site::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// One recorded decision: where, its key (site, cause and caller's key mixed), which
/// occurrence of that key, the bound and the value drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Choice {
    pub site: Site,
    pub key: u64,
    pub occurrence: u32,
    pub bound: u64,
    pub value: u64,
}

/// Recorded decisions by key, for replay: each draw is answered from its key's entry,
/// clamped to the bound asked; a key not in the record draws 0, the simplest value (no
/// drop, no duplicate, the shortest delay, the first option).
pub type Record = BTreeMap<(Site, u64, u32), u64>;

/// The format of keyed decisions in reproduction files (format 1 was positional).
pub const RECORD_FORMAT: u32 = 2;

/// The occurrence counters' map: keys are already hashes, used as they are.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

struct Inner {
    seed: u64,
    occurrences: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    /// Draws made so far (a coverage branch cuts by this count).
    drawn: u64,
    record: Option<Vec<Choice>>,
    replay: Option<Record>,
    /// Sites whose decisions a replay does not record are the seed's, not 0.
    seeded: Vec<Site>,
    /// A branched run: its draws before each cut keyed by that ancestor's seed.
    branch: Vec<(u64, u64)>,
    /// A whole recording replayed draw for draw: each draw must be the next one recorded.
    exact: Option<(VecDeque<Choice>, usize)>,
}

/// The most keys whose emptied map a thread keeps for its next run (see [`super::spare`]).
const SPARE_KEYS: usize = 1 << 20;

impl Drop for Inner {
    fn drop(&mut self) {
        let mut occurrences = std::mem::take(&mut self.occurrences);
        if occurrences.capacity() <= SPARE_KEYS {
            occurrences.clear();
            super::spare::keep(occurrences);
        }
    }
}

/// Cheap to clone; all clones share one run's decisions.
#[derive(Clone)]
pub struct Choices {
    inner: Arc<Mutex<Inner>>,
}

impl Choices {
    /// The decisions of the run with this seed.
    pub fn new(seed: u64) -> Self {
        let inner = Inner {
            seed,
            occurrences: super::spare::take(),
            drawn: 0,
            record: None,
            replay: None,
            seeded: Vec::new(),
            branch: Vec::new(),
            exact: None,
        };
        Choices { inner: Arc::new(Mutex::new(inner)) }
    }

    /// Keeps every later decision in a record (see [`Choices::take_record`]).
    pub fn start_recording(&self) {
        self.inner.lock().record = Some(Vec::new());
    }

    pub fn take_record(&self) -> Vec<Choice> {
        self.inner.lock().record.take().unwrap_or_default()
    }

    /// How many decisions were drawn so far.
    pub fn drawn(&self) -> u64 {
        self.inner.lock().drawn
    }

    /// From now on, answer draws from `record` (by key) instead of the seed.
    pub fn replay(&self, record: &Record) {
        self.inner.lock().replay = Some(record.clone());
    }

    /// While replaying, decisions at these sites that the record lacks are drawn from the
    /// seed instead of taking 0 (schedule mode keeps the workload's own choices).
    pub fn seed_sites(&self, sites: &[Site]) {
        self.inner.lock().seeded = sites.to_vec();
    }

    /// A coverage run branching from a corpus run: its draws before the last cut are its
    /// ancestors' (each `(seed, cut)`: that seed's values for draws before `cut`, unless a
    /// later step covers them), the rest its own.
    pub fn branch(&self, steps: &[(u64, u64)]) {
        self.inner.lock().branch = steps.to_vec();
    }

    /// From now on, answer draws from a whole recording, draw for draw. A draw with
    /// another site, key or bound than the recording's next one, or past its end, breaks
    /// the harness's assumption that the run is the recorded one: it panics, naming it.
    pub fn replay_exactly(&self, recording: &[Choice]) {
        self.inner.lock().exact = Some((recording.iter().copied().collect(), 0));
    }

    /// A value in `0..bound` (0 when `bound` is 0 or 1, without drawing), keyed by
    /// `site`, the current cause and `key` (see the module doc).
    pub fn draw(&self, site: Site, key: u64, bound: u64) -> u64 {
        if bound <= 1 {
            return 0;
        }
        self.inner.lock().draw(site, key, bound)
    }

    /// True with probability `p`; draws nothing when `p` is 0 or 1. A drawn 0 is
    /// false, so the simplest recorded value means "it did not happen".
    pub fn chance(&self, site: Site, key: u64, p: f64) -> bool {
        chance(p, |bound| self.draw(site, key, bound))
    }

    /// A uniform value in `lo..=hi`.
    pub fn between(&self, site: Site, key: u64, lo: u64, hi: u64) -> u64 {
        between(lo, hi, |bound| self.draw(site, key, bound))
    }

    /// A uniform duration in `lo..=hi`, at microsecond resolution.
    pub fn duration(&self, site: Site, key: u64, lo: std::time::Duration, hi: std::time::Duration) -> std::time::Duration {
        duration(lo, hi, |bound| self.draw(site, key, bound))
    }

    /// Several draws under one hold of the lock (a message's drop, duplicate and
    /// delays): the same values, in the same order, as drawn one by one.
    pub fn drawing(&self) -> Drawing<'_> {
        Drawing(self.inner.lock())
    }

    /// An index into a slice of `len` items.
    pub fn pick(&self, site: Site, key: u64, len: usize) -> usize {
        self.draw(site, key, len as u64) as usize
    }
}

impl Inner {
    /// [`Choices::draw`] with the lock held (`bound` is at least 2).
    fn draw(&mut self, site: Site, key: u64, bound: u64) -> u64 {
        let key = mix(mix(site.code(), super::cause::current()), key);
        let occurrence = {
            let n = self.occurrences.entry(key).or_insert(0);
            *n += 1;
            *n - 1
        };
        let n = self.drawn;
        self.drawn += 1;
        let seed = self.branch.iter().rev().take_while(|(_, cut)| n < *cut).last().map_or(self.seed, |(seed, _)| *seed);
        let seeded = || below(splitmix64(seed ^ mix(key, occurrence as u64)), bound);
        let value = match self.replay.as_ref() {
            Some(record) => match record.get(&(site, key, occurrence)) {
                Some(v) => (*v).min(bound - 1),
                None if self.seeded.contains(&site) => seeded(),
                None => 0,
            },
            None => seeded(),
        };
        let drawn = Choice { site, key, occurrence, bound, value };
        if let Some((queue, count)) = self.exact.as_mut() {
            *count += 1;
            let recorded = queue.pop_front();
            assert!(
                recorded == Some(drawn),
                "harness assumption broken: replayed draw #{count} is {site:?} {value} in 0..{bound} (key {key:016x}.{occurrence}), the recording has {recorded:?}"
            );
        }
        if let Some(record) = self.record.as_mut() {
            record.push(drawn);
        }
        value
    }
}

/// Draws made under one hold of the decision source's lock ([`Choices::drawing`]). Only
/// draws: nothing that takes the lock again may run while it is held.
pub struct Drawing<'a>(super::sync::MutexGuard<'a, Inner>);

impl Drawing<'_> {
    /// As [`Choices::draw`].
    pub fn draw(&mut self, site: Site, key: u64, bound: u64) -> u64 {
        if bound <= 1 {
            return 0;
        }
        self.0.draw(site, key, bound)
    }

    /// As [`Choices::chance`].
    pub fn chance(&mut self, site: Site, key: u64, p: f64) -> bool {
        chance(p, |bound| self.draw(site, key, bound))
    }

    /// As [`Choices::duration`].
    pub fn duration(&mut self, site: Site, key: u64, lo: std::time::Duration, hi: std::time::Duration) -> std::time::Duration {
        duration(lo, hi, |bound| self.draw(site, key, bound))
    }
}

/// `x % bound`, with a mask when `bound` is a power of two (a chance's bound is): the
/// same value without a 64-bit division (about a tenth of a draw's time in a profile).
fn below(x: u64, bound: u64) -> u64 {
    if bound.is_power_of_two() {
        x & (bound - 1)
    } else {
        x % bound
    }
}

/// True with probability `p`, from `draw(bound)` (not called when `p` is 0 or 1).
fn chance(p: f64, draw: impl FnOnce(u64) -> u64) -> bool {
    if p <= 0.0 {
        return false;
    }
    if p >= 1.0 {
        return true;
    }
    const SCALE: u64 = 1 << 24;
    (draw(SCALE) as f64) >= (1.0 - p) * SCALE as f64
}

/// A uniform value in `lo..=hi`, from `draw(bound)` (not called when `hi <= lo`).
fn between(lo: u64, hi: u64, draw: impl FnOnce(u64) -> u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    lo + draw(hi - lo + 1)
}

/// A uniform duration in `lo..=hi` at microsecond resolution, from `draw(bound)`.
fn duration(lo: std::time::Duration, hi: std::time::Duration, draw: impl FnOnce(u64) -> u64) -> std::time::Duration {
    std::time::Duration::from_micros(between(lo.as_micros() as u64, hi.as_micros() as u64, draw))
}

/// A recorded list of choices by key.
pub fn to_record(choices: &[Choice]) -> Record {
    choices.iter().map(|c| ((c.site, c.key, c.occurrence), c.value)).collect()
}

/// One recorded decision as a reproduction file writes it: `KEY.OCCURRENCE=VALUE`
/// (the key in hex).
pub fn write_entry(key: u64, occurrence: u32, value: u64) -> String {
    format!("{key:016x}.{occurrence}={value}")
}

/// Reads what [`write_entry`] writes.
pub fn read_entry(text: &str) -> Result<(u64, u32, u64), String> {
    let bad = || format!("{}: write KEY.OCCURRENCE=VALUE (KEY 16 hex digits), as shrink writes it", super::echo(text));
    let (key, rest) = text.split_once('.').ok_or_else(bad)?;
    let (occurrence, value) = rest.split_once('=').ok_or_else(bad)?;
    if key.len() != 16 {
        return Err(bad());
    }
    Ok((u64::from_str_radix(key, 16).map_err(|_| bad())?, occurrence.parse().map_err(|_| bad())?, value.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(c: &Choices) -> Vec<u64> {
        (0..20).map(|i| c.draw(if i % 2 == 0 { Site::NetDelay } else { Site::Workload }, i % 3, 1000)).collect()
    }

    #[test]
    fn a_run_after_another_on_the_thread_draws_as_the_first_did() {
        // The second run takes the first one's emptied map (harness::spare): its
        // occurrences start again from 0.
        type Keys = HashMap<u64, u32, BuildHasherDefault<Prehashed>>;
        let first = draws(&Choices::new(7));
        let second = Choices::new(7);
        assert_eq!(super::super::spare::take::<Keys>().capacity(), 0, "the second run took the first one's map");
        assert_eq!(draws(&second), first);
        drop(second);
        let keys = super::super::spare::take::<Keys>();
        assert!(keys.is_empty() && keys.capacity() > 0, "the last run's map was kept, emptied");
    }

    #[test]
    fn a_value_below_a_bound_is_the_remainder_whatever_the_bound() {
        for x in [0, 1, 0x00ff_ffff, 0x0100_0000, 0xdead_beef_cafe_f00d, u64::MAX] {
            for bound in [2, 3, 1000, 1 << 24, (1 << 24) + 1, 1 << 63, u64::MAX] {
                assert_eq!(below(x, bound), x % bound, "{x} % {bound}");
            }
        }
    }

    #[test]
    fn draws_under_one_hold_are_the_draws_made_one_by_one() {
        use std::time::Duration;
        let (lo, hi) = (Duration::from_millis(1), Duration::from_millis(10));
        let (one_by_one, held) = (Choices::new(11), Choices::new(11));
        one_by_one.start_recording();
        held.start_recording();
        let mut expected = Vec::new();
        let mut got = Vec::new();
        for message in 0..50u64 {
            expected.push((
                one_by_one.chance(Site::NetDrop, message, 0.3),
                one_by_one.chance(Site::NetDuplicate, message, 0.0),
                one_by_one.duration(Site::NetDelay, message, lo, hi),
                one_by_one.draw(Site::NetDelay, message % 3, 1000),
            ));
            let mut draws = held.drawing();
            got.push((
                draws.chance(Site::NetDrop, message, 0.3),
                draws.chance(Site::NetDuplicate, message, 0.0),
                draws.duration(Site::NetDelay, message, lo, hi),
                draws.draw(Site::NetDelay, message % 3, 1000),
            ));
        }
        assert_eq!(got, expected);
        let record = held.take_record();
        assert_eq!(record, one_by_one.take_record(), "the same draws, keys, occurrences and bounds, in the same order");
        assert_eq!(record.len(), 150, "a chance of 0 draws nothing");
    }

    #[test]
    fn a_decision_is_its_key_s_whatever_is_drawn_before_it() {
        let (a, b) = (Choices::new(9), Choices::new(9));
        let x = a.draw(Site::NetDelay, key(&"m1"), 1000);
        b.draw(Site::StoreLatency, key(&"an extra call"), 1000);
        b.draw(Site::NetDelay, key(&"another message"), 1000);
        assert_eq!(b.draw(Site::NetDelay, key(&"m1"), 1000), x, "other draws in between change nothing");
        assert_ne!(
            (0..8).map(|_| a.draw(Site::NetDelay, key(&"m1"), 1000)).collect::<Vec<_>>(),
            vec![x; 8],
            "each occurrence of a key is a decision of its own"
        );
        let other_seed = Choices::new(10);
        assert_ne!((0..8).map(|i| other_seed.draw(Site::NetDelay, i, 1 << 40)).collect::<Vec<_>>(), draws(&Choices::new(9))[..8]);
    }

    /// Each site counts its own draws of a key, whatever the others drew (swarm, PCT and
    /// buggify share one code, so one count, as they always have: their keys differ).
    #[test]
    fn each_site_counts_its_own_occurrences_of_a_key() {
        let c = Choices::new(3);
        c.start_recording();
        let order = [Site::NetDrop, Site::NetDelay, Site::NetDrop, Site::StoreLatency, Site::NetDuplicate, Site::NetDelay, Site::NetDrop];
        for site in order {
            c.draw(site, 42, 1000);
        }
        c.draw(Site::NetDelay, mix(42, 1), 1000);
        let occurrences: Vec<(Site, u32)> = c.take_record().iter().map(|d| (d.site, d.occurrence)).collect();
        use Site::*;
        let expected =
            [(NetDrop, 0), (NetDelay, 0), (NetDrop, 1), (StoreLatency, 0), (NetDuplicate, 0), (NetDelay, 1), (NetDrop, 2), (NetDelay, 0)];
        assert_eq!(occurrences, expected);
    }

    #[test]
    fn a_record_replays_the_same_values_and_zeroes_what_it_lacks() {
        let live = Choices::new(9);
        live.start_recording();
        let drawn = draws(&live);
        let record = to_record(&live.take_record());
        let replay = Choices::new(12345);
        replay.replay(&record);
        assert_eq!(draws(&replay), drawn);
        assert_eq!(replay.draw(Site::NetDelay, key(&"unrecorded"), 1000), 0, "a key not recorded: the simplest value");
        assert!(!replay.chance(Site::NetDrop, 1, 0.3), "a zero is 'did not happen'");
    }

    #[test]
    fn a_seeded_site_draws_the_seed_s_values_where_the_record_is_silent() {
        let live = Choices::new(9);
        let drawn = draws(&live);
        let replay = Choices::new(9);
        replay.replay(&Record::new());
        replay.seed_sites(&[Site::Workload]);
        let replayed = draws(&replay);
        for (i, (a, b)) in drawn.iter().zip(&replayed).enumerate() {
            // draws() alternates net_delay (even) and workload (odd).
            assert_eq!(*b, if i % 2 == 1 { *a } else { 0 }, "draw {i}");
        }
    }

    #[test]
    fn a_branch_takes_its_ancestors_values_before_their_cuts() {
        let (parent, child) = (Choices::new(12), Choices::new(97));
        child.branch(&[(12, 5)]);
        let (p, c) = (draws(&parent), draws(&child));
        assert_eq!(p[..5], c[..5]);
        assert_eq!(c[5..], draws(&Choices::new(97))[5..], "after the cut: its own seed's");
    }

    #[test]
    fn sites_are_read_back_by_name_and_a_declared_one_is_its_own() {
        for site in Site::BUILT_IN.into_iter().chain([Site::Declared("processing time")]) {
            assert_eq!(Site::parse(site.name()), Ok(site));
        }
        let c = Choices::new(3);
        let (mine, handler) = (c.draw(Site::Declared("mine"), 7, 1 << 40), c.draw(Site::Declared("other"), 7, 1 << 40));
        assert_ne!(mine, handler, "two declared sites draw apart for the same key");
        assert!(Site::parse("").is_err() && Site::parse(&"x".repeat(65)).is_err() && Site::parse("a\nb").is_err());
        assert!(Site::parse("nope{").unwrap_err().contains("net_delay"), "the error lists the built-in sites");
    }

    #[test]
    fn split_off_sites_keep_the_swarm_code_so_runs_do_not_change() {
        let (a, b) = (Choices::new(5), Choices::new(5));
        assert_eq!(a.draw(Site::Pct, key(&"pct priority"), 1 << 40), b.draw(Site::Swarm, key(&"pct priority"), 1 << 40));
    }

    #[test]
    fn entries_are_written_and_read_back() {
        let text = write_entry(0xab, 3, 999);
        assert_eq!(text, "00000000000000ab.3=999");
        assert_eq!(read_entry(&text).unwrap(), (0xab, 3, 999));
        for bad in ["", "ab.3=9", "00000000000000ab.x=9", "00000000000000ab.3", "zz000000000000ab.3=9"] {
            assert!(read_entry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_exact_replay_of_the_same_draws_passes() {
        let live = Choices::new(4);
        live.start_recording();
        draws(&live);
        let checked = Choices::new(4);
        checked.replay_exactly(&live.take_record());
        draws(&checked);
    }

    #[test]
    #[should_panic(expected = "harness assumption broken: replayed draw #2 is NetDrop")]
    fn an_exact_replay_that_asks_another_draw_stops_at_that_draw() {
        let live = Choices::new(4);
        live.start_recording();
        live.draw(Site::NetDelay, 1, 1000);
        live.draw(Site::Workload, 2, 7);
        let checked = Choices::new(4);
        checked.replay_exactly(&live.take_record());
        checked.draw(Site::NetDelay, 1, 1000);
        checked.draw(Site::NetDrop, 2, 7);
    }
}
