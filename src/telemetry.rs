//! The one place that installs logging: JSON lines (default) or human-readable text, on stderr.
//!
//! stderr keeps stdout free for a JSON Lines sink writing to `-` and for command output. The
//! filter comes from `--log-level`, else `RUST_LOG`, else the config's `[log] level`, else `info`;
//! it sits behind a reload handle, so a SIGHUP with a new `[log] level` changes it while running.

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

/// The installed filter's handle, and whether `--log-level`/`RUST_LOG` chose it.
static FILTER: OnceLock<(reload::Handle<EnvFilter, Registry>, bool)> = OnceLock::new();

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object a line.
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// Client libraries that log their connection options, credentials included, below INFO (async-nats
/// prints `password: Some(…)` at DEBUG): they are held at INFO whatever the filter says, so no
/// secret reaches the logs at any level.
const CAPPED: &[&str] = &["async_nats=info", "tokio_postgres=info", "postgres=info"];

/// `filter` with the `CAPPED` directives added (a directive naming a target outranks a general
/// level, and these come last, so they hold even against `async_nats=trace`).
fn capped(filter: EnvFilter) -> EnvFilter {
    CAPPED.iter().fold(filter, |f, d| match d.parse() {
        Ok(directive) => f.add_directive(directive),
        Err(_) => f,
    })
}

/// Installs the global subscriber. Returns an error for an invalid filter directive.
pub fn init(format: LogFormat, level: Option<&str>) -> anyhow::Result<()> {
    let (filter, chosen) = match level {
        Some(l) => (
            EnvFilter::try_new(l).map_err(|e| anyhow::anyhow!("invalid --log-level {l:?}: {e}"))?,
            true,
        ),
        None => match std::env::var("RUST_LOG") {
            Ok(v) if !v.trim().is_empty() => (
                EnvFilter::try_new(&v).map_err(|e| anyhow::anyhow!("invalid RUST_LOG {v:?}: {e}"))?,
                true,
            ),
            _ => (EnvFilter::new("info"), false),
        },
    };
    let (filter, handle) = reload::Layer::new(capped(filter));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install logger: {e}"))?;
    let _ = FILTER.set((handle, chosen));
    Ok(())
}

/// Applies the config's `[log] level`: at start only when neither `--log-level` nor `RUST_LOG`
/// chose the filter; on reload (`force`) always, since the operator changed it on purpose.
pub fn apply_level(level: &str, force: bool) -> anyhow::Result<bool> {
    let Some((handle, chosen)) = FILTER.get() else {
        return Ok(false);
    };
    if *chosen && !force {
        return Ok(false);
    }
    let filter = EnvFilter::try_new(level).map_err(|e| anyhow::anyhow!("invalid log level {level:?}: {e}"))?;
    handle
        .reload(capped(filter))
        .map_err(|e| anyhow::anyhow!("cannot change the log level: {e}"))?;
    Ok(true)
}

/// The process's peak resident memory (VmHWM), where the OS reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
