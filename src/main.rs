//! The `smefin` binary: parse the command line and dispatch.

// mimalloc: matching renders many small strings per request; it is about
// twice as fast as the system allocator on that path (benches/matching.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    smefin::cli::main()
}
