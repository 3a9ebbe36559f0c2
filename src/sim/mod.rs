//! The simulation harness: everything fault-related and nothing about tickets.
//! The simulated system only sees a network (`fabric`) and its own stores; faults,
//! random decisions and time all come from here.

pub mod choices;
pub mod fabric;
pub mod nemesis;

/// Virtual time elapsed since the simulation started.
pub fn now() -> std::time::Duration {
    madsim::time::TimeHandle::current().elapsed()
}

/// Formats a virtual time as seconds with millisecond precision, e.g. `12.345s`.
pub fn fmt_time(t: std::time::Duration) -> String {
    format!("{}.{:03}s", t.as_secs(), t.subsec_millis())
}

/// A virtual time to the microsecond, for telling apart events a millisecond hides.
pub fn fmt_time_precise(t: std::time::Duration) -> String {
    format!("{}.{:06}s", t.as_secs(), t.subsec_micros())
}
