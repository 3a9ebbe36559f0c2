//! PCT's priorities over the nodes that send messages (Burckhardt et al., ASPLOS 2010):
//! drawn by the strategy, consulted by the fabric for each message's delay. Its own file
//! so that neither of them imports the other for it.

use super::choices::{key, Choices, Site};
use super::NodeId;
use std::time::Duration;

/// PCT priorities over the nodes sending messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priorities {
    /// Per node: its band, 0 delivered first. A permutation of `0..nodes` at first;
    /// a lowered node gets `nodes + k` for the k-th change point.
    pub band: Vec<u32>,
    /// When the change points fall (virtual time), in order.
    pub changes: Vec<Duration>,
    /// Change points passed so far.
    pub passed: usize,
}

impl Priorities {
    /// A random permutation of priorities (each node ranked by a value keyed by its
    /// name) and `depth - 1` change points over `phase`.
    pub fn draw(names: &[String], depth: u32, phase: Duration, choices: &Choices) -> Priorities {
        let mut order: Vec<(u64, usize)> =
            names.iter().enumerate().map(|(i, n)| (choices.draw(Site::Pct, key(&("pct priority", n)), 1 << 48), i)).collect();
        order.sort();
        let mut band = vec![0; names.len()];
        for (rank, (_, i)) in order.into_iter().enumerate() {
            band[i] = rank as u32;
        }
        let mut changes: Vec<Duration> =
            (1..depth).map(|i| choices.duration(Site::Pct, key(&("pct change point", i)), Duration::ZERO, phase)).collect();
        changes.sort();
        Priorities { band, changes, passed: 0 }
    }

    /// The bands there can be: every node's first one plus one per change point.
    fn bands(&self) -> u32 {
        (self.band.len() + self.changes.len()).max(1) as u32
    }

    /// Called as `from` sends at `now`: a change point passed lowers it below everyone.
    pub fn on_send(&mut self, from: NodeId, now: Duration) {
        while self.passed < self.changes.len() && self.changes[self.passed] <= now {
            self.band[from.slot()] = (self.band.len() + self.passed) as u32;
            self.passed += 1;
        }
    }

    /// The delay of a message from `from`: its band's slice of `min..=max`, and a
    /// position within the band drawn from `jitter` (0..1000).
    pub fn delay(&self, from: NodeId, min: Duration, max: Duration, jitter: u64) -> Duration {
        let bands = self.bands() as f64;
        let position = (self.band[from.slot()] as f64 + jitter.min(999) as f64 / 1000.0) / bands;
        min + (max.saturating_sub(min)).mul_f64(position.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pct_orders_deliveries_by_band_and_a_change_point_lowers_the_sender() {
        let mut p = Priorities { band: vec![1, 0, 2], changes: vec![Duration::from_secs(5)], passed: 0 };
        let (min, max) = (Duration::from_millis(0), Duration::from_millis(400));
        // Four bands of 100ms: node 1 first, then node 0, then node 2.
        assert!(p.delay(NodeId::from_slot(1), min, max, 999) < p.delay(NodeId::from_slot(0), min, max, 0));
        assert!(p.delay(NodeId::from_slot(0), min, max, 999) < p.delay(NodeId::from_slot(2), min, max, 0));
        p.on_send(NodeId::from_slot(1), Duration::from_secs(4));
        assert_eq!(p.band, vec![1, 0, 2], "before the change point nothing moves");
        p.on_send(NodeId::from_slot(1), Duration::from_secs(5));
        assert_eq!(p.band, vec![1, 3, 2], "the sender at the change point drops below everyone");
        assert!(p.delay(NodeId::from_slot(1), min, max, 0) > p.delay(NodeId::from_slot(2), min, max, 999));
        assert!(p.delay(NodeId::from_slot(1), min, max, 999) <= max);
    }
}
