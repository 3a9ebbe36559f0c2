fn main() {
    std::process::exit(ticketsim::cli::main());
}
