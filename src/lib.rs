//! newsfold: reads provincial news pages, scrapes them into records, folds every translation and
//! duplicate of one story together, and hands the records to sinks.
//!
//! Crate map (see ARCHITECTURE.md for invariants):
//! - `cli`, `telemetry`, `shutdown`, `service`, `progress`: the process edge (logs, signals, systemd
//!   notify, the `once` progress line).
//! - `api`: `run`'s HTTP endpoint: metrics, health, readiness, the status page.
//! - `config`: TOML parse → validate, with located errors; each component validates its own table.
//! - `kinds`: the closed sets named in configs, logs and metrics (stages, failure kinds).
//! - `pipeline`: wires sources → scrape → fold → sinks with bounded channels and runs them.
//! - `fetch`: the shared HTTP client: politeness, robots.txt, address safety, retries, body caps.
//! - `sources`: where pages come from (`files`, and over HTTP `feed`, `sitemap`, `listing`, `pages`).
//! - `scrape`: pure; bytes → `Article` (text and HTML readers, debris, bylines, language).
//! - `dates`: pure; date mentions and stamps in vi/fr/en.
//! - `fold`: pure; fingerprints and the story index that decides relations.
//! - `preview`: `newsfold scrape`, one page through scrape, printed as its record.
//! - `eval`: `fold-eval`, the labelled-set scorer running the same scrape and fold code.
//! - `explain`: the decision log's entries (what was decided about each input, and why) and their
//!   rendering for `newsfold explain`.
//! - `state`: the embedded SQLite store (done inputs, fold documents, the decision log).
//! - `sinks`: where records go (`jsonl`, `sqlite`, `postgres`, `nats`, `webhook`), and the
//!   acknowledgement contract.
//! - `model`, `stats`, `report`, `recent`: data that crosses stages, the live counters, what a run
//!   did, recent stories.
//! - `repeats`: the rate limit on repeated failure lines.

pub mod api;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod dates;
pub mod eval;
pub mod explain;
pub mod fetch;
pub mod fold;
pub mod kinds;
pub mod model;
pub mod pipeline;
pub mod preview;
pub mod progress;
pub mod recent;
pub mod repeats;
pub mod report;
pub mod scrape;
pub mod service;
pub mod shutdown;
pub mod sinks;
pub mod sources;
pub mod state;
pub mod stats;
pub mod telemetry;
