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

use super::Item;
use super::sql::redact;

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
    pub fn open(url: &str, secret: Option<&str>, timeout: Duration) -> anyhow::Result<WebhookSink> {
        Ok(WebhookSink {
            url: url.to_string(),
            target: redact(url),
            secret: secret.map(str::to_string),
            timeout,
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
