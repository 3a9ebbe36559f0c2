//! How a project puts ticketsim in its own `cargo test`: sweep seeds of a scenario; a
//! failure fails the test with the command that replays it. (This file is the example
//! docs/ci.md points to.)

use ticketsim::testing::Sweep;
use ticketsim::ticketing::flaws::{Flaw, Preset};

#[test]
fn hardened_order_race_holds_every_invariant() {
    let summary = Sweep::scenario("scenarios/order-race.toml").preset(Preset::Hardened).seeds(0..200).assert_clean();
    assert_eq!(summary.seeds_run, 200);
}

#[test]
#[should_panic(expected = "replay with: ticketsim replay scenarios/order-race.toml --seed")]
fn as_built_order_race_fails_with_the_replay_command() {
    Sweep::scenario("scenarios/order-race.toml").preset(Preset::AsBuilt).seeds(0..200).assert_clean();
}

#[test]
fn a_single_flaw_is_reported_with_its_invariant() {
    let error = Sweep::scenario("scenarios/out-of-order-updates.toml")
        .preset(Preset::Hardened)
        .flaw(Flaw::NoVersionCheck)
        .seeds(0..50)
        .check()
        .expect_err("no-version-check must be caught");
    assert!(error.contains("versions-in-sequence"), "{error}");
    assert!(error.contains("--preset hardened --flaw no-version-check"), "{error}");
}

mod one_run {
    use serde_json::json;
    use std::time::Duration;
    use ticketsim::testing::{Run, Step, StepExpect, Sweep};
    use ticketsim::ticketing::domain::Subject;
    use ticketsim::ticketing::Scenario;

    /// A scenario built in Rust: alice creates a ticket, bob orders it (tickets, orders
    /// and payments run).
    fn ticket_then_order() -> Scenario {
        let mut scenario = Scenario::named("ticket-then-order");
        scenario.phases.duration.0 = Duration::from_secs(10);
        scenario.services.insert("payments".into(), 1);
        let at = Duration::from_secs;
        scenario.workload.steps = vec![
            Step::at(at(1)).user("alice").request("POST /api/tickets").body(json!({ "title": "concert", "price": 20 })).name("T"),
            Step::at(at(3)).user("bob").request("POST /api/orders").body(json!({ "ticketId": "{T}" })).name("O"),
            Step::at(at(4)).signed_out().request("GET /api/orders/{O}").expect(StepExpect { status: Some(401), ..StepExpect::default() }),
        ];
        scenario.check("ticket-then-order").unwrap();
        scenario
    }

    #[test]
    fn a_run_answers_responses_events_and_records() {
        let run = Run::of(&ticket_then_order(), 3);
        run.assert_clean();
        let ticket = run.id("T").expect("the ticket was named");
        let order = run.id("O").expect("the order was named");
        assert_eq!(run.response("T").map(|r| r.status), Some(201));
        let placed = run.response("O").unwrap();
        assert_eq!((placed.status, placed.body["status"].as_str()), (201, Some("created")));
        assert_eq!(run.response_to(2).map(|r| r.status), Some(401));
        let created = run.published(Subject::OrderCreated);
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].data["ticket"]["price"], json!(20));
        assert!(run.acked_by(&created[0].event_id).contains(&"tickets-service"), "{:?}", run.acked_by(&created[0].event_id));
        // The ticket is reserved in its owner's store, and the order replicated to payments.
        let reserved = run.record("tickets", "ticket", &ticket).unwrap();
        assert_eq!((reserved["orderId"].as_str(), reserved["version"].as_u64()), (Some(&*order), Some(1)));
        let replica = run.record("payments", "order-replica", &order).unwrap();
        assert_eq!(replica["status"], json!("created"));
        // Before the order, the ticket was free.
        let before = run.record_at("tickets", "ticket", &ticket, Duration::from_secs(2)).unwrap();
        assert_eq!(before["orderId"], json!(null));
        assert!(run.record("tickets", "ticket", "no-such-id").is_none());
        assert!(run.history().len() > 10);
    }

    #[test]
    fn a_wrong_expectation_is_a_violation_of_the_run() {
        let mut scenario = ticket_then_order();
        scenario.workload.steps[2].expect = Some(StepExpect { status: Some(200), ..StepExpect::default() });
        let run = Run::of(&scenario, 3);
        let found: Vec<&str> = run.violations().iter().map(|v| v.invariant).collect();
        assert_eq!(found, ["scripted-expectations"]);
        assert!(run.violations()[0].explanation.contains("status: expected 200, got 401"), "{}", run.violations()[0].explanation);
    }

    #[test]
    fn a_scenario_built_in_rust_is_checked_like_a_file() {
        let mut scenario = ticket_then_order();
        scenario.workload.steps.push(Step::at(Duration::from_secs(5)).user("bob").request("GET /api/nothing"));
        let error = scenario.check("built.rs").unwrap_err().to_string();
        assert!(
            error.contains("built.rs") && error.contains("workload.steps[3].request") && error.contains("no service answers"),
            "{error}"
        );
        let mut scenario = ticket_then_order();
        scenario
            .workload
            .steps
            .push(Step::at(Duration::from_secs(5)).user("bob").request("POST /api/tickets").body(json!({ "title": null })));
        let error = scenario.check("built.rs").unwrap_err().to_string();
        assert!(error.contains("workload.steps[3].body") && error.contains("null is not allowed"), "{error}");
    }

    #[test]
    fn a_sweep_takes_a_scenario_value() {
        let summary = Sweep::of(ticket_then_order(), "ticket-then-order.toml").seeds(0..5).jobs(1).assert_clean();
        assert_eq!(summary.seeds_run, 5);
    }
}

#[test]
fn a_sweep_or_a_run_whose_liveness_could_not_be_judged_is_not_clean() {
    let text = "name = \"short\"\n[services]\ntickets = 1\norders = 1\n[network]\nuser_links = \"reliable\"\n[phases]\nduration = \"3s\"\nquiet = \"20s\"\n[[workload.steps]]\nat = \"1s\"\nuser = \"alice\"\nop = \"create-ticket\"\ntitle = \"t\"\nprice = 1\n";
    let scenario = ticketsim::ticketing::Scenario::parse("short.toml", text).unwrap();
    let sweep = ticketsim::testing::Sweep::of(scenario.clone(), "short.toml").seeds(0..2).jobs(1);
    let error = sweep.check().unwrap_err();
    assert!(error.contains("liveness-not-judged"), "{error}");
    let counted = sweep.allow_unjudged().check().unwrap();
    assert_eq!(counted.liveness_not_judged, 2);
    let run = ticketsim::testing::Run::of(&scenario, 0);
    assert!(run.violations().iter().any(|v| v.invariant == "liveness-not-judged"), "{:?}", run.violations());
}
