//! The `newsfold` binary: parse the command line, install logging, run, exit with its code.

use clap::Parser;

fn main() {
    let cli = newsfold::cli::Cli::parse();
    if let Err(e) = newsfold::telemetry::init(cli.log_format, cli.log_level.as_deref()) {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
    std::process::exit(newsfold::cli::main(cli));
}
