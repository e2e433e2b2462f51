//! The one integration-test binary. Each module says what belongs in it:
//! - `cli`: the real `newsfold` binary end to end (once, run, check, bad inputs, restarts).
//! - `cluster`: three and four `newsfold run` members sharing local sites over the real NATS and
//!   PostgreSQL, with kill -9 of a worker and of the fold leader.
//! - `config`: config errors and the completeness of `config/example.toml`.
//! - `scrape`: data-driven scrape fixtures, including every seed page.
//! - `fold`: fold decisions on the seeds in every arrival order, the dev set, the index bounds.
//! - `fetch`: HTTP sources against real loopback servers, hostile ones included.
//! - `faults`: a sink's server going away under a running daemon (a TCP proxy the test cuts).
//! - `ops`: operating the daemon: API, status page in Chromium, reload, systemd notify, log
//!   rate limits, `once` progress, deploy/ files.
//! - `pgtls`: the PostgreSQL sink over TLS, against a PostgreSQL of the test's own with a test CA.
//! - `sinks`: the sink contract, against the real PostgreSQL where one is reachable.
//! - `templates`: site templates learnt from a 20-page fixture site and kept across runs.
//! - `tidy`: the map is true: file headers and sizes, ARCHITECTURE.md's code map, the README's
//!   list of failure kinds.
//! - `util`: shared helpers (workspaces, running the binary, reading records, the schema).
//! - `web`: a loopback HTTP server with hostile routes, for `fetch` and the fetch benchmark.

mod cli;
mod cluster;
mod config;
mod faults;
mod fetch;
mod fold;
mod ops;
mod pgtls;
mod scrape;
mod sinks;
mod templates;
mod tidy;
mod util;
mod web;
