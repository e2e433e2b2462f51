//! What readiness probes (`/readyz`) share: a TCP connection test with a short timeout. Each
//! sink kind's probe lives with its kind (`JsonlSettings::probe`, …) and opens its own
//! short-lived connection, never the sink thread's, so it tells what a new write would meet.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::Context;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens (and closes) a TCP connection to the URL's host and port. The URL is redacted in errors.
pub fn tcp(url: &str, default_port: u16) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("invalid URL {}", super::sql::redact(url)))?;
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
