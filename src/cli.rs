//! The command line: `run`, `once`, `check`. Each command is one small function returning the
//! process exit code; `main` only parses, sets up logging and exits.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::config::{self, EXIT_CONFIG};
use crate::pipeline;
use crate::shutdown;
use crate::sources::Mode;
use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "newsfold",
    version,
    about = "Folds translations and duplicates of provincial news into stories"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "json")]
    pub log_format: LogFormat,
    /// Log filter (e.g. "info", "newsfold=debug"); overrides RUST_LOG.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run as a daemon: poll sources until SIGINT/SIGTERM, then drain and exit.
    Run(ConfigArg),
    /// Read every source once, wait until everything is delivered, print a summary.
    Once(ConfigArg),
    /// Validate a config file and print every error with its line, column and key.
    Check(ConfigArg),
}

#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Config file.
    #[arg(long, short, default_value = "config/newsfold.toml")]
    pub config: PathBuf,
}

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;

/// Runs a parsed command line and returns the exit code.
pub fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Check(a) => check(&a.config),
        Command::Once(a) => run_pipeline(&a.config, Mode::Once),
        Command::Run(a) => run_pipeline(&a.config, Mode::Daemon),
    }
}

fn load(path: &Path) -> Result<config::Config, i32> {
    config::load(path).map_err(|errors| {
        let mut err = std::io::stderr().lock();
        for e in &errors.0 {
            let _ = writeln!(err, "error: {e}");
        }
        let _ = writeln!(err, "{} error(s) in {}", errors.0.len(), path.display());
        EXIT_CONFIG
    })
}

fn check(path: &Path) -> i32 {
    match load(path) {
        Ok(c) => {
            println!(
                "{}: ok ({} source(s), {} sink(s))",
                path.display(),
                c.sources.len(),
                c.sinks.len()
            );
            EXIT_OK
        }
        Err(code) => code,
    }
}

fn run_pipeline(path: &Path, mode: Mode) -> i32 {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return EXIT_FAILED;
        }
    };
    let started = std::time::Instant::now();
    let result = runtime.block_on(async {
        let token = shutdown::watch_signals();
        pipeline::run(&config, mode, token).await
    });
    match result {
        Ok(report) => {
            let records = report.records();
            let failed: u64 = report.sources.values().map(|s| s.failed_total()).sum();
            let skipped: u64 = report.sources.values().map(|s| s.already_done).sum();
            tracing::info!(
                records, failed, skipped, elapsed_ms = started.elapsed().as_millis() as u64,
                summary = %report.to_string().replace('\n', "; "), "run finished"
            );
            if mode == Mode::Once {
                let text = format!("{report}\n");
                // stdout belongs to a sink writing "-", if there is one.
                let written = if config.writes_stdout() {
                    std::io::stderr().lock().write_all(text.as_bytes())
                } else {
                    std::io::stdout().lock().write_all(text.as_bytes())
                };
                if let Err(e) = written
                    && e.kind() != std::io::ErrorKind::BrokenPipe
                {
                    tracing::warn!(error = %e, "cannot print the summary");
                }
            }
            if report.failed() { EXIT_FAILED } else { EXIT_OK }
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "run failed");
            eprintln!("error: {e:#}");
            EXIT_FAILED
        }
    }
}
