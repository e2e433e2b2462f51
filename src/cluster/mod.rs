//! `[cluster]`: several `newsfold run` processes share one crawl and one story index, on NATS
//! JetStream and PostgreSQL (no protocol of our own). Without the section nothing here runs.
//!
//! The map (ARCHITECTURE.md has the long form):
//!
//! - `partition`: the sources split into partitions, sources that share a host in one, so every
//!   request to a host comes from the one member holding its partition.
//! - `lease`: leases in a JetStream KV bucket (`<prefix>_leases`, entries expire after
//!   `lease_ttl`): one per partition and `fold` for the fold leader; members announce themselves
//!   in `<prefix>_members`.
//! - `wire`: a page as a message of the `<prefix>_pages` work-queue stream (subject
//!   `<prefix>.pages`, `Nats-Msg-Id` the input's id).
//! - `member`: one process's loop: hold a fair share of partitions, run their sources, publish
//!   what they read, and lead the fold when it holds `fold`.
//! - `leader`: the fold leader: consumes the stream into scrape → fold → sinks over the shared
//!   state store, acknowledging a message once its input is delivered to every sink or refused.
//! - `status`: `newsfold cluster status`.

mod leader;
mod lease;
mod member;
mod partition;
pub mod status;
mod wire;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use crate::config::Cx;
use crate::sinks::postgres::PostgresSettings;
use crate::state::SharedSettings;

pub use member::run;

/// `[cluster]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    /// NATS server URL(s): JetStream streams and the KV buckets of leases.
    pub nats: String,
    /// PostgreSQL URL of the shared state.
    pub postgres: String,
    /// This member's name (default: host name and process id).
    #[serde(default)]
    pub name: Option<String>,
    /// Streams, buckets and tables start with it.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// How long a lease outlives its holder's last renewal.
    #[serde(default, deserialize_with = "crate::config::duration_opt")]
    pub lease_ttl: Option<Duration>,
}

fn default_prefix() -> String {
    "newsfold".to_string()
}

/// The default `lease_ttl`: a dead member's partitions and the fold move within it.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSettings {
    /// May hold credentials: shown only through `sql::redact`.
    pub nats: String,
    pub shared: SharedSettings,
    pub name: String,
    pub prefix: String,
    pub lease_ttl: Duration,
}

impl ClusterSettings {
    pub fn build(cx: &mut Cx<'_>, raw: RawCluster) -> Option<ClusterSettings> {
        let nats = cx.expand_env("cluster.nats", &raw.nats);
        if !nats
            .split(',')
            .map(str::trim)
            .all(|u| u.starts_with("nats://") || u.starts_with("tls://"))
        {
            cx.error("cluster.nats", "must start with nats:// or tls://");
        }
        let pg = PostgresSettings::parse_url(cx, "cluster.postgres", &raw.postgres);
        let prefix_ok = raw.prefix.len() <= 40
            && raw.prefix.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !prefix_ok {
            cx.error(
                "cluster.prefix",
                "must be a lowercase letter then lowercase letters, digits or '_', at most 40 (it names streams, buckets and tables)",
            );
        }
        let name = match raw.name {
            Some(n) => cx.expand_env("cluster.name", &n),
            None => format!("{}-{}", host_name(), std::process::id()),
        };
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            cx.error(
                "cluster.name",
                format!(
                    "{} must be 1 to 64 letters, digits, '-', '_' or '.'",
                    crate::config::preview(&name)
                ),
            );
        }
        let lease_ttl = raw.lease_ttl.unwrap_or(DEFAULT_LEASE_TTL);
        if lease_ttl < Duration::from_secs(1) {
            cx.error("cluster.lease_ttl", "must be at least 1s");
        }
        let (url, tls, root) = pg?;
        let connection = PostgresSettings {
            url,
            table: String::new(),
            timeout: crate::sinks::postgres::DEFAULT_TIMEOUT,
            tls,
            ca_file: root.map(std::path::PathBuf::from),
        };
        Some(ClusterSettings {
            nats,
            shared: SharedSettings {
                connection,
                prefix: raw.prefix.clone(),
            },
            name,
            prefix: raw.prefix,
            lease_ttl,
        })
    }

    pub fn pages_stream(&self) -> String {
        format!("{}_pages", self.prefix)
    }

    pub fn pages_subject(&self) -> String {
        format!("{}.pages", self.prefix)
    }

    pub fn leases_bucket(&self) -> String {
        format!("{}_leases", self.prefix)
    }

    pub fn members_bucket(&self) -> String {
        format!("{}_members", self.prefix)
    }

    pub fn fold_consumer(&self) -> String {
        format!("{}_fold", self.prefix)
    }

    /// Connects to NATS, retrying the first connection is not this client's business: an
    /// unreachable server is an error at start.
    pub async fn connect(&self) -> anyhow::Result<async_nats::jetstream::Context> {
        let target = crate::sinks::sql::redact(&self.nats);
        let servers: Vec<&str> = self.nats.split(',').map(str::trim).collect();
        let client = async_nats::ConnectOptions::new()
            .name(format!("newsfold {}", self.name))
            .connection_timeout(Duration::from_secs(10))
            .connect(servers)
            .await
            .with_context(|| format!("cannot connect to NATS at {target}"))?;
        Ok(async_nats::jetstream::new(client))
    }
}

/// The machine's name, for a default member name.
fn host_name() -> String {
    let name = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .take(48)
        .collect();
    if name.is_empty() { "member".into() } else { name }
}

/// What a member's tasks share.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub config: crate::config::Config,
    pub cluster: ClusterSettings,
    pub js: async_nats::jetstream::Context,
    pub state: std::sync::Arc<crate::state::StateStore>,
    pub stats: std::sync::Arc<crate::stats::Stats>,
    pub gauges: std::sync::Arc<Gauges>,
    pub shutdown: tokio_util::sync::CancellationToken,
}

/// What this member does now, for `/metrics` and the status page.
#[derive(Debug, Default)]
pub struct Gauges {
    pub name: String,
    pub partitions_held: AtomicU64,
    pub partitions: AtomicU64,
    pub leader: AtomicBool,
    pub published: AtomicU64,
    pub redelivered: AtomicU64,
    pub dead_letters: AtomicU64,
    /// The members alive at the last look, by name.
    pub members: Mutex<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use crate::config::{from_str, test_errors};

    const BASE: &str = "[sources.s]\ntype = \"files\"\npath = \"pages\"\n[sinks.o]\ntype = \"jsonl\"\npath = \"-\"\n";

    #[test]
    fn a_cluster_section_is_validated_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pages")).unwrap();
        let text = format!(
            "{BASE}[cluster]\nnats = \"nats://127.0.0.1:4222\"\npostgres = \"postgres://u:secret@db/news\"\nname = \"m-1\"\n"
        );
        let c = from_str(&text, &dir.path().join("c.toml"))
            .expect("valid")
            .cluster
            .expect("cluster");
        assert_eq!((c.name.as_str(), c.prefix.as_str()), ("m-1", "newsfold"));
        assert_eq!(c.pages_stream(), "newsfold_pages");
        assert_eq!(c.lease_ttl, super::DEFAULT_LEASE_TTL);
        let errors = test_errors(&format!(
            "{BASE}[cluster]\nnats = \"http://x\"\npostgres = \"postgres://u:secret@db/news?sslmode=bogus\"\nname = \"a b\"\nprefix = \"Prod-1\"\nlease_ttl = \"10ms\"\n"
        ));
        for key in [
            "cluster.nats",
            "cluster.postgres",
            "cluster.name",
            "cluster.prefix",
            "cluster.lease_ttl",
        ] {
            assert!(
                errors.iter().any(|e| e.contains(&format!(": {key}: "))),
                "{key} in {errors:?}"
            );
        }
        assert!(errors.iter().all(|e| !e.contains("secret")), "{errors:?}");
        let unknown = test_errors(&format!(
            "{BASE}[cluster]\nnats = \"nats://a\"\npostgres = \"postgres://a/b\"\nleader = true\n"
        ));
        assert!(
            unknown.iter().any(|e| e.contains("unknown field `leader`")),
            "{unknown:?}"
        );
    }
}
