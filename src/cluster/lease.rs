//! Leases in a JetStream KV bucket whose entries expire `ttl` after their last write.
//!
//! Taking a lease is `create` (it fails while another member's entry lives); renewing is
//! `update` at the revision this member wrote last (it fails if the entry expired and someone
//! else took it, or it was deleted), so two members never both believe they hold one lease for
//! longer than a renewal period. A member whose renewal fails stops the lease's work at once.
//! Releasing deletes the entry at our revision, so a successor need not wait for the TTL.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use bytes::Bytes;

pub struct Leases {
    kv: kv::Store,
    member: String,
    /// Held leases and the revision of our last write.
    held: HashMap<String, u64>,
}

/// Opens the bucket `name`, creating it with entries living `ttl`. The bucket's stream is made
/// here with the KV layout (`KV_<name>`, subjects `$KV.<name>.>`, one value a key, rollups,
/// direct gets) rather than through `create_key_value`, which first asks for account details
/// that servers before 2.10 answer in a shape this client does not read.
pub async fn bucket(js: &jetstream::Context, name: &str, ttl: Duration) -> anyhow::Result<kv::Store> {
    if let Ok(kv) = js.get_key_value(name).await {
        return Ok(kv);
    }
    let config = jetstream::stream::Config {
        name: format!("KV_{name}"),
        description: Some("newsfold leases and members".into()),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_bytes: 16 << 20,
        max_age: ttl,
        max_message_size: 4096,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        duplicate_window: ttl.min(Duration::from_secs(120)),
        num_replicas: 1,
        ..Default::default()
    };
    // Members starting together may race; the same config is accepted twice.
    js.get_or_create_stream(config)
        .await
        .with_context(|| format!("cannot create the KV bucket {name}"))?;
    js.get_key_value(name)
        .await
        .with_context(|| format!("cannot open the KV bucket {name}"))
}

impl Leases {
    pub fn new(kv: kv::Store, member: &str) -> Leases {
        Leases {
            kv,
            member: member.to_string(),
            held: HashMap::new(),
        }
    }

    pub fn holds(&self, key: &str) -> bool {
        self.held.contains_key(key)
    }

    pub fn held(&self) -> impl Iterator<Item = &str> {
        self.held.keys().map(String::as_str)
    }

    /// Takes `key` if nobody holds it. An error is the server's (not "held by another").
    pub async fn try_take(&mut self, key: &str) -> anyhow::Result<bool> {
        match self.kv.create(key, Bytes::from(self.member.clone())).await {
            Ok(revision) => {
                self.held.insert(key.to_string(), revision);
                Ok(true)
            }
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(anyhow::anyhow!("cannot take lease {key}: {e}")),
        }
    }

    /// Renews every held lease at once, each within `within`; returns those lost (no longer
    /// held). A renewal that does not answer in time counts as lost: the caller stops its work
    /// before the entry could have expired.
    pub async fn renew_all(&mut self, within: Duration) -> Vec<String> {
        let renewals = self.held.iter().map(|(key, &revision)| {
            let (kv, member, key) = (&self.kv, self.member.clone(), key.clone());
            async move {
                let r = tokio::time::timeout(within, kv.update(&key, Bytes::from(member), revision)).await;
                (key, r)
            }
        });
        let results = futures_util::future::join_all(renewals).await;
        let mut lost = Vec::new();
        for (key, r) in results {
            match r {
                Ok(Ok(revision)) => {
                    self.held.insert(key, revision);
                }
                Ok(Err(e)) => {
                    tracing::warn!(stage = "cluster", lease = %key, error = %e, "lease lost");
                    self.held.remove(&key);
                    lost.push(key);
                }
                Err(_) => {
                    tracing::warn!(stage = "cluster", lease = %key, "lease renewal unanswered; its work stops");
                    self.held.remove(&key);
                    lost.push(key);
                }
            }
        }
        lost
    }

    /// Gives `key` up at once (if it is still ours).
    pub async fn release(&mut self, key: &str) {
        if let Some(revision) = self.held.remove(key)
            && let Err(e) = self.kv.delete_expect_revision(key, Some(revision)).await
        {
            tracing::debug!(stage = "cluster", lease = key, error = %e, "lease not released; it expires");
        }
    }
}

/// Every live entry of the bucket `bucket`: (key, value), sorted. Keys are listed from the
/// stream's subjects (not with a KV watcher, which can wait for ever on an entry that expires
/// while it starts) and read one by one; a deleted or expired one is left out. Bounded by
/// `LIST_TIMEOUT`.
pub async fn entries(js: &jetstream::Context, bucket: &str) -> anyhow::Result<Vec<(String, String)>> {
    use futures_util::TryStreamExt;
    let list = async {
        let kv = js.get_key_value(bucket).await?;
        let stream = js.get_stream(format!("KV_{bucket}")).await?;
        let prefix = format!("$KV.{bucket}.");
        let subjects: Vec<(String, usize)> = stream
            .info_with_subjects(format!("{prefix}>"))
            .await?
            .try_collect()
            .await?;
        let mut out = Vec::new();
        for (subject, _) in subjects {
            let Some(key) = subject.strip_prefix(&prefix) else {
                continue;
            };
            if let Some(value) = kv.get(key).await? {
                out.push((key.to_string(), String::from_utf8_lossy(&value).into_owned()));
            }
        }
        out.sort();
        anyhow::Ok(out)
    };
    tokio::time::timeout(LIST_TIMEOUT, list)
        .await
        .map_err(|_| anyhow::anyhow!("listing the KV bucket {bucket} took over {LIST_TIMEOUT:?}"))?
}

/// The longest a listing of a bucket may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(5);
