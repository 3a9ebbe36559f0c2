//! Stopping a sweep early: once a stop is requested (the command line does on Ctrl-C,
//! SIGTERM or SIGHUP), sweeps start no new seed, finish the ones running, and return
//! what ran, marked as partial. Process-wide on purpose: it decides which seeds run,
//! never what a run does.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

/// Asks every sweep of this process to stop starting seeds.
pub fn request_stop() {
    STOP.store(true, Ordering::Relaxed);
}

/// Whether a stop was requested.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}
