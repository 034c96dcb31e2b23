//! The `ballotbox` command: see `ballotbox --help`.

fn main() -> std::process::ExitCode {
    ballotbox::cli::run()
}
