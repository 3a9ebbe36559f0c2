//! `ticketsim bench`: seeds/s, delivered messages/s, simulated seconds per wall second
//! and peak memory for the reference scenarios, beside a bare madsim ping-pong (two
//! nodes, nothing of ours) run in the same process, so our message rate can be read as
//! a ratio that survives a busy machine.

use crate::harness::run::RunOptions;
use crate::run_seed;
use crate::ticketing::Scenario;
use std::time::Instant;

/// The scenarios measured, in this order: shipped ones, built into the binary, so
/// `bench` works from any directory.
pub const REFERENCE_SCENARIOS: &[&str] =
    &["full-system", "walkthrough", "order-race", "out-of-order-updates", "tickets-orders", "accounts", "expiration-payments"];

/// Messages per wall second of a bare madsim `Endpoint` ping-pong between two nodes.
pub fn ping_pong_rate(round_trips: u64) -> f64 {
    let runtime = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
    let started = Instant::now();
    runtime.block_on(async move {
        let handle = madsim::runtime::Handle::current();
        let server = handle.create_node().name("pong").ip("10.0.0.1".parse().unwrap()).build();
        let client = handle.create_node().name("ping").ip("10.0.0.2".parse().unwrap()).build();
        server.spawn(async move {
            let ep = madsim::net::Endpoint::bind("10.0.0.1:1").await.unwrap();
            let mut buf = [0u8; 8];
            loop {
                let (_, from) = ep.recv_from(1, &mut buf).await.unwrap();
                ep.send_to(from, 2, &buf).await.unwrap();
            }
        });
        client
            .spawn(async move {
                let ep = madsim::net::Endpoint::bind("10.0.0.2:1").await.unwrap();
                let mut buf = [0u8; 8];
                for i in 0..round_trips {
                    ep.send_to("10.0.0.1:1", 1, &i.to_le_bytes()).await.unwrap();
                    ep.recv_from(2, &mut buf).await.unwrap();
                }
            })
            .await
            .unwrap();
        handle.kill(server.id());
        handle.kill(client.id());
    });
    (2 * round_trips) as f64 / started.elapsed().as_secs_f64()
}

/// Peak resident memory of this process, in MiB (Linux `VmHWM`).
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub struct ScenarioFigures {
    pub name: String,
    pub seeds_per_second: f64,
    pub messages_per_second: f64,
    pub simulated_per_wall: f64,
    pub messages_per_seed: f64,
}

/// Runs `seeds` seeds of a scenario on this thread and measures them.
pub fn measure(scenario: &Scenario, seeds: u64) -> ScenarioFigures {
    let started = Instant::now();
    let (mut delivered, mut simulated) = (0u64, 0f64);
    for seed in 0..seeds {
        let outcome = run_seed(scenario, seed, &RunOptions::default());
        delivered += outcome.fabric.delivered;
        simulated += outcome.end.as_secs_f64();
    }
    let wall = started.elapsed().as_secs_f64();
    ScenarioFigures {
        name: scenario.name.clone(),
        seeds_per_second: seeds as f64 / wall,
        messages_per_second: delivered as f64 / wall,
        simulated_per_wall: simulated / wall,
        messages_per_seed: delivered as f64 / seeds as f64,
    }
}

pub fn run(seeds: u64) -> Result<(), String> {
    let baseline = ping_pong_rate(200_000);
    outln!("bare madsim ping-pong: {baseline:.0} messages/s (one thread)");
    outln!("{:<24} {:>10} {:>14} {:>12} {:>14} {:>10}", "scenario", "seeds/s", "messages/s", "msgs/seed", "sim s/wall s", "ratio");
    for name in REFERENCE_SCENARIOS {
        let scenario = Scenario::shipped(name).map_err(|e| e.to_string())?;
        let f = measure(&scenario, seeds);
        outln!(
            "{:<24} {:>10.0} {:>14.0} {:>12.0} {:>14.0} {:>10.2}",
            f.name,
            f.seeds_per_second,
            f.messages_per_second,
            f.messages_per_seed,
            f.simulated_per_wall,
            f.messages_per_second / baseline
        );
    }
    if let Some(mib) = peak_memory_mib() {
        outln!("peak memory: {mib:.1} MiB");
    }
    outln!("(ratio = our delivered messages/s over the bare ping-pong's, measured in this run; above 1, a message costs less here than on madsim's own network)");
    Ok(())
}
