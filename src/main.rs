/// mimalloc rather than the C library's allocator: runs are the same, a sweep takes less
/// CPU and about twice the peak memory (docs/performance.md, "mimalloc as the binary's
/// allocator, measured again"). The default feature `mimalloc`.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Die quietly when the reader of our output goes away (`ticketsim replay ... | head`).
    // SAFETY: restoring the default SIGPIPE action before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(ticketsim::cli::main());
}
