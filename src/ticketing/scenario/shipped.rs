//! The shipped scenarios, built into the binary: their names work from any directory
//! (`ticketsim run order-race`), and `ticketsim list --write DIR` writes them out for
//! editing. A test keeps this list equal to `scenarios/`.

/// Each shipped scenario: its name (`order-race`, `course/tickets`) and its text.
pub const SHIPPED: &[(&str, &str)] = &[
    ("accounts", include_str!("../../../scenarios/accounts.toml")),
    ("expiration-payments", include_str!("../../../scenarios/expiration-payments.toml")),
    ("full-system", include_str!("../../../scenarios/full-system.toml")),
    ("jetstream", include_str!("../../../scenarios/jetstream.toml")),
    ("order-race", include_str!("../../../scenarios/order-race.toml")),
    ("out-of-order-updates", include_str!("../../../scenarios/out-of-order-updates.toml")),
    ("payment-provider", include_str!("../../../scenarios/payment-provider.toml")),
    ("tickets-orders", include_str!("../../../scenarios/tickets-orders.toml")),
    ("walkthrough", include_str!("../../../scenarios/walkthrough.toml")),
    ("check/edit-race", include_str!("../../../scenarios/check/edit-race.toml")),
    ("check/pay-race", include_str!("../../../scenarios/check/pay-race.toml")),
    ("check/pay-twice", include_str!("../../../scenarios/check/pay-twice.toml")),
    ("check/relock", include_str!("../../../scenarios/check/relock.toml")),
    ("course/expiration", include_str!("../../../scenarios/course/expiration.toml")),
    ("course/orders", include_str!("../../../scenarios/course/orders.toml")),
    ("course/payments", include_str!("../../../scenarios/course/payments.toml")),
    ("course/tickets", include_str!("../../../scenarios/course/tickets.toml")),
];

/// The text of a shipped scenario.
pub fn text(name: &str) -> Option<&'static str> {
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// The names of the shipped scenarios.
pub fn names() -> Vec<&'static str> {
    SHIPPED.iter().map(|(n, _)| *n).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shipped_list_is_the_scenarios_directory() {
        let mut on_disk = Vec::new();
        for dir in ["", "check/", "course/"] {
            for entry in std::fs::read_dir(format!("scenarios/{dir}")).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|x| x == "toml") {
                    let name = format!("{dir}{}", path.file_stem().unwrap().to_string_lossy());
                    on_disk.push((name, std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        on_disk.sort();
        let mut shipped: Vec<(String, String)> = super::SHIPPED.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        shipped.sort();
        assert_eq!(shipped, on_disk, "scenarios/ changed: update src/ticketing/scenario/shipped.rs");
    }

    #[test]
    fn every_shipped_scenario_is_valid() {
        for (name, text) in super::SHIPPED {
            crate::ticketing::Scenario::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
