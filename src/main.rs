//! The `smefin` binary: parse the command line and dispatch.

fn main() -> std::process::ExitCode {
    smefin::cli::main()
}
