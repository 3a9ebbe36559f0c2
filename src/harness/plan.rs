//! A run's drawn plan, TigerBeetle's habit: everything the harness decides before the
//! run starts (the swarm's strengths and sites, PCT's priorities, the fault schedule,
//! swarm's crashes at fault sites) is one plain struct, drawn in one place and then
//! executed. `run` and `replay` print it, and run's JSON keeps it.

pub use super::buggify::SiteCalls;
use super::nemesis::{Fault, FaultKind, NemesisConfig, PartitionShape, SwarmDraw};
use super::priority::Priorities;
use super::strategy::Sites;
use super::NodeId;
use std::time::Duration;

/// Faults moved to fault sites (swarm's crashes, right after a store write; stretch's
/// pauses, right after a store call that only read; hold's, right before a call of the
/// run's kinds): with this probability per site, at most `count` of them.
#[derive(Clone, Debug, PartialEq)]
pub struct AtSites {
    pub probability: f64,
    pub count: u32,
    pub calls: SiteCalls,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The network's strength after the swarm draw (1.0 each without swarm).
    pub swarm: SwarmDraw,
    /// The fault bounds after the swarm draw.
    pub nemesis: NemesisConfig,
    /// Swarm's per-node sites, when the strategy is swarm.
    pub sites: Option<Sites>,
    /// PCT's priorities, when the strategy is pct.
    pub priorities: Option<Priorities>,
    pub site_crashes: Option<AtSites>,
    pub site_pauses: Option<AtSites>,
    /// The scheduled faults, in the order drawn (printed in the order they strike).
    pub faults: Vec<Fault>,
    /// The instances the nemesis may crash or pause (all of them without swarm sites).
    pub may_crash: Vec<super::NodeId>,
    /// How many times faster than the scenario's the users act (rush; 1 otherwise).
    pub pace: u32,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl Plan {
    /// What the fault does, with node names.
    fn fault_text(fault: &Fault, names: &[String]) -> (String, Vec<String>) {
        let name = |i: NodeId| names.get(i.slot()).cloned().unwrap_or_else(|| format!("node {}", i.slot()));
        match fault.kind {
            FaultKind::Crash(n) => ("crash".into(), vec![name(n)]),
            FaultKind::Restart(n) => ("restart".into(), vec![name(n)]),
            FaultKind::Pause(n) => ("pause".into(), vec![name(n)]),
            FaultKind::Partition(PartitionShape::TwoWay(a, b)) => ("partition two-way".into(), vec![name(a), name(b)]),
            FaultKind::Partition(PartitionShape::OneWay(a, b)) => ("partition one-way".into(), vec![name(a), name(b)]),
            FaultKind::Partition(PartitionShape::Isolate(a)) => ("isolate".into(), vec![name(a)]),
        }
    }

    /// The faults in the order they strike.
    fn by_time(&self) -> Vec<&Fault> {
        let mut faults: Vec<&Fault> = self.faults.iter().collect();
        faults.sort_by_key(|f| f.at);
        faults
    }

    fn on(flags: &[bool], names: &[String]) -> Vec<String> {
        flags.iter().zip(names).filter(|(on, _)| **on).map(|(_, n)| n.clone()).collect()
    }

    /// The plan as JSON, nodes by name.
    pub fn json(&self, names: &[String]) -> serde_json::Value {
        let faults: Vec<serde_json::Value> = self
            .by_time()
            .into_iter()
            .map(|f| {
                let (kind, nodes) = Self::fault_text(f, names);
                serde_json::json!({ "at": secs(f.at), "lasts": secs(f.lasts), "kind": kind, "nodes": nodes })
            })
            .collect();
        serde_json::json!({
            "swarm": { "drop": self.swarm.drop, "duplicate": self.swarm.duplicate, "delay": self.swarm.delay },
            "sites": self.sites.as_ref().map(|s| serde_json::json!({ "flaky": Self::on(&s.flaky, names), "faulty": Self::on(&s.faulty, names) })),
            "pct": self.priorities.as_ref().map(|p| serde_json::json!({
                "bands": names.iter().zip(&p.band).map(|(n, b)| (n.clone(), *b)).collect::<std::collections::BTreeMap<_, _>>(),
                "change_points": p.changes.iter().map(|d| secs(*d)).collect::<Vec<_>>(),
            })),
            "crashes_at_sites": self.site_crashes.as_ref().map(|c| serde_json::json!({ "probability": c.probability, "crashes": c.count })),
            "pauses_at_sites": self.site_pauses.as_ref().map(|c| serde_json::json!({
                "probability": c.probability,
                "pauses": c.count,
                "near_miss": c.calls == SiteCalls::NearMiss,
                "kinds": match c.calls { SiteCalls::Kinds { one_in, .. } => Some(one_in), _ => None },
            })),
            "faults": faults,
            "pace": self.pace,
        })
    }

    /// The plan's lines, as a reproduction file keeps them.
    pub fn lines(&self, names: &[String]) -> Vec<String> {
        self.text(names).lines().map(|l| l.trim().to_string()).collect()
    }

    /// The plan in a few lines of text, nodes by name.
    pub fn text(&self, names: &[String]) -> String {
        let mut out = String::new();
        if self.swarm.drop != 1.0 || self.swarm.duplicate != 1.0 || self.swarm.delay != 1.0 {
            out.push_str(&format!(
                "  swarm: drops x{:.2}, duplicates x{:.2}, delay spread x{:.2}\n",
                self.swarm.drop, self.swarm.duplicate, self.swarm.delay
            ));
        }
        if let Some(s) = &self.sites {
            out.push_str(&format!(
                "  swarm sites: flaky {:?}, may crash or pause {:?}\n",
                Self::on(&s.flaky, names),
                Self::on(&s.faulty, names)
            ));
        }
        if let Some(p) = &self.priorities {
            let mut ranked: Vec<(u32, &String)> = p.band.iter().copied().zip(names).collect();
            ranked.sort();
            let order: Vec<&str> = ranked.iter().map(|(_, n)| n.as_str()).collect();
            let changes: Vec<String> = p.changes.iter().map(|d| super::fmt_time(*d)).collect();
            out.push_str(&format!("  pct: delivered first {}; change points at {}\n", order.join(" > "), changes.join(", ")));
        }
        if let Some(c) = &self.site_crashes {
            out.push_str(&format!("  up to {} crashes right after a store write (1 in {:.0} writes)\n", c.count, 1.0 / c.probability));
        }
        if let Some(c) = &self.site_pauses {
            let (count, one_in) = (c.count, 1.0 / c.probability);
            out.push_str(&match c.calls {
                SiteCalls::Kinds { one_in: kinds, .. } => {
                    format!("  up to {count} pauses right before a store call of 1 in {kinds} kinds (1 in {one_in:.0} of their calls)\n")
                }
                SiteCalls::NearMiss => format!("  up to {count} pauses right after a store read (1 in {one_in:.0} near-miss reads)\n"),
                SiteCalls::Every => format!("  up to {count} pauses right after a store read (1 in {one_in:.0} reads)\n"),
            });
        }
        if self.pace != 1 {
            out.push_str(&format!("  users at {}x the scenario's pace\n", self.pace));
        }
        if self.faults.is_empty() {
            out.push_str("  no scheduled fault\n");
        }
        for f in self.by_time() {
            let (kind, nodes) = Self::fault_text(f, names);
            out.push_str(&format!("  {} {kind} {} for {}\n", super::fmt_time(f.at), nodes.join(" "), super::fmt_time(f.lasts)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::nemesis::{FaultKind, PartitionShape};

    #[test]
    fn a_plan_prints_its_faults_by_time_with_node_names() {
        let s = Duration::from_secs;
        let plan = Plan {
            swarm: SwarmDraw { drop: 1.0, duplicate: 1.0, delay: 1.0 },
            nemesis: NemesisConfig::default(),
            sites: None,
            priorities: None,
            site_crashes: Some(AtSites { probability: 1.0 / 64.0, count: 2, calls: SiteCalls::Every }),
            site_pauses: Some(AtSites { probability: 1.0 / 4.0, count: 1, calls: SiteCalls::NearMiss }),
            faults: vec![
                Fault {
                    at: s(9),
                    lasts: s(2),
                    kind: FaultKind::Partition(PartitionShape::OneWay(NodeId::from_slot(1), NodeId::from_slot(0))),
                },
                Fault { at: s(3), lasts: s(1), kind: FaultKind::Crash(NodeId::from_slot(0)) },
            ],
            may_crash: vec![NodeId::from_slot(0)],
            pace: 1,
        };
        let names = vec!["orders-1".to_string(), "broker".to_string()];
        assert_eq!(
            plan.text(&names),
            "  up to 2 crashes right after a store write (1 in 64 writes)\n  up to 1 pauses right after a store read (1 in 4 near-miss reads)\n  3.000s crash orders-1 for 1.000s\n  9.000s partition one-way broker orders-1 for 2.000s\n"
        );
        let json = plan.json(&names);
        assert_eq!(json["faults"][0]["kind"], "crash");
        assert_eq!(json["faults"][1]["nodes"], serde_json::json!(["broker", "orders-1"]));
        assert_eq!(json["crashes_at_sites"]["crashes"], 2);
    }

    #[test]
    fn a_run_chooses_about_one_in_n_call_kinds_and_always_the_same() {
        let kinds: Vec<String> = (0..4000).map(|i| format!("call{i}")).collect();
        for one_in in [2u64, 4, 8] {
            let calls = SiteCalls::Kinds { one_in, salt: 77 };
            let chosen = kinds.iter().filter(|k| calls.chosen("tickets", k)).count() as f64;
            let expected = 4000.0 / one_in as f64;
            assert!((chosen - expected).abs() < expected * 0.15, "1 in {one_in}: {chosen} of 4000");
            assert_eq!(calls.chosen("tickets", "lock"), calls.chosen("tickets", "lock"));
        }
        let other_salt = |salt| kinds.iter().filter(|k| SiteCalls::Kinds { one_in: 2, salt }.chosen("t", k)).count();
        let overlap = kinds
            .iter()
            .filter(|k| SiteCalls::Kinds { one_in: 2, salt: 1 }.chosen("t", k) && SiteCalls::Kinds { one_in: 2, salt: 2 }.chosen("t", k))
            .count();
        assert!(overlap < other_salt(1) * 2 / 3, "another run chooses other kinds: {overlap} in common");
        assert!(!SiteCalls::Every.chosen("tickets", "lock") && !SiteCalls::NearMiss.chosen("tickets", "lock"));
    }

    #[test]
    fn a_plan_says_which_calls_its_pauses_go_before() {
        let plan = Plan {
            swarm: SwarmDraw { drop: 1.0, duplicate: 1.0, delay: 1.0 },
            nemesis: NemesisConfig::default(),
            sites: None,
            priorities: None,
            site_crashes: None,
            site_pauses: Some(AtSites { probability: 1.0 / 8.0, count: 2, calls: SiteCalls::Kinds { one_in: 4, salt: 9 } }),
            faults: vec![],
            may_crash: vec![],
            pace: 16,
        };
        assert_eq!(
            plan.text(&[]),
            "  up to 2 pauses right before a store call of 1 in 4 kinds (1 in 8 of their calls)\n  users at 16x the scenario's pace\n  no scheduled fault\n"
        );
        assert_eq!(plan.json(&[])["pauses_at_sites"]["kinds"], 4);
    }
}
