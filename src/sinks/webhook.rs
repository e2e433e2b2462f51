//! The webhook sink: each batch POSTed as a JSON array (records, and story updates after the
//! record that caused them) to one URL. With a secret, the body is signed:
//! `X-Newsfold-Signature: sha256=<hex HMAC-SHA256 of the body>`, so the receiver can check the
//! batch came from us unchanged.
//!
//! A 2xx answer acknowledges the batch. 5xx, 408, 429, timeouts and connection failures are
//! transient (the sink thread retries with backoff); any other 4xx rejects the batch: the thread
//! then sends its items one at a time and dead-letters those rejected again.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use serde::Deserialize;

use super::sql::redact;
use super::{DuplicatePolicy, Item};
use crate::config::{Cx, duration_opt};

/// `type = "webhook"` as written: batches POSTed as JSON, signed with `secret`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhookSink {
    pub url: String,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default, deserialize_with = "duration_opt")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
}

/// `secret` is never logged.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    pub url: String,
    pub secret: Option<String>,
    pub timeout: Duration,
}

impl WebhookSettings {
    pub fn build(cx: &mut Cx<'_>, key: &str, raw: RawWebhookSink) -> Option<(WebhookSettings, DuplicatePolicy)> {
        let url = cx.expand_env(&format!("{key}.url"), &raw.url);
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            cx.error(&format!("{key}.url"), "must start with http:// or https://");
        }
        let secret = raw
            .secret
            .as_deref()
            .map(|s| cx.expand_env(&format!("{key}.secret"), s));
        if secret.as_deref() == Some("") {
            cx.error(
                &format!("{key}.secret"),
                "is empty; leave it out to send unsigned batches",
            );
        }
        let timeout = raw.timeout.unwrap_or(Duration::from_secs(10));
        if timeout.is_zero() {
            cx.error(&format!("{key}.timeout"), "must be longer than zero");
        }
        Some((WebhookSettings { url, secret, timeout }, raw.duplicates))
    }

    /// `/readyz`: a TCP connection to the receiver opens.
    pub fn probe(&self) -> anyhow::Result<()> {
        super::probe::tcp(&self.url, 443)
    }
}

pub const SIGNATURE_HEADER: &str = "X-Newsfold-Signature";

/// The receiver refused the items themselves (a 4xx answer); retrying cannot help.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

pub struct WebhookSink {
    url: String,
    target: String,
    secret: Option<String>,
    timeout: Duration,
    /// Made on first use, on the sink's own thread (the blocking client must not live inside
    /// the async runtime).
    client: Option<reqwest::blocking::Client>,
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + tag.len() * 2);
    out.push_str("sha256=");
    for b in tag.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl WebhookSink {
    pub fn open(settings: &WebhookSettings) -> anyhow::Result<WebhookSink> {
        Ok(WebhookSink {
            url: settings.url.clone(),
            target: redact(&settings.url),
            secret: settings.secret.clone(),
            timeout: settings.timeout,
            client: None,
        })
    }

    fn client(&mut self) -> anyhow::Result<&reqwest::blocking::Client> {
        if self.client.is_none() {
            // One process-wide TLS provider (ring, as for NATS); installing twice is harmless.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let c = reqwest::blocking::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.timeout.min(Duration::from_secs(10)))
                .redirect(reqwest::redirect::Policy::limited(3))
                .user_agent(concat!(
                    "newsfold/",
                    env!("CARGO_PKG_VERSION"),
                    " (+https://github.com/newsfold)"
                ))
                .build()
                .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
            self.client = Some(c);
        }
        self.client.as_ref().ok_or_else(|| anyhow::anyhow!("no HTTP client"))
    }

    pub fn write(&mut self, items: &[Item<'_>]) -> anyhow::Result<()> {
        let mut body = Vec::with_capacity(items.len() * 2048);
        body.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            match item {
                Item::Record(r) => serde_json::to_writer(&mut body, r)?,
                Item::Update(u) => serde_json::to_writer(&mut body, u)?,
            }
        }
        body.push(b']');
        let signature = self.secret.as_deref().map(|s| signature(s, &body));
        let (url, target) = (self.url.clone(), self.target.clone());
        let mut req = self
            .client()?
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Newsfold-Items", items.len().to_string());
        if let Some(sig) = signature {
            req = req.header(SIGNATURE_HEADER, sig);
        }
        // reqwest's errors name the URL; show ours, redacted, instead.
        let resp = req
            .body(body)
            .send()
            .map_err(|e| anyhow::anyhow!("POST to {target} failed: {}", e.without_url()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let code = status.as_u16();
        if status.is_client_error() && code != 408 && code != 429 {
            return Err(Rejected(format!("{target} answered {status}")).into());
        }
        anyhow::bail!("{target} answered {status}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
