fn main() {
    // Die quietly when the reader of our output goes away (`ticketsim replay ... | head`).
    // SAFETY: restoring the default SIGPIPE action before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(ticketsim::cli::main());
}
