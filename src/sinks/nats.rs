//! The NATS JetStream sink: each record published to `subject` (with `{source}` and `{lang}`
//! filled in) with `Nats-Msg-Id` set to the record id, and a batch acknowledged only once the
//! server has acknowledged every message. Story updates go to the same subject as the record that
//! caused them, as a message with the update's `type` and a stable id (`StoryUpdate::id`:
//! `update-<canonical id>`, `merge-<merged>-<story>`, `event-<merged>-<event>`).
//!
//! JetStream drops a message whose id it saw within the stream's duplicate window, so a replay
//! after a crash is stored once; a stream this sink creates keeps a 24-hour window. The client is
//! async; the sink thread owns a small current-thread runtime and blocks on it.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, Context, message::PublishMessage};

use serde::Deserialize;

use super::sql::redact;
use super::{DuplicatePolicy, Item};
use crate::config::Cx;

/// `type = "nats"` as written: records published to NATS JetStream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNatsSink {
    pub url: String,
    pub stream: String,
    #[serde(default = "default_subject")]
    pub subject: String,
    #[serde(default = "default_true")]
    pub create_stream: bool,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
}

fn default_subject() -> String {
    "news.{source}.{lang}".to_string()
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq)]
pub struct NatsSettings {
    pub url: String,
    pub stream: String,
    pub subject: String,
    pub create_stream: bool,
}

impl NatsSettings {
    pub fn build(cx: &mut Cx<'_>, key: &str, raw: RawNatsSink) -> Option<(NatsSettings, DuplicatePolicy)> {
        let url = cx.expand_env(&format!("{key}.url"), &raw.url);
        if !(url.starts_with("nats://") || url.starts_with("tls://")) {
            cx.error(&format!("{key}.url"), "must start with nats:// or tls://");
        }
        let stream_ok = !raw.stream.is_empty()
            && raw.stream.len() <= 255
            && raw
                .stream
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !stream_ok {
            cx.error(&format!("{key}.stream"), "must be letters, digits, '-' or '_'");
        }
        if !valid_subject(&raw.subject) {
            cx.error(
                &format!("{key}.subject"),
                format!(
                    "{} is not a subject template: dot-separated tokens, with {{source}} and {{lang}} as whole tokens",
                    crate::config::preview(&raw.subject)
                ),
            );
        }
        let settings = NatsSettings {
            url,
            stream: raw.stream,
            subject: raw.subject,
            create_stream: raw.create_stream,
        };
        Some((settings, raw.duplicates))
    }

    /// `/readyz`: a TCP connection to one of the listed servers opens.
    pub fn probe(&self) -> anyhow::Result<()> {
        let mut last = None;
        for server in self.url.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let with_scheme = if server.contains("://") {
                server.to_string()
            } else {
                format!("nats://{server}")
            };
            match super::probe::tcp(&with_scheme, 4222) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no server in {}", redact(&self.url))))
    }
}

/// How long a batch may wait for its acknowledgements before the write counts as failed.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
const DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 3600);

pub struct NatsSink {
    rt: tokio::runtime::Runtime,
    js: Context,
    subject: String,
    target: String,
}

/// The subject pattern a stream must cover for `template`: placeholders become `*`.
pub fn stream_subject(template: &str) -> String {
    template.replace("{source}", "*").replace("{lang}", "*")
}

/// Whether `template` is a usable subject template: dot-separated non-empty tokens of
/// letters, digits, `-`, `_` or exactly `{source}` / `{lang}`.
pub fn valid_subject(template: &str) -> bool {
    !template.is_empty()
        && template.split('.').all(|t| {
            t == "{source}"
                || t == "{lang}"
                || (!t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        })
}

impl NatsSink {
    pub fn open(settings: &NatsSettings) -> anyhow::Result<NatsSink> {
        let (url, stream, subject) = (
            settings.url.as_str(),
            settings.stream.as_str(),
            settings.subject.as_str(),
        );
        let create_stream = settings.create_stream;
        let target = redact(url);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start a runtime for NATS")?;
        let js = rt.block_on(async {
            let client = async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_secs(5))
                .connect(url)
                .await
                .with_context(|| format!("cannot connect to {target}"))?;
            let js = jetstream::new(client);
            if create_stream {
                js.get_or_create_stream(jetstream::stream::Config {
                    name: stream.to_string(),
                    subjects: vec![stream_subject(subject)],
                    duplicate_window: DUPLICATE_WINDOW,
                    ..Default::default()
                })
                .await
                .with_context(|| format!("cannot create stream {stream} at {target}"))?;
            } else {
                js.get_stream(stream)
                    .await
                    .with_context(|| format!("no stream {stream} at {target}"))?;
            }
            anyhow::Ok(js)
        })?;
        Ok(NatsSink {
            rt,
            js,
            subject: subject.to_string(),
            target,
        })
    }

    fn subject_for(&self, source: &str, lang: Option<&str>) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        self.subject
            .replace("{source}", &clean(source))
            .replace("{lang}", lang.unwrap_or("und"))
    }

    pub fn write(&mut self, items: &[Item<'_>]) -> anyhow::Result<()> {
        let target = self.target.clone();
        // The subject of the last record, for the story update that follows it.
        let mut last_subject = self.subject_for("story", None);
        let mut messages = Vec::with_capacity(items.len());
        for item in items {
            let (subject, id, payload) = match item {
                Item::Record(r) => {
                    last_subject = self.subject_for(&r.source, r.lang.map(|l| l.code()));
                    (last_subject.clone(), r.id.clone(), serde_json::to_vec(r)?)
                }
                Item::Update(u) => (last_subject.clone(), u.id(), serde_json::to_vec(u)?),
            };
            messages.push((subject, id, payload));
        }
        let js = self.js.clone();
        self.rt.block_on(async move {
            let mut acks = Vec::with_capacity(messages.len());
            for (subject, id, payload) in messages {
                let msg = PublishMessage::build().payload(payload.into()).message_id(&id);
                let ack = js
                    .send_publish(subject, msg)
                    .await
                    .with_context(|| format!("cannot publish {id} to {target}"))?;
                acks.push((id, ack));
            }
            for (id, ack) in acks {
                tokio::time::timeout(ACK_TIMEOUT, ack)
                    .await
                    .map_err(|_| anyhow::anyhow!("no acknowledgement for {id} from {target} within {ACK_TIMEOUT:?}"))?
                    .with_context(|| format!("{target} did not store {id}"))?;
            }
            anyhow::Ok(())
        })
    }
}
