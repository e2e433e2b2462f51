//! The shared state store's backend (PostgreSQL), for a cluster: the same tables as the embedded
//! store, named `<prefix>_…`, so several clusters can share one database.
//!
//! One connection behind a mutex, driven by a runtime of its own (as the PostgreSQL sink), each
//! call with a deadline; a failed call drops the connection (the server rolls back what it had
//! open) and the next one connects again. Transactions are explicit `BEGIN … COMMIT` on that
//! connection. Creating the tables takes a transaction-level advisory lock, so members starting
//! together do not race; nothing holds a session-level lock (they break behind pgbouncer).
//!
//! Fencing: the fold leader takes a term (`take_fold_lead`, one row in `<prefix>_fence`
//! incremented); every commit of fold decisions locks that row and fails unless it still holds the
//! term, so a deposed leader that has not noticed yet cannot write a decision.

use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use super::{DeadLetter, FoldChange, SinkAck, StoryFilter, text_prefix};
use crate::fold::row::DocRow;
use crate::model::Receipt;
use crate::sinks::postgres::PostgresSettings;

/// Where a cluster's shared state lives.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedSettings {
    /// The connection (its `table` is unused).
    pub connection: PostgresSettings,
    /// Table names start with it and `_`.
    pub prefix: String,
}

impl SharedSettings {
    /// Plain TCP to `url`, the default timeout.
    pub fn plain(url: &str, prefix: &str) -> SharedSettings {
        SharedSettings {
            connection: PostgresSettings::plain(url, ""),
            prefix: prefix.to_string(),
        }
    }
}

type Param<'a> = &'a (dyn ToSql + Sync);

pub struct Postgres {
    settings: SharedSettings,
    tls: Option<Arc<rustls::ClientConfig>>,
    target: String,
    /// A few connections, each with its own runtime: a source's lookup does not wait behind the
    /// fold's commit.
    pool: Vec<Mutex<Inner>>,
    next: AtomicUsize,
    /// The fencing term this store's fold commits carry (0: not the fold leader).
    term: AtomicI64,
}

/// Connections in the pool.
const POOL: usize = 4;

/// The deadline of loading the whole fold index (up to `fold.max_docs` rows).
const LOAD_TIMEOUT: Duration = Duration::from_secs(600);

struct Inner {
    /// `None` only while dropping.
    rt: Option<tokio::runtime::Runtime>,
    client: Option<Arc<Client>>,
    /// The connection's task: aborted after a failure, so the server sees the socket close and
    /// rolls back what the failed call left open (its locks with it).
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Inner {
    fn close(&mut self) {
        self.client = None;
        if let (Some(rt), Some(task)) = (&self.rt, self.task.take()) {
            task.abort();
            let _ = rt.block_on(task);
        }
    }
}

impl Drop for Inner {
    /// The store may be dropped on the async runtime (the last `Arc` of a task): its own runtime
    /// is shut down without blocking there.
    fn drop(&mut self) {
        self.client = None;
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Postgres {
    pub fn open(settings: &SharedSettings) -> anyhow::Result<Postgres> {
        let pool = (0..POOL)
            .map(|_| {
                Ok(Mutex::new(Inner {
                    rt: Some(crate::sinks::postgres::runtime()?),
                    client: None,
                    task: None,
                }))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let store = Postgres {
            settings: settings.clone(),
            tls: settings.connection.tls_config()?,
            target: crate::sinks::sql::redact(&settings.connection.url),
            pool,
            next: AtomicUsize::new(0),
            term: AtomicI64::new(0),
        };
        let ddl = store.sql(SCHEMA);
        store
            .call(|c| async move {
                c.batch_execute(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock(hashtext('newsfold schema')); {ddl} COMMIT;"
                ))
                .await?;
                Ok(())
            })
            .with_context(|| format!("cannot initialise the shared state store at {}", store.target))?;
        Ok(store)
    }

    pub fn describe(&self) -> String {
        format!("{} (tables {}_*)", self.target, self.settings.prefix)
    }

    /// `sql` with `{p}` replaced by the table prefix.
    fn sql(&self, sql: &str) -> String {
        sql.replace("{p}", &self.settings.prefix)
    }

    /// Runs `f` on a free connection (connecting first if needed) within the deadline.
    fn call<T, F, Fut>(&self, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(Arc<Client>) -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        self.call_within(self.settings.connection.timeout, f)
    }

    fn call_within<T, F, Fut>(&self, timeout: Duration, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(Arc<Client>) -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut inner = (0..POOL)
            .find_map(|i| self.pool[(start + i) % POOL].try_lock().ok())
            .unwrap_or_else(|| self.pool[start % POOL].lock().unwrap_or_else(|p| p.into_inner()));
        let inner = &mut *inner;
        let Some(rt) = &inner.rt else {
            anyhow::bail!("shared state store {} is closing", self.target);
        };
        let result = rt.block_on(async {
            let client = match &inner.client {
                Some(c) if !c.is_closed() => c.clone(),
                _ => {
                    let (c, task) =
                        crate::sinks::postgres::connect_with_task(&self.settings.connection, self.tls.as_ref()).await?;
                    inner.task = Some(task);
                    Arc::new(c)
                }
            };
            inner.client = Some(client.clone());
            match tokio::time::timeout(timeout, f(client)).await {
                Ok(r) => r,
                Err(_) => Err(anyhow::anyhow!("no answer within {timeout:?}")),
            }
        });
        if result.is_err() {
            inner.close();
        }
        result.with_context(|| format!("shared state store {}", self.target))
    }

    pub fn take_fold_lead(&self) -> anyhow::Result<i64> {
        let sql = self.sql(
            "INSERT INTO {p}_fence (id, term) VALUES (1, 1)
             ON CONFLICT (id) DO UPDATE SET term = {p}_fence.term + 1 RETURNING term",
        );
        let term: i64 = self.call(|c| async move { Ok(c.query_one(&sql, &[]).await?.get(0)) })?;
        self.term.store(term, Ordering::SeqCst);
        Ok(term)
    }

    pub fn dead_letter(&self, l: &DeadLetter) -> anyhow::Result<()> {
        let sql = self.sql(
            "INSERT INTO {p}_dead_letters (source, key, location, raw_hash, deliveries, reason)
             VALUES ($1, $2, $3, $4, $5, $6)",
        );
        self.call(|c| async move {
            c.execute(
                &sql,
                &[&l.source, &l.key, &l.location, &l.raw_hash, &l.deliveries, &l.reason],
            )
            .await?;
            Ok(())
        })
    }

    pub fn dead_letters(&self) -> anyhow::Result<i64> {
        let sql = self.sql("SELECT COUNT(*) FROM {p}_dead_letters");
        self.call(|c| async move { Ok(c.query_one(&sql, &[]).await?.get(0)) })
    }

    pub fn probe_writable(&self) -> anyhow::Result<()> {
        let sql = self
            .sql("BEGIN; INSERT INTO {p}_http_cache (url) VALUES ('newsfold:probe') ON CONFLICT DO NOTHING; ROLLBACK;");
        self.call(|c| async move {
            c.batch_execute(&sql).await.context("does not take writes")?;
            Ok(())
        })
    }

    pub fn is_done(&self, source: &str, key: &str, raw_hash: &str) -> anyhow::Result<bool> {
        let sql = self.sql("SELECT 1 FROM {p}_done WHERE source = $1 AND key = $2 AND raw_hash = $3");
        self.call(|c| async move { Ok(c.query_opt(&sql, &[&source, &key, &raw_hash]).await?.is_some()) })
    }

    pub fn done_age(&self, source: &str, key: &str) -> anyhow::Result<Option<i64>> {
        let sql = self.sql(
            "SELECT EXTRACT(EPOCH FROM now() - max(done_at))::float8 FROM {p}_done WHERE source = $1 AND key = $2",
        );
        self.call(|c| async move {
            let age: Option<f64> = c.query_one(&sql, &[&source, &key]).await?.get(0);
            Ok(age.map(|a| a.max(0.0) as i64))
        })
    }

    pub fn validators(&self, url: &str) -> anyhow::Result<crate::fetch::Validators> {
        let sql = self.sql("SELECT etag, last_modified FROM {p}_http_cache WHERE url = $1");
        self.call(|c| async move {
            Ok(c.query_opt(&sql, &[&url])
                .await?
                .map(|r| crate::fetch::Validators {
                    etag: r.get(0),
                    last_modified: r.get(1),
                })
                .unwrap_or_default())
        })
    }

    pub fn save_validators(&self, url: &str, v: &crate::fetch::Validators) -> anyhow::Result<()> {
        let delete = self.sql("DELETE FROM {p}_http_cache WHERE url = $1");
        let put = self.sql(
            "INSERT INTO {p}_http_cache (url, etag, last_modified) VALUES ($1, $2, $3)
             ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
                updated_at = now()",
        );
        self.call(|c| async move {
            if v.is_empty() {
                c.execute(&delete, &[&url]).await?;
            } else {
                c.execute(&put, &[&url, &v.etag, &v.last_modified]).await?;
            }
            Ok(())
        })
    }

    /// One statement per table, whatever the batch's size (a round trip each, not one a row).
    /// Committed without waiting for the WAL flush: a done mark lost to a server crash only
    /// makes its page read and delivered again (records are keyed by id), and the sink threads
    /// that call this do not wait a disk flush per batch.
    pub fn mark_delivered(&self, receipts: &[Receipt], acks: &[SinkAck]) -> anyhow::Result<()> {
        let put_acks = self.sql(
            "INSERT INTO {p}_acks (record_id, sink, acked_at)
             SELECT u.r, u.s, u.a FROM UNNEST($1::text[], $2::text[], $3::text[]) AS u(r, s, a)
             WHERE EXISTS (SELECT 1 FROM {p}_fold_rows f WHERE f.record_id = u.r)
             ON CONFLICT (record_id, sink) DO UPDATE SET acked_at = excluded.acked_at",
        );
        let put_done = self.sql(
            "INSERT INTO {p}_done (source, key, raw_hash, record_id)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
             ON CONFLICT DO NOTHING",
        );
        // One row per (record, sink), the latest time: an upsert cannot touch a row twice.
        let mut latest: std::collections::BTreeMap<(&str, &str), &str> = std::collections::BTreeMap::new();
        for a in acks {
            latest.insert((&a.record_id, &a.sink), &a.at);
        }
        let (mut ack_ids, mut ack_sinks, mut ack_at) = (Vec::new(), Vec::new(), Vec::new());
        for ((id, sink), at) in latest {
            ack_ids.push(id);
            ack_sinks.push(sink);
            ack_at.push(at);
        }
        let (mut sources, mut keys, mut hashes, mut ids) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in receipts {
            let names = std::iter::once(r.key.as_str()).chain(r.alias.as_deref().filter(|a| *a != r.key));
            for key in names {
                sources.push(&*r.source);
                keys.push(key);
                hashes.push(r.raw_hash.as_str());
                ids.push(r.record_id.as_str());
            }
        }
        self.call(|c| async move {
            c.batch_execute("BEGIN; SET LOCAL synchronous_commit TO OFF").await?;
            if !ack_ids.is_empty() {
                c.execute(&put_acks, &[&ack_ids, &ack_sinks, &ack_at]).await?;
            }
            if !ids.is_empty() {
                c.execute(&put_done, &[&sources, &keys, &hashes, &ids]).await?;
            }
            c.batch_execute("COMMIT").await?;
            Ok(())
        })
    }

    /// The batch's new documents and its log entries go in one statement each; moves (merges,
    /// event links, rare) row by row after them, then evictions: the state a row-by-row replay
    /// in order would leave, in a handful of round trips.
    pub fn commit_folds(&self, changes: &[FoldChange<'_>]) -> anyhow::Result<()> {
        use crate::fold::index::IndexedDoc;
        let term = self.term.load(Ordering::SeqCst);
        let fence = self.sql("SELECT term FROM {p}_fence WHERE id = 1 FOR UPDATE");
        let put_docs = self.sql(
            "INSERT INTO {p}_fold_rows (record_id, doc)
             SELECT u.r, u.d FROM UNNEST($1::text[], $2::bytea[]) WITH ORDINALITY AS u(r, d, n) ORDER BY u.n
             ON CONFLICT DO NOTHING",
        );
        let get = self.sql("SELECT doc FROM {p}_fold_rows WHERE record_id = $1");
        let put = self.sql("UPDATE {p}_fold_rows SET doc = $2 WHERE record_id = $1");
        let story = self.sql("UPDATE {p}_decisions SET story_id = $2 WHERE record_id = $1");
        let log = self.sql(
            "INSERT INTO {p}_decisions (record_id, story_id, source, location, entry, search)
             SELECT u.r, u.s, u.so, u.l, u.e, to_tsvector('simple', u.t)
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                  WITH ORDINALITY AS u(r, s, so, l, e, t, n)
             ORDER BY u.n",
        );
        let evict = self.evict_statements();
        let (mut doc_ids, mut blobs) = (Vec::new(), Vec::new());
        let mut entries: [Vec<Option<String>>; 6] = Default::default();
        let mut evicted: Vec<String> = Vec::new();
        for ch in changes {
            if let Some(row) = ch.doc {
                doc_ids.push(row.record_id.as_str());
                blobs.push(row.blob.as_slice());
            }
            evicted.extend(ch.evicted.iter().cloned());
            if let Some((entry, body)) = ch.log {
                let title = entry.extraction.as_ref().and_then(|x| x.title.as_deref()).unwrap_or("");
                let fields = [
                    entry.record_id().map(str::to_string),
                    entry.story_id().map(str::to_string),
                    Some(entry.input.source.clone()),
                    Some(entry.input.location.clone()),
                    Some(serde_json::to_string(entry)?),
                    Some(format!("{title} {}", text_prefix(body))),
                ];
                for (column, v) in entries.iter_mut().zip(fields) {
                    column.push(v);
                }
            }
        }
        self.call(|c| async move {
            c.batch_execute("BEGIN").await?;
            if term > 0 {
                let held: Option<i64> = c.query_opt(&fence, &[]).await?.map(|r| r.get(0));
                if held != Some(term) {
                    anyhow::bail!("this member no longer leads the fold (term {term}, the store's is {held:?})");
                }
            }
            if !doc_ids.is_empty() {
                c.execute(&put_docs, &[&doc_ids, &blobs]).await?;
            }
            if !entries[0].is_empty() {
                let params: Vec<Param<'_>> = entries.iter().map(|c| c as Param<'_>).collect();
                c.execute(&log, &params).await?;
            }
            for ch in changes {
                for m in ch.moved {
                    let Some(found) = c.query_opt(&get, &[&m.record_id]).await? else {
                        continue;
                    };
                    let row = DocRow {
                        record_id: m.record_id.clone(),
                        blob: found.get(0),
                    };
                    let row = IndexedDoc::replace_placement(&row, m)
                        .map_err(|e| anyhow::anyhow!("fold document {}: {e}", m.record_id))?;
                    c.execute(&put, &[&row.record_id, &row.blob]).await?;
                    c.execute(&story, &[&m.record_id, &m.story_id]).await?;
                }
            }
            evict_docs(&c, &evict, &evicted).await?;
            c.batch_execute("COMMIT").await?;
            Ok(())
        })
    }

    pub fn log_refusals(&self, entries: &[crate::explain::Entry], keep: usize) -> anyhow::Result<()> {
        let put = self.sql(
            "INSERT INTO {p}_decisions (record_id, story_id, source, location, entry) VALUES (NULL, NULL, $1, $2, $3)",
        );
        let trim = self.sql(
            "DELETE FROM {p}_decisions WHERE record_id IS NULL AND seq NOT IN
               (SELECT seq FROM {p}_decisions WHERE record_id IS NULL ORDER BY seq DESC LIMIT $1)",
        );
        let keep = keep as i64;
        self.call(|c| async move {
            c.batch_execute("BEGIN").await?;
            for e in entries {
                let json = serde_json::to_string(e)?;
                c.execute(&put, &[&e.input.source, &e.input.location, &json]).await?;
            }
            c.execute(&trim, &[&keep]).await?;
            c.batch_execute("COMMIT").await?;
            Ok(())
        })
    }

    pub fn decisions(&self, target: &str) -> anyhow::Result<Vec<(i64, crate::explain::Entry)>> {
        let queries = [
            "SELECT seq, entry FROM {p}_decisions WHERE record_id = $1 ORDER BY seq",
            "SELECT seq, entry FROM {p}_decisions WHERE story_id = $1 ORDER BY seq",
            "SELECT seq, entry FROM {p}_decisions WHERE location = $1 ORDER BY seq",
            "SELECT seq, entry FROM {p}_decisions WHERE location LIKE '%' || $1 ESCAPE '\\' ORDER BY seq",
        ]
        .map(|q| self.sql(q));
        let target_like = target.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let rows = self.call(|c| async move {
            for (i, q) in queries.iter().enumerate() {
                let arg = if i == 3 { target_like.as_str() } else { target };
                let rows = c.query(q.as_str(), &[&arg]).await?;
                if !rows.is_empty() {
                    return Ok(rows
                        .iter()
                        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
                        .collect::<Vec<_>>());
                }
            }
            Ok(Vec::new())
        })?;
        rows.into_iter()
            .map(|(seq, json)| {
                let entry = serde_json::from_str(&json)
                    .with_context(|| format!("{}: decision {seq} is not a decision-v1 entry", self.target))?;
                Ok((seq, entry))
            })
            .collect()
    }

    pub fn stories(
        &self,
        filter: &StoryFilter,
        limit: usize,
    ) -> anyhow::Result<Vec<(String, Vec<crate::explain::Entry>)>> {
        let sql = self.sql(
            "SELECT story_id, MAX(seq) AS last FROM {p}_decisions
             WHERE story_id IS NOT NULL
               AND ($1::text IS NULL OR source = $1)
               AND ($2::text IS NULL OR (entry::jsonb #>> '{extraction,lang}') = $2)
               AND ($3::text IS NULL OR substr(entry::jsonb ->> 'at', 1, 10) >= $3)
               AND ($4::text IS NULL OR substr(entry::jsonb ->> 'at', 1, 10) <= $4)
               AND ($5::text IS NULL OR search @@ plainto_tsquery('simple', $5))
             GROUP BY story_id ORDER BY last DESC LIMIT $6",
        );
        let text = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let limit = limit as i64;
        let ids: Vec<String> = self.call(|c| async move {
            let params: [Param<'_>; 6] = [&filter.source, &filter.lang, &filter.from, &filter.to, &text, &limit];
            Ok(c.query(&sql, &params).await?.iter().map(|r| r.get(0)).collect())
        })?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let members = self.story_members(&id)?;
            out.push((id, members));
        }
        Ok(out)
    }

    /// The `entry` column of the rows `sql` selects with `arg`, parsed.
    fn entries(&self, sql: &str, arg: Param<'_>) -> anyhow::Result<Vec<crate::explain::Entry>> {
        let sql = self.sql(sql);
        let rows: Vec<String> =
            self.call(|c| async move { Ok(c.query(&sql, &[arg]).await?.iter().map(|r| r.get(0)).collect()) })?;
        rows.iter()
            .map(|j| {
                serde_json::from_str(j)
                    .with_context(|| format!("{}: a decision is not a decision-v1 entry", self.target))
            })
            .collect()
    }

    pub fn story_members(&self, story_id: &str) -> anyhow::Result<Vec<crate::explain::Entry>> {
        self.entries(
            "SELECT entry FROM {p}_decisions WHERE story_id = $1 ORDER BY seq",
            &story_id,
        )
    }

    pub fn refusals_after(&self, seq: i64) -> anyhow::Result<Vec<crate::explain::Entry>> {
        self.entries(
            "SELECT entry FROM {p}_decisions WHERE record_id IS NULL AND seq > $1 ORDER BY seq",
            &seq,
        )
    }

    pub fn last_decision(&self) -> anyhow::Result<i64> {
        let sql = self.sql("SELECT COALESCE(MAX(seq), 0)::bigint FROM {p}_decisions");
        self.call(|c| async move { Ok(c.query_one(&sql, &[]).await?.get(0)) })
    }

    pub fn load_templates(&self) -> anyhow::Result<Vec<(String, crate::scrape::template::Host)>> {
        let sql = self.sql("SELECT host, data FROM {p}_site_templates ORDER BY saved_at DESC");
        let rows: Vec<(String, String)> =
            self.call(|c| async move { Ok(c.query(&sql, &[]).await?.iter().map(|r| (r.get(0), r.get(1))).collect()) })?;
        Ok(rows
            .into_iter()
            .filter_map(|(host, data)| serde_json::from_str(&data).ok().map(|h| (host, h)))
            .collect())
    }

    pub fn load_template(&self, host: &str) -> anyhow::Result<Option<crate::scrape::template::Host>> {
        let sql = self.sql("SELECT data FROM {p}_site_templates WHERE host = $1");
        let data: Option<String> =
            self.call(|c| async move { Ok(c.query_opt(&sql, &[&host]).await?.map(|r| r.get(0))) })?;
        Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
    }

    pub fn save_templates(&self, changes: &crate::scrape::template::Changes) -> anyhow::Result<()> {
        let put = self.sql(
            "INSERT INTO {p}_site_templates (host, data, saved_at) VALUES ($1, $2, now())
             ON CONFLICT (host) DO UPDATE SET data = excluded.data, saved_at = excluded.saved_at",
        );
        let delete = self.sql("DELETE FROM {p}_site_templates WHERE host = $1");
        let saves = changes
            .save
            .iter()
            .map(|(host, h)| Ok((host.clone(), serde_json::to_string(h)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.call(|c| async move {
            c.batch_execute("BEGIN").await?;
            for (host, data) in &saves {
                c.execute(&put, &[host, data]).await?;
            }
            for host in &changes.delete {
                c.execute(&delete, &[host]).await?;
            }
            c.batch_execute("COMMIT").await?;
            Ok(())
        })
    }

    pub fn acks(&self, record_id: &str) -> anyhow::Result<Vec<(String, String)>> {
        let sql = self.sql("SELECT sink, acked_at FROM {p}_acks WHERE record_id = $1 ORDER BY acked_at, sink");
        self.call(|c| async move {
            Ok(c.query(&sql, &[&record_id])
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect())
        })
    }

    pub fn done_at(&self, record_id: &str) -> anyhow::Result<Option<String>> {
        let sql = self.sql(
            "SELECT to_char(MIN(done_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')
             FROM {p}_done WHERE record_id = $1",
        );
        self.call(|c| async move { Ok(c.query_one(&sql, &[&record_id]).await?.get(0)) })
    }

    pub fn decision_log_size(&self) -> anyhow::Result<(i64, i64)> {
        let sql = self.sql("SELECT COUNT(*), COALESCE(SUM(LENGTH(entry)), 0)::bigint FROM {p}_decisions");
        self.call(|c| async move {
            let r = c.query_one(&sql, &[]).await?;
            Ok((r.get(0), r.get(1)))
        })
    }

    fn evict_statements(&self) -> [String; 3] {
        [
            "DELETE FROM {p}_fold_rows WHERE record_id = ANY($1)",
            "DELETE FROM {p}_decisions WHERE record_id = ANY($1)",
            "DELETE FROM {p}_acks WHERE record_id = ANY($1)",
        ]
        .map(|q| self.sql(q))
    }

    pub fn delete_docs(&self, record_ids: &[String]) -> anyhow::Result<()> {
        let evict = self.evict_statements();
        self.call(|c| async move {
            c.batch_execute("BEGIN").await?;
            evict_docs(&c, &evict, record_ids).await?;
            c.batch_execute("COMMIT").await?;
            Ok(())
        })
    }

    pub fn load_docs(&self) -> anyhow::Result<Vec<DocRow>> {
        let sql = self.sql("SELECT record_id, doc FROM {p}_fold_rows ORDER BY seq");
        self.call_within(LOAD_TIMEOUT, |c| async move {
            Ok(c.query(&sql, &[])
                .await?
                .iter()
                .map(|r| DocRow {
                    record_id: r.get(0),
                    blob: r.get(1),
                })
                .collect())
        })
    }

    /// Drops every table of this prefix (tests clean up after themselves).
    #[cfg(test)]
    pub fn drop_tables(&self) {
        let sql = format!(
            "DROP TABLE IF EXISTS {}",
            shared_tables(&self.settings.prefix).join(", ")
        );
        let _ = self.call(|c| async move { Ok(c.batch_execute(&sql).await?) });
    }
}

async fn evict_docs(c: &Client, evict: &[String; 3], record_ids: &[String]) -> anyhow::Result<()> {
    if record_ids.is_empty() {
        return Ok(());
    }
    for q in evict {
        c.execute(q.as_str(), &[&record_ids]).await?;
    }
    Ok(())
}

/// The names of a cluster's shared tables under `prefix` (what tests and benchmarks drop).
pub fn shared_tables(prefix: &str) -> Vec<String> {
    [
        "done",
        "site_templates",
        "acks",
        "fold_rows",
        "decisions",
        "http_cache",
        "fence",
        "dead_letters",
    ]
    .iter()
    .map(|t| format!("{prefix}_{t}"))
    .collect()
}

/// The shared tables, `{p}` the prefix. Times the embedded store keeps as text are timestamps
/// here, except sinks' acknowledgement times, which arrive as RFC 3339 text.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS {p}_done (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    raw_hash TEXT NOT NULL,
    record_id TEXT NOT NULL,
    done_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source, key, raw_hash)
);
CREATE INDEX IF NOT EXISTS {p}_done_record ON {p}_done (record_id);
CREATE TABLE IF NOT EXISTS {p}_site_templates (
    host TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    saved_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {p}_acks (
    record_id TEXT NOT NULL,
    sink TEXT NOT NULL,
    acked_at TEXT NOT NULL,
    PRIMARY KEY (record_id, sink)
);
CREATE TABLE IF NOT EXISTS {p}_fold_rows (
    seq BIGSERIAL PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    doc BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS {p}_decisions (
    seq BIGSERIAL PRIMARY KEY,
    record_id TEXT,
    story_id TEXT,
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    entry TEXT NOT NULL,
    search TSVECTOR
);
CREATE INDEX IF NOT EXISTS {p}_decisions_record ON {p}_decisions (record_id);
CREATE INDEX IF NOT EXISTS {p}_decisions_story ON {p}_decisions (story_id);
CREATE INDEX IF NOT EXISTS {p}_decisions_location ON {p}_decisions (location);
CREATE INDEX IF NOT EXISTS {p}_decisions_search ON {p}_decisions USING GIN (search);
CREATE TABLE IF NOT EXISTS {p}_http_cache (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {p}_fence (
    id INTEGER PRIMARY KEY,
    term BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS {p}_dead_letters (
    id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    location TEXT NOT NULL,
    raw_hash TEXT NOT NULL,
    deliveries BIGINT NOT NULL,
    reason TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);
";
