//! Readiness probes for sinks (`/readyz`): can a sink be reached right now? Each probe opens its
//! own short-lived connection (never the sink thread's), so it tells what a new write would meet.
//!
//! JSON Lines: the target folder exists and the file, if present, opens for appending. SQLite: the
//! database opens read-write and answers. PostgreSQL: a connection answers `SELECT 1`. NATS and
//! webhooks: a TCP connection to the server opens.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::Context;

use crate::config::{JsonlTarget, SinkKind, SinkSpec};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Blocks for at most about `CONNECT_TIMEOUT` per address tried.
pub fn probe(spec: &SinkSpec) -> anyhow::Result<()> {
    match &spec.kind {
        SinkKind::Jsonl(j) => match &j.target {
            JsonlTarget::Stdout => Ok(()),
            JsonlTarget::File(path) => {
                if path.exists() {
                    std::fs::OpenOptions::new()
                        .append(true)
                        .open(path)
                        .with_context(|| format!("cannot open {} for appending", path.display()))?;
                } else {
                    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                    if let Some(dir) = dir
                        && !dir.is_dir()
                    {
                        anyhow::bail!("folder {} is missing", dir.display());
                    }
                }
                Ok(())
            }
        },
        SinkKind::Sqlite { path, .. } => {
            let conn = rusqlite::Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .with_context(|| format!("cannot open {}", path.display()))?;
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .with_context(|| format!("{} does not answer", path.display()))
        }
        SinkKind::Postgres { url, .. } => {
            let target = super::sql::redact(url);
            let mut config: postgres::Config = url.parse().with_context(|| format!("invalid URL {target}"))?;
            config.connect_timeout(CONNECT_TIMEOUT);
            let mut client = config
                .connect(postgres::NoTls)
                .with_context(|| format!("cannot connect to {target}"))?;
            client
                .simple_query("SELECT 1")
                .with_context(|| format!("{target} does not answer"))?;
            Ok(())
        }
        SinkKind::Nats { url, .. } => {
            // A NATS URL may list several servers; one that accepts is enough.
            let mut last = None;
            for server in url.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let with_scheme = if server.contains("://") {
                    server.to_string()
                } else {
                    format!("nats://{server}")
                };
                match tcp(&with_scheme, 4222) {
                    Ok(()) => return Ok(()),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| anyhow::anyhow!("no server in {url:?}")))
        }
        SinkKind::Webhook { url, .. } => tcp(url, 443),
    }
}

/// Opens (and closes) a TCP connection to the URL's host and port.
fn tcp(url: &str, default_port: u16) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("invalid URL {url:?}"))?;
    let host = parsed.host_str().context("URL without a host")?;
    let port = parsed.port_or_known_default().unwrap_or(default_port);
    let shown = format!("{host}:{port}");
    let addrs: Vec<_> = (host.trim_start_matches('[').trim_end_matches(']'), port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?
        .collect();
    let mut last = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => Err(anyhow::Error::new(e).context(format!("cannot connect to {shown}"))),
        None => anyhow::bail!("{host} has no address"),
    }
}
