//! `newsfold cluster status --config FILE`: the cluster as its servers see it: live members,
//! who holds each lease (the fold leader, every partition, free ones), the pages stream's backlog
//! and redeliveries, and the dead letters kept in PostgreSQL. Creates nothing on NATS (the
//! shared tables are created if missing, as any member would).

use std::fmt::Write as _;

use super::lease;
use super::member::Announcement;
use super::{ClusterSettings, partition};
use crate::config::Config;

pub async fn status(config: &Config, cluster: &ClusterSettings) -> anyhow::Result<String> {
    let js = cluster.connect().await?;
    let mut out = String::new();
    writeln!(
        out,
        "cluster {} (member name here: {}; nats {}; state {})",
        cluster.prefix,
        cluster.name,
        crate::sinks::sql::redact(&cluster.nats),
        crate::sinks::sql::redact(&cluster.shared.connection.url)
    )?;
    // Buckets a member creates; missing ones are empty (nothing is created here).
    let entries = async |bucket: String| match js.get_key_value(&bucket).await {
        Ok(_) => lease::entries(&js, &bucket).await,
        Err(_) => Ok(Vec::new()),
    };
    let alive = entries(cluster.members_bucket()).await?;
    writeln!(out, "members: {}", alive.len())?;
    for (name, json) in &alive {
        match serde_json::from_str::<Announcement>(json) {
            Ok(a) => writeln!(
                out,
                "  {name}  pid {}  {}partitions {}  published {}  redelivered {}  seen {}",
                a.pid,
                if a.leader { "fold leader  " } else { "" },
                a.partitions,
                a.published,
                a.redelivered,
                a.at
            )?,
            Err(_) => writeln!(out, "  {name}")?,
        }
    }
    let held = entries(cluster.leases_bucket()).await?;
    let holder = |key: &str| held.iter().find(|(k, _)| k == key).map(|(_, m)| m.as_str());
    writeln!(
        out,
        "fold leader: {}",
        holder("fold").unwrap_or("none (the stream waits)")
    )?;
    let parts = partition::partitions(&config.sources);
    let free = parts.iter().filter(|p| holder(&p.key).is_none()).count();
    writeln!(
        out,
        "partitions: {} ({} held, {free} free)",
        parts.len(),
        parts.len() - free
    )?;
    for p in &parts {
        writeln!(
            out,
            "  {}  {}  sources {}",
            p.key,
            holder(&p.key).unwrap_or("free"),
            p.sources.join(", ")
        )?;
    }
    match js.get_stream(cluster.pages_stream()).await {
        Ok(mut stream) => {
            let info = stream.info().await?;
            writeln!(
                out,
                "stream {}: {} pages waiting ({} bytes)",
                cluster.pages_stream(),
                info.state.messages,
                info.state.bytes
            )?;
            match stream.consumer_info(cluster.fold_consumer()).await {
                Ok(c) => writeln!(
                    out,
                    "consumer {}: {} not yet delivered, {} being folded, {} redelivered",
                    cluster.fold_consumer(),
                    c.num_pending,
                    c.num_ack_pending,
                    c.num_redelivered
                )?,
                Err(_) => writeln!(
                    out,
                    "consumer {}: not created yet (no leader ever ran)",
                    cluster.fold_consumer()
                )?,
            }
        }
        Err(_) => writeln!(
            out,
            "stream {}: not created yet (no member ever ran)",
            cluster.pages_stream()
        )?,
    }
    let shared = cluster.shared.clone();
    let dead = tokio::task::spawn_blocking(move || {
        crate::state::StateStore::open_shared(&shared).and_then(|s| s.dead_letters())
    })
    .await??;
    writeln!(out, "dead letters: {dead}")?;
    Ok(out)
}
