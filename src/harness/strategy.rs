//! Exploration strategies: how the runs of a sweep choose among the interleavings and
//! faults a scenario allows. Every choice still comes from the decision source, so a
//! seed with its strategy (and, for coverage, its branch) replays exactly.
//!
//! - `uniform`: every decision uniform within the scenario's bounds (the default).
//! - `swarm`: per run, each fault kind and each fault site (a node that may be crashed
//!   or paused, a node whose links drop and duplicate) is switched on or off once, as
//!   FoundationDB's BUGGIFY does, and the kinds that are on get a drawn strength; runs
//!   differ in *which* faults happen, not only when (swarm testing).
//! - `pct:D`: PCT-style priorities on deliveries: each node gets a random priority and
//!   its messages a delay band by it (the highest priority is delivered first), and at
//!   D-1 change points, drawn over the fault phase, the node sending next drops to the
//!   lowest priority. One slow sender at the wrong moment is what many ordering bugs need.
//! - `stretch`: the scenario's pauses move to fault sites right after a store call that
//!   only read a record another handler read within the last second, a near miss (see
//!   [`super::buggify`]): the instance freezes between its handler's read and the write
//!   that depends on it, for one of the scenario's pause durations, so that the other
//!   handler's write lands in the window the write's re-checks guard. The chance per
//!   near miss is drawn per run (1 in 2 to 1 in 16), so pauses fall early or late.
//! - `hold`: the same pauses right before a store call of the run's kinds (a store and
//!   the call's name, 1 in 2, 4 or 8 kinds on per run, as BUGGIFY's sites).
//! - `rush`: hold's pauses, and the users at a faster pace: per run, their think times
//!   are drawn from the scenario's range with its upper bound divided by one of
//!   [`PACES`] (at least the range's lower bound), so that requests crowd together and
//!   the races hold widens happen more often. A system's workload applies the pace
//!   ([`super::world::WorldBuilder::pace`]); a run at pace 1 is hold's run, draw for draw.
//! - `coverage`: a corpus of runs that reached new abstract states (the system's
//!   [`System::coverage`](super::System::coverage)); new runs branch from a corpus run:
//!   the same run (its madsim seed, its first K decisions) up to a cut, then decisions
//!   of their own (keyed by its own seed from the cut on).
//! - `portfolio`: the strategies above that shape single runs, interleaved over the
//!   seeds of a sweep (seed n runs as [`PORTFOLIO`]`[n % 4]`: uniform, swarm, pct:3,
//!   stretch), as Coyote and Shuttle run a portfolio of schedulers: a bug any of them
//!   finds quickly, the portfolio finds in about four times its seeds, whichever it is.

use super::choices::{key, Choices, Site};

/// The default PCT depth (bugs needing up to this many ordering constraints).
pub const DEFAULT_PCT_DEPTH: u32 = 3;
/// The deepest PCT depth accepted.
pub const MAX_PCT_DEPTH: u32 = 16;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strategy {
    #[default]
    Uniform,
    Swarm,
    Pct {
        depth: u32,
    },
    Stretch,
    Hold,
    Rush,
    Coverage,
    Portfolio,
}

/// The strategies a portfolio interleaves, seed after seed.
pub const PORTFOLIO: [Strategy; 4] = [Strategy::Uniform, Strategy::Swarm, Strategy::Pct { depth: DEFAULT_PCT_DEPTH }, Strategy::Stretch];

impl Strategy {
    /// Every strategy, in the order the help, `hunt`'s columns and the errors list them;
    /// pct at its default depth (it also takes `pct:D`).
    pub const ALL: [Strategy; 8] = [
        Strategy::Uniform,
        Strategy::Swarm,
        Strategy::Pct { depth: DEFAULT_PCT_DEPTH },
        Strategy::Stretch,
        Strategy::Hold,
        Strategy::Rush,
        Strategy::Coverage,
        Strategy::Portfolio,
    ];

    /// Its name: what `parse` takes and `Display` prints (pct's without its depth).
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Uniform => "uniform",
            Strategy::Swarm => "swarm",
            Strategy::Pct { .. } => "pct",
            Strategy::Stretch => "stretch",
            Strategy::Hold => "hold",
            Strategy::Rush => "rush",
            Strategy::Coverage => "coverage",
            Strategy::Portfolio => "portfolio",
        }
    }

    /// A strategy's name from [`Strategy::ALL`], or `pct:D` (D from 1 to 16).
    pub fn parse(text: &str) -> Result<Strategy, String> {
        let trimmed = text.trim();
        if let Some(named) = Self::ALL.into_iter().find(|s| s.name() == trimmed) {
            return Ok(named);
        }
        match trimmed.strip_prefix("pct:").map(|d| d.parse::<u32>()) {
            Some(Ok(depth)) if (1..=MAX_PCT_DEPTH).contains(&depth) => Ok(Strategy::Pct { depth }),
            _ => Err(format!("{}: not a strategy; {}", super::echo(text), Self::allowed())),
        }
    }

    /// "allowed: uniform, swarm, pct, pct:D (D from 1 to 16), ...".
    fn allowed() -> String {
        let names: Vec<String> = Self::ALL
            .iter()
            .map(|s| match s {
                Strategy::Pct { .. } => format!("pct, pct:D (D from 1 to {MAX_PCT_DEPTH})"),
                other => other.name().to_string(),
            })
            .collect();
        format!("allowed: {}", names.join(", "))
    }

    /// How the run of `seed` is shaped (coverage runs are uniform, branched; a
    /// portfolio's seed runs as its strategy in [`PORTFOLIO`]).
    pub fn per_run(self, seed: u64) -> Strategy {
        match self {
            Strategy::Coverage => Strategy::Uniform,
            Strategy::Portfolio => PORTFOLIO[(seed % PORTFOLIO.len() as u64) as usize],
            other => other,
        }
    }

    /// Whether the run moves the scenario's pauses to hold's sites (right before a store
    /// call of the run's kinds).
    pub fn holds(self) -> bool {
        matches!(self, Strategy::Hold | Strategy::Rush)
    }
}

/// The paces a rush run's users may go at, one drawn per run: the upper bound of their
/// think times is divided by it. 1 keeps the scenario's; at 256, full-system's users
/// think at most 31 ms (8 s / 256) and make their fourteen requests in well under a
/// second, together.
pub const PACES: [u32; 4] = [1, 16, 64, 256];

/// The pace of a run's users (1: the scenario's): drawn for rush, 1 for every other
/// strategy (which draws nothing for it, so their runs are unchanged).
pub fn pace(per_run: Strategy, choices: &Choices) -> u32 {
    match per_run {
        Strategy::Rush => PACES[choices.pick(Site::Workload, key(&"pace"), PACES.len())],
        _ => 1,
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Strategy::Pct { depth } => write!(f, "pct:{depth}"),
            other => f.write_str(other.name()),
        }
    }
}

impl serde::Serialize for Strategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Strategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Strategy::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A swarm run's fault sites: which nodes' links are faulty, which nodes may be crashed
/// or paused. Drawn once per run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sites {
    /// Per node (fabric order): messages to or from it may be dropped and duplicated.
    pub flaky: Vec<bool>,
    /// Per node: the nemesis may crash or pause it.
    pub faulty: Vec<bool>,
}

/// Draws a swarm run's sites over the nodes `names` (fabric order): each on with
/// probability 1/2, keyed by the node's name, and at least one of each on (a run with
/// every site off is a uniform run without faults).
pub fn draw_sites(names: &[String], choices: &Choices) -> Sites {
    let draw = |what: &str| {
        let mut on: Vec<bool> = names.iter().map(|n| choices.draw(Site::Swarm, key(&(what, n)), 2) == 1).collect();
        if !names.is_empty() && !on.contains(&true) {
            on[choices.pick(Site::Swarm, key(&(what, "at least one")), names.len())] = true;
        }
        on
    };
    Sites { flaky: draw("flaky"), faulty: draw("faulty") }
}

/// A coverage run's branch: the runs it descends from, oldest first, each as its seed
/// and how many of its decisions the next run keeps (the cut). Written `SEED@CUT`
/// joined by `,`, e.g. `12@4000,97@6500`: run 12 (a fresh run) is followed for its
/// first 4000 decisions by run 97, which makes its own after them; run 97 is followed
/// for 6500 by the run itself (the `--seed`). Every run of a branch runs on the madsim
/// seed of the first, so up to the cut it *is* its parent.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Branch(pub Vec<(u64, u32)>);

/// The longest branch: a corpus run is at most this many generations from a fresh run.
pub const MAX_BRANCH: usize = 8;

impl Branch {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn parse(text: &str) -> Result<Branch, String> {
        let bad = || format!("--branch {}: write SEED@CUT[,SEED@CUT...] (CUT: decisions kept), as a report prints it", super::echo(text));
        let steps: Vec<(u64, u32)> = text
            .split(',')
            .map(|step| {
                let (seed, cut) = step.trim().split_once('@').ok_or_else(bad)?;
                Ok((seed.parse().map_err(|_| bad())?, cut.parse().map_err(|_| bad())?))
            })
            .collect::<Result<_, String>>()?;
        if steps.len() > MAX_BRANCH {
            return Err(format!("--branch {}: {} steps; at most {MAX_BRANCH}", super::echo(text), steps.len()));
        }
        Ok(Branch(steps))
    }

    /// The madsim seed every run of the branch runs on: its first run's.
    pub fn root(&self) -> Option<u64> {
        self.0.first().map(|(seed, _)| *seed)
    }

    /// This branch extended by one step.
    pub fn then(&self, seed: u64, cut: u32) -> Branch {
        let mut steps = self.0.clone();
        steps.push((seed, cut));
        Branch(steps)
    }
}

impl std::fmt::Display for Branch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (seed, cut)) in self.0.iter().enumerate() {
            write!(f, "{}{seed}@{cut}", if i == 0 { "" } else { "," })?;
        }
        Ok(())
    }
}

impl serde::Serialize for Branch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Branch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.is_empty() {
            return Ok(Branch::default());
        }
        Branch::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// One abstract state, as a coverage feature: a stable hash of `value` (SipHash with
/// fixed keys, so the same in every run of this build).
pub fn feature(value: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Each state with how often it was reached, in AFL's buckets (1, 2, 3, 4-7, 8-15,
/// 16-31, 32-127, 128+), as features: a run that reaches a state more often than any
/// before counts as new.
pub fn bucketed(mut states: Vec<u64>) -> std::collections::BTreeSet<u64> {
    states.sort_unstable();
    states
        .chunk_by(|a, b| a == b)
        .map(|run| {
            let bucket = match run.len() {
                n @ 1..=3 => n as u32,
                4..=7 => 4,
                8..=15 => 5,
                16..=31 => 6,
                32..=127 => 7,
                _ => 8,
            };
            feature(&(run[0], bucket))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_parse_and_print_back() {
        for text in ["uniform", "swarm", "pct:3", "pct:1", "pct:16", "stretch", "hold", "rush", "coverage", "portfolio"] {
            assert_eq!(Strategy::parse(text).unwrap().to_string(), text);
        }
        for strategy in Strategy::ALL {
            assert_eq!(Strategy::parse(&strategy.to_string()), Ok(strategy), "every strategy parses back from its name");
        }
        assert_eq!(Strategy::parse("pct").unwrap(), Strategy::Pct { depth: DEFAULT_PCT_DEPTH });
        for bad in ["", "pct:0", "pct:17", "pct:x", "random"] {
            let error = Strategy::parse(bad).unwrap_err();
            assert!(
                error.contains("allowed: uniform, swarm, pct, pct:D (D from 1 to 16), stretch, hold, rush, coverage, portfolio"),
                "{error}"
            );
        }
    }

    #[test]
    fn branches_parse_and_print_back() {
        let b = Branch::parse("12@400,97@10000").unwrap();
        assert_eq!(b, Branch(vec![(12, 400), (97, 10000)]));
        assert_eq!(b.to_string(), "12@400,97@10000");
        assert_eq!(b.root(), Some(12));
        for bad in ["12", "12@-1", "x@1", "1@2,", &["1@1"; MAX_BRANCH + 1].join(",")] {
            assert!(Branch::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn states_count_in_buckets() {
        let once = bucketed(vec![7]);
        assert_eq!(bucketed(vec![7]), once);
        assert_ne!(bucketed(vec![7, 7]), once, "twice is another bucket");
        assert_eq!(bucketed(vec![7, 7, 7, 7]), bucketed(vec![7; 7]), "4 to 7 times is one bucket");
        assert_eq!(bucketed(vec![3, 7, 3]).len(), 2);
    }
}
