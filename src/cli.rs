//! The command line: `run`, `once`, `check`, `scrape` and `fold-eval` (a closed set: one
//! `Command` variant each). Each command is one small function returning the process exit code;
//! `main` only parses, sets up logging and exits.

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
    Once(OnceArgs),
    /// Validate a config file and print every error with its line, column and key.
    Check(ConfigArg),
    /// Score the fold on a labelled set: pairwise precision, recall and F1 of the same-story relation.
    FoldEval(FoldEvalArgs),
    /// Scrape one page (a URL or a file) and print the record it would make, as pretty JSON.
    Scrape(ScrapeArgs),
    /// Say what was decided about an input and why: where it was found, how it was read, which
    /// story it joined and on what evidence, or where it stopped.
    Explain(ExplainArgs),
    /// Look at a cluster (`[cluster]`): members, leases, the pages stream, dead letters.
    Cluster(ClusterArgs),
}

#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub command: ClusterCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Print the live members, who holds the fold and each partition, the pages stream's backlog
    /// and redeliveries, and the dead letters.
    Status(ConfigArg),
}

#[derive(Debug, clap::Args)]
pub struct OnceArgs {
    /// Config file.
    #[arg(long, short, default_value = "config/newsfold.toml")]
    pub config: PathBuf,
    /// Write the decision log entry of every input refused in this run to this file (JSON Lines,
    /// schema/decision-v1.json).
    #[arg(long)]
    pub explain_failures: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A URL or file path as read, a record id, or a story id (every member).
    pub target: String,
    /// Config file (its state store holds the decision log).
    #[arg(long, short, default_value = "config/newsfold.toml")]
    pub config: PathBuf,
    /// Print the entries as JSON Lines (schema/decision-v1.json) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Compare with this document (URL, path or record id): shared and unshared facts, the
    /// score and the threshold.
    #[arg(long)]
    pub against: Option<String>,
    /// Re-read (or refetch) the page, scrape and fold it again against the index as it stood
    /// before it, and show what differs from what was decided.
    #[arg(long, conflicts_with = "against")]
    pub replay: bool,
}

#[derive(Debug, clap::Args)]
pub struct ScrapeArgs {
    /// An http(s) URL to fetch, or a saved page (.html/.htm read as HTML, anything else as text).
    pub target: String,
    /// Use this source's extraction rules, language hint, User-Agent and allowed hosts.
    #[arg(long)]
    pub source: Option<String>,
    /// The config holding the source and the [fetch] settings.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct FoldEvalArgs {
    /// JSON Lines of {"id","path","lang","group"}; paths relative to this file.
    #[arg(long)]
    pub labels: PathBuf,
    /// Arrival order: the file's order, or shuffled.
    #[arg(long, value_enum, default_value = "given")]
    pub order: Order,
    /// Seed of the first shuffle.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many shuffled orders to score (with --order shuffle).
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Take the fold settings from this config (default: built-in defaults).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// List the wrongly merged and missed pairs.
    #[arg(long)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Order {
    Given,
    Shuffle,
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
        Command::Once(a) => once(&a),
        Command::Run(a) => run_pipeline(&a.config, Mode::Daemon),
        Command::FoldEval(a) => fold_eval(&a),
        Command::Scrape(a) => scrape(&a),
        Command::Explain(a) => explain(&a),
        Command::Cluster(ClusterArgs {
            command: ClusterCommand::Status(a),
        }) => cluster_status(&a.config),
    }
}

fn once(a: &OnceArgs) -> i32 {
    let Some(file) = &a.explain_failures else {
        return run_pipeline(&a.config, Mode::Once);
    };
    // The refusals of this run are those logged after the log's last entry now.
    let from = match load(&a.config).map(|c| c.state_path) {
        Ok(state) => match crate::state::StateStore::open(&state).and_then(|s| s.last_decision()) {
            Ok(seq) => seq,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot read the decision log");
                return EXIT_FAILED;
            }
        },
        Err(code) => return code,
    };
    let code = run_pipeline(&a.config, Mode::Once);
    let written = load(&a.config)
        .map_err(|_| anyhow::anyhow!("the config no longer loads"))
        .and_then(|c| {
            let entries = crate::state::StateStore::open(&c.state_path)?.refusals_after(from)?;
            let mut out = String::new();
            for e in &entries {
                out.push_str(&serde_json::to_string(e)?);
                out.push('\n');
            }
            anyhow::Context::with_context(std::fs::write(file, out), || format!("cannot write {}", file.display()))?;
            Ok(entries.len())
        });
    match written {
        Ok(n) => {
            tracing::info!(file = %file.display(), refused = n, "refused inputs explained");
            code
        }
        Err(e) => {
            tracing::error!(file = %file.display(), error = %format!("{e:#}"), "cannot write the refused inputs");
            EXIT_FAILED
        }
    }
}

fn cluster_status(path: &Path) -> i32 {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(cluster) = &config.cluster else {
        eprintln!("newsfold cluster status: {} has no [cluster] section", path.display());
        return EXIT_FAILED;
    };
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(crate::cluster::status::status(&config, cluster)));
    match result {
        Ok(text) => {
            print!("{text}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("newsfold cluster status: {e:#}");
            EXIT_FAILED
        }
    }
}

fn explain(a: &ExplainArgs) -> i32 {
    let config = match load(&a.config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match explain_text(&config, a) {
        Ok(text) => {
            print!("{text}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("newsfold explain: {e:#}");
            EXIT_FAILED
        }
    }
}

/// Finds the decision log entries about `target`: as given, then as an absolute file path.
fn lookup(state: &crate::state::StateStore, target: &str) -> anyhow::Result<Vec<crate::explain::Entry>> {
    let mut found = state.decisions(target)?;
    if found.is_empty()
        && let Ok(abs) = std::fs::canonicalize(target)
    {
        found = state.decisions(&abs.display().to_string())?;
    }
    if found.is_empty() {
        anyhow::bail!(
            "nothing about {target} in the decision log of {}: it was never read under this config, or its record has left the fold window",
            state.describe()
        );
    }
    Ok(found.into_iter().map(|(_, e)| e).collect())
}

fn explain_text(config: &config::Config, a: &ExplainArgs) -> anyhow::Result<String> {
    use crate::explain::{Delivered, compare, render, render_comparison};
    let state = match &config.cluster {
        // A cluster's decisions are in its shared store.
        Some(cluster) => crate::state::StateStore::open_shared(&cluster.shared)?,
        None if !config.state_path.exists() => anyhow::bail!(
            "no state store at {}: nothing was decided yet",
            config.state_path.display()
        ),
        None => crate::state::StateStore::open(&config.state_path)?,
    };
    let entries = lookup(&state, &a.target)?;
    let mut out = String::new();
    if a.replay {
        let entry = entries
            .iter()
            .rev()
            .find(|e| e.fold.is_some())
            .ok_or_else(|| anyhow::anyhow!("{} never became a record: nothing to replay", a.target))?;
        return crate::preview::replay(config, &state, entry);
    }
    if let Some(other) = &a.against {
        let record = |es: &[crate::explain::Entry], what: &str| {
            es.iter()
                .rev()
                .find(|e| e.fold.is_some())
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{what} never became a record"))
        };
        let (x, y) = (record(&entries, &a.target)?, record(&lookup(&state, other)?, other)?);
        let c = compare(&x, &y).ok_or_else(|| anyhow::anyhow!("nothing to compare"))?;
        if a.json {
            out.push_str(&serde_json::to_string(&c)?);
            out.push('\n');
        } else {
            out.push_str(&render_comparison(&c));
        }
        return Ok(out);
    }
    for e in &entries {
        if a.json {
            out.push_str(&serde_json::to_string(e)?);
            out.push('\n');
            continue;
        }
        let delivered = match e.record_id() {
            Some(id) => Some(Delivered {
                done_at: state.done_at(id)?,
                acks: state.acks(id)?,
            }),
            None => None,
        };
        out.push_str(&render(e, delivered.as_ref()));
    }
    Ok(out)
}

fn scrape(a: &ScrapeArgs) -> i32 {
    let config = match &a.config {
        Some(path) => match load(path) {
            Ok(c) => Some(c),
            Err(code) => return code,
        },
        None => None,
    };
    match crate::preview::preview(&a.target, config.as_ref(), a.source.as_deref()) {
        Ok(json) => {
            let written = writeln!(std::io::stdout().lock(), "{json}");
            match written {
                // `| head` closing stdout early is not an error.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: cannot write: {e}");
                    EXIT_FAILED
                }
                _ => EXIT_OK,
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_FAILED
        }
    }
}

fn fold_eval(a: &FoldEvalArgs) -> i32 {
    let options = match &a.config {
        Some(path) => match load(path) {
            Ok(c) => c.fold,
            Err(code) => return code,
        },
        None => crate::fold::FoldOptions::default(),
    };
    let docs = match crate::eval::load(&a.labels) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e:#}");
            return EXIT_FAILED;
        }
    };
    let groups: std::collections::BTreeSet<&str> = docs.iter().map(|d| d.label.group.as_str()).collect();
    let events: std::collections::BTreeSet<&str> = docs.iter().map(|d| d.label.event()).collect();
    let orders = crate::eval::orders(docs.len(), a.order == Order::Shuffle, a.seed, a.runs);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "documents {}, labelled stories {}, labelled events {}, orders {} ({})",
        docs.len(),
        groups.len(),
        events.len(),
        orders.len(),
        match a.order {
            Order::Given => "given".to_string(),
            Order::Shuffle => format!("shuffle, seed {}", a.seed),
        }
    );
    let (mut story, mut event) = (crate::eval::Summary::default(), crate::eval::Summary::default());
    let mut worst: Option<crate::eval::Run> = None;
    for (n, order) in orders.iter().enumerate() {
        let r = crate::eval::run(&docs, order, &options);
        let _ = writeln!(out, "order {:>3}: story {}", n + 1, r.story);
        let _ = writeln!(out, "           event {}", r.event);
        if a.verbose {
            for line in &r.wrong {
                let _ = writeln!(out, "  {line}");
            }
            for (i, j) in &r.story.missed {
                let _ = writeln!(out, "  missed story pair: {i} + {j}");
            }
            // Two stories of one event left in two events (a missed story pair is listed once).
            let listed: std::collections::HashSet<&(String, String)> = r.story.missed.iter().collect();
            for pair in r.event.missed.iter().filter(|p| !listed.contains(p)) {
                let _ = writeln!(out, "  missed event pair: {} + {}", pair.0, pair.1);
            }
        }
        story.add(&r.story);
        event.add(&r.event);
        if worst.as_ref().is_none_or(|w| r.story.f1() < w.story.f1()) {
            worst = Some(r);
        }
    }
    let _ = writeln!(out, "story level: {story}");
    let _ = writeln!(out, "event level: {event}");
    if let Some(w) = worst {
        let rel: Vec<String> = w.relations.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "relations (worst story f1 order): {}", rel.join(", "));
    }
    EXIT_OK
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
    if let Some(level) = &config.log.level
        && let Err(e) = crate::telemetry::apply_level(level, false)
    {
        tracing::warn!(error = %format!("{e:#}"), "cannot apply [log] level");
    }
    let started = std::time::Instant::now();
    let stats = std::sync::Arc::new(crate::stats::Stats::default());
    let show_progress = mode == Mode::Once && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let result = runtime.block_on(async {
        let token = shutdown::watch_signals();
        let reload = (mode == Mode::Daemon).then(shutdown::watch_reload);
        let background = tokio_util::sync::CancellationToken::new();
        if mode == Mode::Daemon {
            crate::service::spawn_watchdog(background.clone());
        }
        let progress = show_progress.then(|| crate::progress::spawn(stats.clone(), background.clone()));
        let result = pipeline::run(&config, mode, token, reload, stats.clone()).await;
        background.cancel();
        if let Some(p) = progress {
            let _ = p.await;
        }
        result
    });
    match result {
        Ok(report) => {
            let records = report.records();
            let failed: u64 = report.sources.values().map(|s| s.failed_total()).sum();
            let skipped: u64 = report.sources.values().map(|s| s.already_done).sum();
            tracing::info!(
                records, failed, skipped, elapsed_ms = started.elapsed().as_millis() as u64,
                peak_rss_bytes = crate::telemetry::peak_rss_bytes(),
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
